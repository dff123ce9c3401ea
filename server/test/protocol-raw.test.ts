// Malformed and hostile NBD traffic from a hand-driven socket: the server answers per the spec,
// drops only the offending client, never buffers an oversize payload, and keeps serving others.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CMD, NBD_ERR, OPT, REP } from '../protocol/constants.ts';
import { run, startDisks, type TestDisks } from './harness.ts';
import { largestAllocationDuring, RawClient } from './raw-client.ts';

let t: TestDisks;
before(async () => {
  t = await startDisks({ unix: true, size: 64n << 20n });
});
after(() => t?.close());

test('unknown client flags: the client is dropped', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello(0x80000003);
  assert.ok(await c.waitClosed());
});

test('unknown options get ERR_UNSUP and parsing goes on; STARTTLS gets ERR_POLICY; bad INFO gets ERR_INVALID', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  c.option(99, Buffer.from('whatever'));
  assert.equal((await c.reply()).type, REP.ERR_UNSUP);
  c.option(OPT.EXTENDED_HEADERS);
  assert.equal((await c.reply()).type, REP.ERR_UNSUP);
  c.option(OPT.STARTTLS);
  assert.equal((await c.reply()).type, REP.ERR_POLICY);
  c.option(OPT.GO, Buffer.from([0, 0, 0, 200, 1]));
  assert.equal((await c.reply()).type, REP.ERR_INVALID);
  c.option(OPT.SET_META_CONTEXT, Buffer.alloc(8));
  assert.equal((await c.reply()).type, REP.ERR_INVALID, 'meta context before structured replies');
  c.option(OPT.ABORT);
  assert.equal((await c.reply()).type, REP.ACK);
  assert.ok(await c.waitClosed());
});

test('more than 32 options: dropped (nbdkit limit)', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  for (let i = 0; i < 40; i++) c.option(99);
  let replies = 0;
  for (let h = await c.read(20); h !== null; h = await c.read(20)) {
    replies++;
    await c.read(h.readUInt32BE(16));
  }
  assert.equal(replies, 32);
  assert.ok(c.closed);
});

test('a dropped client gets the replies sent before the drop, even writing after it', async () => {
  // A client busy writing, not reading: its 32 options are answered, the server drops it at the
  // limit, and it sends a 33rd after the drop. Had the server destroyed its socket, that write
  // would fail (EPIPE) and a Node client would close without reading the 32 replies waiting for
  // it. The server ends its side instead and discards what still comes.
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  c.s.pause();
  for (let i = 0; i < 32; i++) c.option(99);
  await new Promise((r) => setTimeout(r, 300));
  c.option(99);
  await new Promise((r) => setTimeout(r, 100));
  c.s.resume();
  let replies = 0;
  for (let h = await c.read(20); h !== null; h = await c.read(20)) {
    replies++;
    await c.read(h.readUInt32BE(16));
  }
  assert.equal(replies, 32, 'error replies read before the connection closed');
  assert.ok(await c.waitClosed());
});

test('bad request magic drops only that client; bad commands and flags get EINVAL', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  c.request(42, 0n, 512);
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 7 });
  c.request(CMD.READ, 0n, 512, 1 << 12, 8);
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 8 });
  c.request(CMD.READ, 64n << 20n, 512, 0, 9);
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 9 });
  c.write(Buffer.alloc(28, 0xee));
  assert.ok(await c.waitClosed());
  const ok = await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'read 0 4k']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('an oversize write (72 MiB) is skipped, not buffered, and answered EINVAL; the connection goes on', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const largest = await largestAllocationDuring(async () => {
    c.request(CMD.WRITE, 0n, 72 << 20, 0, 11);
    for (let i = 0; i < 72; i++) c.write(chunk);
    assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 11 });
  });
  assert.ok(largest < 2 << 20, `a ${largest}-byte buffer was allocated for a payload that should be skipped`);
  c.request(CMD.READ, 0n, 512, 0, 12);
  assert.deepEqual(await c.simpleReply(), { error: 0, cookie: 12 });
  assert.equal((await c.read(512))!.length, 512);
  c.request(CMD.DISC, 0n, 0);
  assert.ok(await c.waitClosed());
});

test('read-only export: writes get EPERM and nbdinfo says it cannot write', async () => {
  const ro = await startDisks({ readonly: true });
  try {
    const can = await run('nbdinfo', ['--can', 'write', ro.uris[0]]);
    assert.equal(can.code, 2);
    const w = await run(
      'nbdsh',
      [
        '-u',
        ro.uris[0],
        '-c',
        'import errno\ntry:\n  h.pwrite(bytearray(512), 0)\nexcept nbd.Error as e:\n  print(e.errnum == errno.EPERM)',
      ],
      { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}` } },
    );
    assert.match(w.stdout, /True/, w.stderr);
    const r = await run('qemu-io', ['-r', '-f', 'raw', ro.uris[0], '-c', 'read 0 4k']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await ro.close();
  }
});
