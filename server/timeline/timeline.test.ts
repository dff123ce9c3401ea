import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Engine } from '../engine.ts';
import { importLogs, openReplay } from './replay.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-timeline-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Ten 4 KiB writes, 100 ms apart in log time (and a line nobody can parse). */
function tenWrites(path: string): void {
  const lines = ['2026-11-23 05:00:00.000000 connection=1 Connect export="" tls=0 size=0x4000000', 'garbage'];
  for (let i = 1; i <= 10; i++) {
    const ts = `2026-11-23 05:00:0${Math.floor(i / 10)}.${String((i % 10) * 100000).padStart(6, '0')}`;
    lines.push(
      `${ts} connection=1 Write id=${i} offset=0x${(i * 4096).toString(16)} count=0x1000 fua=0 ...`,
      `${ts} connection=1 ...Write id=${i} return=0`,
    );
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

test('replay of logs: imported once, then seek, step and play at speed on the timeline', async () => {
  const log = join(dir, 'log');
  tenWrites(log);
  const rec = join(dir, 'import.bsrec');
  const r = await importLogs([log], rec, null);
  assert.equal(r.requests, 10);
  assert.deepEqual(r.unparsed, [1]);
  const engine = new Engine();
  const t = await openReplay(engine, rec);
  const disk = engine.disk(1);
  try {
    assert.equal(t.status().mode, 'replay');
    assert.ok(Math.abs(t.status().endSec - 1.0) < 1e-6, `1 s of log, got ${t.status().endSec}`);
    await t.act('seek', { seconds: 0.55 });
    assert.equal(disk.info().blocks.written, 5, 'seek to 0.55 s: five writes');
    await t.act('step');
    assert.equal(disk.info().blocks.written, 6, 'one step, one more request');
    assert.ok(Math.abs(t.status().positionSec - 0.6) < 1e-6);
    assert.equal(t.status().playing, false);
    await t.act('seek', { seconds: 0.25 });
    assert.equal(disk.info().blocks.written, 2, 'seeking back rebuilds the earlier state');
    await t.act('speed', { speed: 10 });
    const t0 = performance.now();
    await t.act('play');
    while (!t.status().finished) await new Promise((res) => setTimeout(res, 10));
    const ms = performance.now() - t0;
    assert.equal(disk.info().blocks.written, 10);
    assert.ok(ms >= 60 && ms < 1500, `0.75 s of log at 10× took ${ms.toFixed(0)} ms`);
    await assert.rejects(t.act('speed', { speed: 1000 }), /speed must be from 0.1 to 100/);
    await assert.rejects(t.act('live'), /this is a replay/);
  } finally {
    await t.close();
  }
});
