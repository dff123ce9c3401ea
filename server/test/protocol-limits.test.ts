// The edges of the protocol that took the server down or were refused before: zero-length
// requests of every kind (a zero-length WRITE killed the process), requests up to 64 MiB, option
// payloads larger than we buffer, the handshake's byte cap and timeout, and the `base:` query.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CMD, INFO, NBD_ERR, OPT, REP } from '../protocol/constants.ts';
import { startDisks, type TestDisks } from './harness.ts';
import { largestAllocationDuring, metaContextData, RawClient } from './raw-client.ts';

let t: TestDisks;
before(async () => {
  t = await startDisks({ unix: true, size: 128n << 20n, handshakeTimeoutMs: 1500 });
});
after(() => t?.close());

async function transmission(): Promise<RawClient> {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  return c;
}

test('the zero-length WRITE of issue 10 gets EINVAL and the connection goes on', async () => {
  const c = await transmission();
  c.request(CMD.WRITE, 0n, 0, 0, 1);
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 1 });
  // The same again split over two packets, header bytes arriving one at a time.
  const { encodeRequestHeader } = await import('../protocol/transmission.ts');
  const h = encodeRequestHeader({ flags: 0, type: CMD.WRITE, cookieHi: 0, cookieLo: 2, offset: 0n, length: 0 });
  for (const byte of h) {
    c.write(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 2 });
  c.request(CMD.READ, 0n, 4096, 0, 3);
  assert.deepEqual(await c.simpleReply(), { error: 0, cookie: 3 });
  assert.equal((await c.read(4096))?.length, 4096);
  c.close();
});

test('zero-length requests of every command get a reply, none kills the connection', async () => {
  const c = await transmission();
  const expected: Array<[number, number]> = [
    [CMD.READ, NBD_ERR.EINVAL],
    [CMD.WRITE, NBD_ERR.EINVAL],
    [CMD.TRIM, NBD_ERR.EINVAL],
    [CMD.CACHE, NBD_ERR.EINVAL],
    [CMD.WRITE_ZEROES, NBD_ERR.EINVAL],
    [CMD.BLOCK_STATUS, NBD_ERR.EINVAL], // no meta context negotiated
    [CMD.FLUSH, 0], // offset 0 and length 0 is what FLUSH must carry
    [99, NBD_ERR.EINVAL],
  ];
  let cookie = 10;
  for (const [type] of expected) c.request(type, 0n, 0, 0, cookie++);
  const replies = new Map<number, number>();
  for (let i = 0; i < expected.length; i++) {
    const r = await c.simpleReply();
    replies.set(r.cookie, r.error);
  }
  expected.forEach(([type, error], i) => assert.equal(replies.get(10 + i), error, `command ${type}`));
  c.close();
});

test('offsets near 2^64 and lengths that wrap past it are refused, not wrapped', async () => {
  const c = await transmission();
  const top = (1n << 64n) - 512n;
  c.request(CMD.READ, top, 4096, 0, 1);
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 1 });
  c.request(CMD.WRITE, top, 4096, 0, 2);
  c.write(Buffer.alloc(4096));
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.ENOSPC, cookie: 2 });
  c.request(CMD.TRIM, top, 0xffffffff, 0, 3);
  assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 3 });
  c.close();
});

test('requests up to 64 MiB are served (as nbdkit): a 48 MiB write reads back intact', async () => {
  const c = await transmission();
  const size = 48 << 20;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) data.writeUInt32BE(i >>> 2, i);
  c.request(CMD.WRITE, 4096n, size, 0, 1);
  // Sent in slices, as a real client's payload arrives: filled in place, not queued and joined.
  for (let off = 0; off < size; off += 1 << 20) c.write(data.subarray(off, off + (1 << 20)));
  assert.deepEqual(await c.simpleReply(), { error: 0, cookie: 1 });
  c.request(CMD.READ, 4096n, 64 << 20, 0, 2);
  assert.deepEqual(await c.simpleReply(), { error: 0, cookie: 2 });
  const back = (await c.read(64 << 20))!;
  assert.ok(back.subarray(0, size).equals(data), 'the 48 MiB written came back');
  c.close();
});

test('an option payload larger than 1 MiB is skipped unread and answered ERR_TOO_BIG; negotiation goes on', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  const big = Buffer.alloc(8 << 20, 0x41);
  const largest = await largestAllocationDuring(async () => {
    c.option(OPT.GO, big);
    assert.equal((await c.reply()).type, REP.ERR_TOO_BIG);
  });
  assert.ok(largest < 2 << 20, `a ${largest}-byte buffer was allocated for an option that should be skipped`);
  c.option(OPT.LIST);
  assert.equal((await c.reply()).type, REP.SERVER);
  assert.equal((await c.reply()).type, REP.ACK);
  c.close();
});

test('a handshake may not send more than 16 MiB in all; an oversize EXPORT_NAME ends it', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  const mib = Buffer.alloc(3 << 20);
  for (let i = 0; i < 8; i++) c.option(99, mib);
  let tooBig = 0;
  for (let h = await c.read(20); h; h = await c.read(20)) {
    assert.equal(h.readUInt32BE(12), REP.ERR_TOO_BIG);
    await c.read(h.readUInt32BE(16));
    tooBig++;
  }
  assert.ok(c.closed);
  assert.equal(tooBig, 5, '5 × 3 MiB fit in 16 MiB, the 6th does not');

  const d = await RawClient.open(t.unixSockets[0]);
  await d.hello();
  d.option(OPT.EXPORT_NAME, Buffer.alloc(2 << 20, 0x61));
  assert.ok(await d.waitClosed());
});

