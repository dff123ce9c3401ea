// Malformed and hostile NBD traffic from a hand-driven socket: the server answers per the spec,
// drops only the offending client, never buffers an oversize payload, and keeps serving others.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { IHAVEOPT, NBD_ERR, OPT, REP } from '../protocol/constants.ts';
import { encodeRequestHeader } from '../protocol/transmission.ts';
import { CMD } from '../protocol/constants.ts';
import { run, startDisks, type TestDisks } from './harness.ts';

let t: TestDisks;
before(async () => {
  t = await startDisks({ unix: true, size: 64n << 20n });
});
after(() => t?.close());

/** A minimal client: reads exactly what it asks for. */
class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly s: Socket) {
    s.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiters.splice(0).forEach((w) => w());
    });
    s.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    s.on('error', () => {});
  }
  static async open(path: string): Promise<RawClient> {
    const s = connect(path);
    await new Promise((r) => s.once('connect', r));
    return new RawClient(s);
  }
  async read(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async waitClosed(ms = 2000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }
  write(b: Buffer): void {
    this.s.write(b);
  }
  option(opt: number, data = Buffer.alloc(0)): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(IHAVEOPT, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.write(Buffer.concat([h, data]));
  }
  async reply(): Promise<{ opt: number; type: number; data: Buffer }> {
    const h = (await this.read(20))!;
    const len = h.readUInt32BE(16);
    return { opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data: (await this.read(len))! };
  }
  /** Greeting + client flags (fixed newstyle, no zeroes). */
  async hello(flags = 3): Promise<void> {
    const g = await this.read(18);
    assert.equal(g!.toString('ascii', 0, 8), 'NBDMAGIC');
    const f = Buffer.alloc(4);
    f.writeUInt32BE(flags, 0);
    this.write(f);
  }
  /** EXPORT_NAME "" → transmission. */
  async go(): Promise<void> {
    this.option(OPT.EXPORT_NAME);
    assert.ok(await this.read(10));
  }
  request(type: number, offset: bigint, length: number, flags = 0, cookie = 7): void {
    this.write(encodeRequestHeader({ flags, type, cookieHi: 0, cookieLo: cookie, offset, length }));
  }
  async simpleReply(): Promise<{ error: number; cookie: number }> {
    const r = (await this.read(16))!;
    return { error: r.readUInt32BE(4), cookie: r.readUInt32BE(12) };
  }
}

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

test('an oversize write (40 MiB) is skipped, not buffered, and answered EINVAL; the connection goes on', async () => {
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  const chunk = Buffer.alloc(1 << 20, 0x61);
  // The server runs in this process: record the largest buffer anyone allocates meanwhile.
  let largest = 0;
  const { allocUnsafe, alloc } = Buffer;
  Buffer.allocUnsafe = (n: number) => ((largest = Math.max(largest, n)), allocUnsafe(n));
  Buffer.alloc = ((n: number, ...rest: unknown[]) => (
    (largest = Math.max(largest, n)),
    (alloc as (...a: unknown[]) => Buffer)(n, ...rest)
  )) as typeof Buffer.alloc;
  try {
    c.request(CMD.WRITE, 0n, 40 << 20, 0, 11);
    for (let i = 0; i < 40; i++) c.write(chunk);
    assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 11 });
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
    Buffer.alloc = alloc;
  }
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
