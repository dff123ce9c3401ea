// A hand-driven NBD client for tests that must send what no real client would: it reads exactly
// what it asks for and writes raw bytes, options and request headers.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { ByteQueue } from '../connection/byte-queue.ts';
import { IHAVEOPT, OPT } from '../protocol/constants.ts';
import { encodeRequestHeader } from '../protocol/transmission.ts';

export class RawClient {
  private readonly queue = new ByteQueue();
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly s: Socket) {
    s.on('data', (d: Buffer) => {
      this.queue.push(d);
      this.waiters.splice(0).forEach((w) => w());
    });
    s.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    s.on('error', () => {});
  }

  /** Connect to a Unix socket path or a { host, port }. */
  static async open(where: string | { host: string; port: number }): Promise<RawClient> {
    const s = typeof where === 'string' ? connect(where) : connect(where.port, where.host);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawClient(s);
  }

  async read(n: number): Promise<Buffer | null> {
    while (this.queue.length < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.queue.take(n);
  }

  async waitClosed(ms = 2000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  write(b: Buffer): void {
    if (!this.s.destroyed) this.s.write(b);
  }

  close(): void {
    this.s.destroy();
  }

  option(opt: number, data: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(IHAVEOPT, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.write(h);
    if (data.length) this.write(data);
  }

  async reply(): Promise<{ opt: number; type: number; data: Buffer }> {
    const h = await this.read(20);
    assert.ok(h, 'server closed instead of replying to an option');
    const len = h.readUInt32BE(16);
    return { opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data: (await this.read(len))! };
  }

  /** Greeting + client flags (fixed newstyle, no zeroes). */
  async hello(flags = 3): Promise<void> {
    const g = await this.read(18);
    assert.equal(g?.toString('ascii', 0, 8), 'NBDMAGIC');
    const f = Buffer.alloc(4);
    f.writeUInt32BE(flags, 0);
    this.write(f);
  }

  /** EXPORT_NAME "" → transmission with simple replies. */
  async go(): Promise<void> {
    this.option(OPT.EXPORT_NAME);
    assert.ok(await this.read(10));
  }

  request(type: number, offset: bigint, length: number, flags = 0, cookie = 7): void {
    this.write(encodeRequestHeader({ flags, type, cookieHi: 0, cookieLo: cookie, offset, length }));
  }

  async simpleReply(): Promise<{ error: number; cookie: number }> {
    const r = await this.read(16);
    assert.ok(r, 'server closed instead of replying');
    return { error: r.readUInt32BE(4), cookie: r.readUInt32BE(12) };
  }
}

/** Option data for SET/LIST_META_CONTEXT: export name "" and the given queries. */
export function metaContextData(queries: string[]): Buffer {
  const parts = [Buffer.alloc(8)];
  parts[0].writeUInt32BE(queries.length, 4);
  for (const q of queries) {
    const b = Buffer.from(q);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length, 0);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/**
 * Run `fn` and report the largest Buffer anyone in this process allocated meanwhile (the server
 * runs in-process in these tests): proof that a payload was skipped, not buffered.
 */
export async function largestAllocationDuring(fn: () => Promise<void>): Promise<number> {
  let largest = 0;
  const { allocUnsafe, alloc } = Buffer;
  Buffer.allocUnsafe = (n: number) => ((largest = Math.max(largest, n)), allocUnsafe(n));
  Buffer.alloc = ((n: number, ...rest: unknown[]) => (
    (largest = Math.max(largest, n)),
    (alloc as (...a: unknown[]) => Buffer)(n, ...rest)
  )) as typeof Buffer.alloc;
  try {
    await fn();
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
    Buffer.alloc = alloc;
  }
  return largest;
}
