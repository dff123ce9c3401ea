// The embedded server driven by libnbd's tools (Debian libnbd-bin, python3-libnbd).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NBDSH_ENV, eventually, requireBinary, run, startDisks, type TestDisks } from './harness.ts';

let t: TestDisks;
before(async () => {
  requireBinary('nbdinfo', 'libnbd-bin');
  requireBinary('nbdcopy', 'libnbd-bin');
  requireBinary('nbdsh', 'python3-libnbd');
  t = await startDisks({ size: 512n << 20n, unix: true });
});
after(() => t?.close());

const nbdsh = (uri: string, script: string, extra: string[] = []) =>
  run('nbdsh', [...extra, '-u', uri, '-c', script], { env: NBDSH_ENV, timeoutMs: 120_000 });

test('nbdinfo --size, --list and every --can', async () => {
  const size = await run('nbdinfo', ['--size', t.uris[0]]);
  assert.equal(size.stdout.trim(), String(512 * 1024 * 1024));
  const list = await run('nbdinfo', ['--list', '--json', t.uris[0]]);
  assert.equal(list.code, 0, list.stderr);
  const exports = JSON.parse(list.stdout).exports;
  assert.equal(exports.length, 1);
  assert.equal(exports[0]['export-name'], '');
  for (const cap of ['trim', 'zero', 'fast-zero', 'fua', 'cache', 'flush', 'multi-conn', 'df', 'write']) {
    const r = await run('nbdinfo', ['--can', cap, t.uris[0]]);
    assert.equal(r.code, 0, `--can ${cap}: exit ${r.code} ${r.stderr}`);
  }
  const rot = await run('nbdinfo', ['--is', 'rotational', t.uris[0]]);
  assert.equal(rot.code, 2, 'a memory disk is not rotational');
});

test('nbdinfo --map shows data after writes and holes after trim and zero', async () => {
  const w = await run('qemu-io', [
    '-f',
    'raw',
    t.uris[0],
    '-c',
    'write -P 7 0 1M',
    '-c',
    'discard 256k 256k',
    '-c',
    'write -z 512k 256k',
  ]);
  assert.equal(w.code, 0, w.stderr);
  const map = await run('nbdinfo', ['--map', '--json', t.uris[0]]);
  assert.equal(map.code, 0, map.stderr);
  const extents = JSON.parse(map.stdout) as Array<{
    offset: number;
    length: number;
    type: number;
    description: string;
  }>;
  const at = (off: number) => extents.find((e) => e.offset <= off && off < e.offset + e.length)!;
  assert.equal(at(0).type, 0, 'written: data');
  assert.equal(at(300 * 1024).type, 3, 'trimmed: hole,zero');
  assert.equal(at(600 * 1024).type, 3, 'zeroed: hole,zero');
  assert.equal(at(900 * 1024).type, 0, 'still data');
  assert.equal(at(100 << 20).type, 3, 'never written: hole,zero');
});

test('nbdcopy: 256 MiB of random data in with 4 connections and back out, byte-identical', async () => {
  const src = join(t.dir, 'random.img');
  const out = join(t.dir, 'back.img');
  const chunks = Array.from({ length: 16 }, () => randomBytes(16 << 20));
  writeFileSync(src, Buffer.concat(chunks));
  const conns = t.engine.disk(1).stats.snapshot().counters.write.count;
  const cin = await run('nbdcopy', ['--connections=4', src, t.uris[0]], { timeoutMs: 300_000 });
  assert.equal(cin.code, 0, cin.stderr);
  assert.ok(t.engine.disk(1).stats.snapshot().counters.write.count > conns);
  const cout = await run('nbdcopy', ['--connections=4', t.uris[0], out], { timeoutMs: 300_000 });
  assert.equal(cout.code, 0, cout.stderr);
  const a = readFileSync(src);
  const b = readFileSync(out).subarray(0, a.length);
  assert.ok(a.equals(b), 'copied-out data differs');
});

