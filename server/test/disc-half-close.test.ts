// NBD_CMD_DISC: "the server MUST handle all outstanding requests". libnbd sends DISC and then
// shuts its side of the socket (shutdown(SHUT_WR)), and its shutdown() does not wait for the
// replies; Blockscope took that half-close for a vanished client and dropped the writes still in
// the delay filter, unanswered (an outsider's finding). Writes are slowed here so that they are
// still running when the DISC and the half-close arrive. Without a DISC a half-close cancels
// what is running, answered ESHUTDOWN as nbdkit's delay filter does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CMD, NBD_ERR } from '../protocol/constants.ts';
import { NBDSH_ENV, requireBinary, run, startDisks, type TestDisks } from './harness.ts';
import { RawClient } from './raw-client.ts';

const WDELAY_MS = 300;
let t: TestDisks;
before(async () => {
  t = await startDisks({ unix: true, filters: [{ name: 'delay', params: { wdelay: `${WDELAY_MS}ms` } }] });
});
after(() => t?.close());

/** 8 writes of 4 KiB, byte `fill` at 64 KiB × i + base, then DISC (all before any reply). */
async function writesThenDisc(fill: number, base: bigint): Promise<RawClient> {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  for (let i = 0; i < 8; i++) {
    c.request(CMD.WRITE, base + BigInt(i) * 65536n, 4096, 0, i + 1);
    c.write(Buffer.alloc(4096, fill));
  }
  c.request(CMD.DISC, 0n, 0, 0, 99);
  return c;
}

/** What a fresh connection reads at each of the 8 places (the first byte of each). */
async function firstBytes(base: bigint): Promise<number[]> {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    c.request(CMD.READ, base + BigInt(i) * 65536n, 4096, 0, i + 1);
    assert.equal((await c.simpleReply()).error, 0);
    out.push((await c.read(4096))![0]);
  }
  c.close();
  return out;
}

test('DISC then a half-close: every write before it is stored and answered, then the server closes', async () => {
  const c = await writesThenDisc(0x5a, 0n);
  c.s.end(); // shutdown(SHUT_WR), as libnbd does
  const cookies: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await c.simpleReply();
    assert.equal(r.error, 0, `write ${r.cookie}`);
    cookies.push(r.cookie);
  }
  assert.deepEqual(cookies.sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(await c.waitClosed(), 'the server closes once every request has replied');
  assert.deepEqual(await firstBytes(0n), Array(8).fill(0x5a));
});

test('DISC then gone at once: the writes before it are still stored', async () => {
  const c = await writesThenDisc(0xa5, 1n << 20n);
  c.close();
  await new Promise((r) => setTimeout(r, WDELAY_MS * 3));
  assert.deepEqual(await firstBytes(1n << 20n), Array(8).fill(0xa5));
});

test("libnbd's shutdown() right after 8 aio writes (nbdsh): all 8 are stored", async () => {
  requireBinary('nbdsh', 'python3-libnbd');
  const script = [
    'buf = b"\\x3c" * 4096',
    'for i in range(8): h.aio_pwrite(buf, (2 << 20) + i * 65536)',
    // Let the writes reach the wire, then disconnect without waiting for their replies.
    'for _ in range(20): h.poll(0)',
    'h.shutdown()',
  ].join('\n');
  const r = await run('nbdsh', ['-u', t.uris[0], '-c', script], { env: NBDSH_ENV, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  await new Promise((res) => setTimeout(res, WDELAY_MS * 3));
  assert.deepEqual(await firstBytes(2n << 20n), Array(8).fill(0x3c));
});

test('a half-close without DISC: running requests are cancelled and answered ESHUTDOWN (as nbdkit), then it ends', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  for (let i = 0; i < 4; i++) {
    c.request(CMD.WRITE, (3n << 20n) + BigInt(i) * 65536n, 4096, 0, i + 1);
    c.write(Buffer.alloc(4096, 0x77));
  }
  await new Promise((r) => setTimeout(r, 50)); // the writes are in the delay filter now
  c.s.end();
  for (let i = 0; i < 4; i++) assert.equal((await c.simpleReply()).error, NBD_ERR.ESHUTDOWN);
  assert.ok(await c.waitClosed(), 'closed after the client shut its side without NBD_CMD_DISC');
});
