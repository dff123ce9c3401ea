import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readingTimeMs, StepPacer } from './pacing.ts';

const settle = () => new Promise((r) => setTimeout(r, 20));

test('pacing: a caption stays up its reading time before the next step may start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pacer-'));
  try {
    let now = 0;
    const slept: number[] = [];
    const p = new StepPacer(dir, {
      stepMode: false,
      minCaptionMs: () => 5000,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    p.shown(1);
    now = 1200; // step 1's commands took 1.2 s
    await p.release(2);
    assert.deepEqual(slept, [3800], 'the rest of the 5 s');
    assert.ok(existsSync(join(dir, 'go-2')), 'gate 2 open');
    p.shown(2);
    now += 9000; // a long step: no extra wait
    await p.release(3);
    assert.deepEqual(slept, [3800]);
    // 25 words take longer to read than a few; never under 3 s.
    assert.ok(readingTimeMs('word '.repeat(25)) >= 6000);
    assert.equal(readingTimeMs('Boot'), 3000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pacing: step mode waits for the presenter; an early click counts once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pacer-'));
  try {
    const p = new StepPacer(dir, { stepMode: true, minCaptionMs: () => 0 });
    let waiting = 0;
    const r2 = p.release(2, () => waiting++);
    await settle();
    assert.equal(waiting, 1);
    assert.equal(p.waitingFor, 2);
    assert.ok(!existsSync(join(dir, 'go-2')), 'still closed');
    p.advance();
    await r2;
    assert.ok(existsSync(join(dir, 'go-2')));
    // Two clicks while step 2 runs: the next gate opens at once, the one after waits again.
    p.advance();
    p.advance();
    await p.release(3, () => waiting++);
    assert.equal(waiting, 1, 'no wait: the click came early');
    const r4 = p.release(4, () => waiting++);
    await settle();
    assert.equal(waiting, 2, 'the second early click did not skip a step');
    p.close();
    await r4;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pacing: the gate command really waits for its file in a shell', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pacer-'));
  try {
    const p = new StepPacer(dir, { stepMode: false, minCaptionMs: () => 0 });
    const cmd = p.gateCommand(2).replace(/^! /, '');
    const timedOut = spawnSync('sh', ['-c', cmd], { timeout: 300 });
    assert.notEqual(timedOut.status, 0, 'closed gate: still waiting after 300 ms');
    await p.release(2);
    assert.equal(spawnSync('sh', ['-c', cmd], { timeout: 3000 }).status, 0, 'open gate: passes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