test('nbdsh: pipelined aio, FAST_ZERO, DF reads, REQ_ONE block status, out-of-range errors', async () => {
  const script = `
import errno
buf = nbd.Buffer(65536)
cookies = [h.aio_pwrite(bytearray([i]) * 65536, (64 + i) * 65536) for i in range(16)]
while h.aio_in_flight() > 0:
    h.poll(-1)
for c in cookies:
    assert h.aio_command_completed(c)
for i in range(16):
    assert h.pread(65536, (64 + i) * 65536) == bytearray([i]) * 65536
h.zero(65536, 64 * 65536, nbd.CMD_FLAG_FAST_ZERO)
assert h.pread(65536, 64 * 65536) == bytearray(65536)
chunks = []
def chunk(subbuf, offset, status, err):
    chunks.append((len(subbuf), offset, status))
    return 0
got = h.pread_structured(4096, 65 * 65536, chunk, nbd.CMD_FLAG_DF)
assert got == bytearray([1]) * 4096
assert len(chunks) == 1 and chunks[0] == (4096, 65 * 65536, nbd.READ_DATA), chunks
seen = []
h.block_status(8 * 1024 * 1024, 0, lambda ctx, off, entries, err: seen.append(entries), nbd.CMD_FLAG_REQ_ONE)
assert len(seen) == 1 and len(seen[0]) == 2, seen
size = h.get_size()
try:
    h.pread(4096, size)
    raise SystemExit("read past the end succeeded")
except nbd.Error as e:
    assert e.errnum == errno.EINVAL, e
try:
    h.pwrite(bytearray(4096), size - 2048)
    raise SystemExit("write past the end succeeded")
except nbd.Error as e:
    assert e.errnum == errno.ENOSPC, e
h.cache(4096, 0)
h.flush()
print("ok")
`;
  const r = await nbdsh(t.uris[0], script, ['--base-allocation']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /ok/);
});

test('a client sending garbage is dropped; other clients and their data are unharmed', async () => {
  const w = await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'write -P 0x5a 100M 64k']);
  assert.equal(w.code, 0, w.stderr);
  // Garbage before the handshake completes, and garbage during transmission.
  for (const junk of [randomBytes(4096), Buffer.concat([Buffer.from([0, 0, 0, 3]), randomBytes(200)])]) {
    await new Promise<void>((resolve) => {
      const s = connect(t.unixSockets[0]);
      s.on('connect', () => s.write(junk));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      setTimeout(() => s.destroy(), 500);
    });
  }
  // A well-behaved client that then sends a bad request magic.
  const bad = await nbdsh(t.uris[0], 'h.pread(512, 0)\nprint("fine")');
  assert.equal(bad.code, 0, bad.stderr);
  const r = await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'read -P 0x5a 100M 64k']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /verification failed/);
});

test('a 7 EiB sparse disk works with nbdinfo and qemu-io at its last block', async () => {
  const big = await startDisks({ size: 7n << 60n });
  try {
    const size = await run('nbdinfo', ['--size', big.uris[0]]);
    assert.equal(size.stdout.trim(), (7n << 60n).toString());
    const last = (7n << 60n) - 4096n;
    const r = await run('qemu-io', [
      '-f',
      'raw',
      big.uris[0],
      '-c',
      `write -P 0x77 ${last} 4k`,
      '-c',
      `read -P 0x77 ${last} 4k`,
      '-c',
      'write -P 0x66 0 4k',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /verification failed/);
    await eventually(() => big.engine.disk(1).info().blocks.written, 2, 'both writes are on the grid');
    const info = big.engine.disk(1).info();
    assert.equal(info.size, (7n << 60n).toString());
    assert.equal(info.blocks.untouched, 7 * 2 ** 48 - 2);
    // (No --map: block status lengths are 32-bit, so mapping 7 EiB takes ~2^31 requests.)
    const full = await run('nbdinfo', ['--json', big.uris[0]]);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(JSON.parse(full.stdout).exports[0]['export-size'], Number(7n << 60n));
  } finally {
    await big.close();
  }
});

test('a refused request: nbdsh gets the errno it always did (EINVAL, ENOSPC), and the error chunk says why (libnbd debug)', async () => {
  const size = 512 * 1024 * 1024;
  const script = [
    'h.set_strict_mode(0)',
    `for f in [lambda: h.pread(4096, ${size}), lambda: h.pwrite(b"x" * 4096, ${size}), lambda: h.pread(4096, 0, 1 << 9)]:`,
    '    try:',
    '        f()',
    '    except nbd.Error as e:',
    '        print(e.string)',
  ].join('\n');
  const r = await run('nbdsh', ['-u', t.uris[0], '-c', script], {
    env: { ...NBDSH_ENV, LIBNBD_DEBUG: '1' },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'nbd_pread: read: command failed: Invalid argument',
    'nbd_pwrite: write: command failed: No space left on device',
    'nbd_pread: read: command failed: Invalid argument',
  ]);
  const messages = [...r.stderr.matchAll(/structured error server message: (.*)/g)].map((m) => m[1]);
  assert.deepEqual(messages, [
    `request rejected: out of range: offset ${size} + length 4096 > size ${size}`,
    `request rejected: out of range: offset ${size} + length 4096 > size ${size}`,
    'request rejected: unknown flag 0x200',
  ]);
});