test('an idle handshake is closed after the handshake timeout; transmission never times out', async () => {
  const idle = await RawClient.open(t.unixSockets[0]);
  await idle.hello();
  const busy = await transmission();
  const start = Date.now();
  assert.ok(await idle.waitClosed(10_000), 'the idle handshake was closed');
  assert.ok(Date.now() - start >= 1000, 'not before the timeout');
  await new Promise((r) => setTimeout(r, 500));
  busy.request(CMD.READ, 0n, 512, 0, 5);
  assert.deepEqual(await busy.simpleReply(), { error: 0, cookie: 5 });
  busy.close();
});

test('meta contexts: bare `base:` is ignored by SET and a wildcard for LIST (NBD spec, libnbd opt-set-meta)', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  c.option(OPT.STRUCTURED_REPLY);
  assert.equal((await c.reply()).type, REP.ACK);
  const contexts = async (opt: number, queries: string[]) => {
    c.option(opt, metaContextData(queries));
    const names: string[] = [];
    for (let r = await c.reply(); r.type !== REP.ACK; r = await c.reply()) {
      assert.equal(r.type, REP.META_CONTEXT);
      names.push(r.data.toString('utf8', 4));
    }
    return names;
  };
  assert.deepEqual(await contexts(OPT.SET_META_CONTEXT, ['base:']), []);
  assert.deepEqual(await contexts(OPT.LIST_META_CONTEXT, ['base:']), ['base:allocation']);
  assert.deepEqual(await contexts(OPT.LIST_META_CONTEXT, []), ['base:allocation']);
  assert.deepEqual(await contexts(OPT.SET_META_CONTEXT, []), []);
  assert.deepEqual(await contexts(OPT.SET_META_CONTEXT, ['x-nosuch:ctx', 'base:allocation']), ['base:allocation']);
  // An absurd query count with no queries behind it is a parse error, not a hang or a crash.
  const absurd = Buffer.alloc(8);
  absurd.writeUInt32BE(0xffffffff, 4);
  c.option(OPT.LIST_META_CONTEXT, absurd);
  assert.equal((await c.reply()).type, REP.ERR_INVALID);
  c.close();
});

test('a write payload is read to its end even while replies back up (no deadlock with a blocking client)', async () => {
  // nbd-tester-client's tlshuge trace did this: it sends a 47 MiB write while big read replies
  // wait unread, and reads replies only once the payload is out. Pausing mid-payload deadlocked.
  const c = await transmission();
  c.s.pause(); // not reading replies for now
  c.request(CMD.READ, 0n, 32 << 20, 0, 100);
  const size = 48 << 20;
  c.request(CMD.WRITE, 0n, size, 0, 200);
  const sent = new Promise<void>((resolve) => c.s.write(Buffer.alloc(size, 0x77), () => resolve()));
  const outcome = await Promise.race([
    sent.then(() => 'sent'),
    new Promise((r) => setTimeout(() => r('stuck'), 30_000)),
  ]);
  assert.equal(outcome, 'sent', 'the server stopped reading in the middle of the payload');
  c.s.resume();
  const cookies: number[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await c.simpleReply();
    assert.equal(r.error, 0);
    cookies.push(r.cookie);
    if (r.cookie !== 200) await c.read(32 << 20);
  }
  assert.deepEqual(
    cookies.sort((a, b) => a - b),
    [100, 200],
  );
  c.close();
});

test('NBD_OPT_INFO asking for one item 65,535 times gets it once (the handshake amplification)', async (ctx) => {
  // A server of its own with the default handshake timeout: parsing 20 such options can take
  // longer than this file's 1.5 s on a loaded machine, and the timeout is not what is tested here.
  const own = await startDisks({ unix: true, size: 1n << 20n });
  ctx.after(() => own.close());
  const c = await RawClient.open(own.unixSockets[0]);
  await c.hello();
  // Export name "", 65,535 requests for NBD_INFO_DESCRIPTION: a 131 KiB option.
  const data = Buffer.alloc(6 + 2 * 65535);
  data.writeUInt16BE(65535, 4);
  for (let i = 0; i < 65535; i++) data.writeUInt16BE(INFO.DESCRIPTION, 6 + 2 * i);
  // Sent before any reply is read, as the attacker did.
  for (let i = 0; i < 20; i++) c.option(OPT.INFO, data);
  for (let i = 0; i < 20; i++) {
    const types: number[] = [];
    for (let r = await c.reply(); ; r = await c.reply()) {
      types.push(r.type === REP.INFO ? r.data.readUInt16BE(0) : r.type);
      if (r.type === REP.ACK) break;
    }
    assert.deepEqual(types, [INFO.EXPORT, INFO.DESCRIPTION, REP.ACK], `option ${i + 1}`);
  }
  await c.go();
  c.request(CMD.READ, 0n, 4096, 0, 1);
  assert.deepEqual(await c.simpleReply(), { error: 0, cookie: 1 });
  c.close();
});
