// The embedded server driven by qemu-io and qemu-img (Debian qemu-utils).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EVERYDAY_CHECKS } from './everyday-checks.ts';
import { eventually, requireBinary, run, startDisks, type TestDisks } from './harness.ts';

let t: TestDisks;
before(async () => {
  requireBinary('qemu-io', 'qemu-utils');
  requireBinary('qemu-img', 'qemu-utils');
  t = await startDisks({ size: 64n << 20n });
});
after(() => t?.close());

const qemuIo = (uri: string, ...cmds: string[]) =>
  run('qemu-io', ['-f', 'raw', uri, ...cmds.flatMap((c) => ['-c', c])]);

test('qemu-io writes patterns at the start, middle and last block and reads them back', async () => {
  const last = 64 * 1024 * 1024 - 4096;
  const r = await qemuIo(
    t.uris[0],
    'write -P 0x11 0 4k',
    'write -P 0x22 32M 64k',
    `write -P 0x33 ${last} 4k`,
    'read -P 0x11 0 4k',
    'read -P 0x22 32M 64k',
    `read -P 0x33 ${last} 4k`,
    'read -P 0 4k 4k',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Pattern verification failed/);
  assert.equal((r.stdout.match(/^read /gm) ?? []).length, 4);
});

test('qemu-io discard and write -z (with and without -u) read back as zeroes', async () => {
  // The everyday check of the same name (run there through the proxy), here on the RAM disk.
  const check = EVERYDAY_CHECKS.find((c) => c.name === 'qemu-io discard, write -z and write -z -u read back as zeroes');
  assert.ok(check, 'the everyday check exists');
  const out = await check.run(t.uris[0], null as never, '');
  assert.equal((out.match(/^read /gm) ?? []).length, 2, out);
});

test('qemu-io: pages freed by a discard are used again, and a small write into one reads zeroes around it', async () => {
  // The RAM disk hands a freed page's memory to the next new page (backends/page-slabs.ts): a
  // 1 KiB write at an odd offset must not show the discarded 0xaa bytes around it.
  const r = await qemuIo(
    t.uris[0],
    'write -P 0xaa 0 8M',
    'write -P 0xbb 8M 8M',
    'discard 0 8M',
    'write -P 0xcc 20972032 1k', // 20M + 512
    'write -P 0xdd 31461376 4k', // 30M + 4k
    'read -P 0 20M 512',
    'read -P 0xcc 20972032 1k',
    'read -P 0 20973056 31232', // the rest of that 32 KiB page
    'read -P 0 30M 4k',
    'read -P 0xdd 31461376 4k',
    'read -P 0 31465472 24k',
    'read -P 0 0 8M',
    'read -P 0xbb 8M 8M',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Pattern verification failed/);
  assert.equal((r.stdout.match(/^read /gm) ?? []).length, 8, r.stdout);
});

test('qemu-io aio_write bursts are pipelined and all land', async () => {
  // A 20 ms write delay keeps requests in flight long enough to see them overlap.
  const slow = await startDisks({ filters: [{ name: 'delay', params: { wdelay: '20ms' } }] });
  try {
    const writes = Array.from({ length: 32 }, (_, i) => `aio_write -P ${0x50 + (i % 16)} ${8 + i}M 64k`);
    const reads = Array.from({ length: 32 }, (_, i) => `read -P ${0x50 + (i % 16)} ${8 + i}M 64k`);
    const r = await qemuIo(slow.uris[0], ...writes, 'aio_flush', ...reads);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /verification failed/);
    const w = slow.events[0].filter((e) => e.op === 'write');
    assert.equal(w.length, 32, 'one write event per aio_write');
    // Pipelined means overlapping: count the most writes in flight at once (a timing bound on
    // the total would fail on a loaded machine; overlap does not depend on speed).
    const edges = w.flatMap((e) => [
      [e.startUs, 1],
      [e.endUs, -1],
    ]);
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inFlight = 0;
    let most = 0;
    for (const [, d] of edges) most = Math.max(most, (inFlight += d));
    assert.ok(most >= 4, `at most ${most} writes were in flight at once: not pipelined`);
  } finally {
    await slow.close();
  }
});

test('qemu-img info, convert in and out, compare', async () => {
  const src = join(t.dir, 'src.img');
  const out = join(t.dir, 'out.img');
  writeFileSync(src, Buffer.concat([randomBytes(8 << 20), Buffer.alloc(48 << 20), randomBytes(8 << 20)]));
  const info = await run('qemu-img', ['info', '-f', 'raw', '--output=json', t.uris[0]]);
  assert.equal(info.code, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout)['virtual-size'], 64 * 1024 * 1024);
  const conv = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, t.uris[0]]);
  assert.equal(conv.code, 0, conv.stderr);
  const cmp = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, t.uris[0]]);
  assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
  const back = await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', t.uris[0], out]);
  assert.equal(back.code, 0, back.stderr);
  assert.ok(readFileSync(out).equals(readFileSync(src)), 'image copied out differs');
});

test('qemu-io request count equals the events the engine published', async () => {
  const before = t.events[0].length;
  const r = await run('qemu-io', [
    '-f',
    'raw',
    '-t',
    'none',
    t.uris[0],
    ...Array.from({ length: 25 }, (_, i) => ['-c', `write -P 1 ${i * 4096} 4k`]).flat(),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const writes = () => t.events[0].slice(before).filter((e) => e.op === 'write');
  await eventually(() => writes().length, 25, 'one event per write');
  const info = t.engine.disk(1).info();
  assert.ok(info.counters.write.count >= 25);
});
