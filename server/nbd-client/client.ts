// One NBD client connection in transmission phase (after negotiate()): pipelined requests
// matched to replies by cookie, simple and structured replies, base:allocation block status.
//
// Replies are parsed incrementally straight off the socket: read data (OFFSET_DATA chunks or a
// simple reply's payload) is copied from the socket's chunks directly into the caller's buffer,
// never joined first. Requests issued in the same tick go out in one corked write.

import type { Socket } from 'node:net';
import { NbdError, type BlockSizeConstraints, type Extent } from '../backends/backend.ts';
import {
  CMD,
  REPLY_FLAG_DONE,
  REPLY_TYPE,
  SIMPLE_REPLY_MAGIC,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_HEADER_SIZE,
  STRUCTURED_REPLY_MAGIC,
} from '../protocol/constants.ts';
import { errnoFromWire, parseBlockStatusPayload, parseErrorPayload } from '../protocol/client.ts';
import { encodeRequestHeader } from '../protocol/transmission.ts';
import type { Errno } from '../shared/types.ts';
import type { NegotiatedExport } from './handshake.ts';

interface Pending {
  type: number;
  offset: bigint;
  length: number;
  /** READ: where the data goes. */
  buf: Buffer | null;
  extents: Extent[] | null;
  error: { errno: Errno; message: string } | null;
  resolve: (v: Extent[] | null) => void;
  reject: (e: Error) => void;
}

/** Largest non-data chunk payload accepted (2^20 block status descriptors, as the spec suggests). */
const MAX_CHUNK = 8 * 1024 * 1024 + 16;

type ParseState =
  | { kind: 'header' }
  /** Copying `remaining` bytes of read data into `dest` at `pos`. */
  | {
      kind: 'data';
      p: Pending | null;
      dest: Buffer | null;
      pos: number;
      remaining: number;
      done: boolean;
      cookie: number;
    }
  /** Collecting a whole chunk payload (offset of OFFSET_DATA, error, hole, block status). */
  | { kind: 'payload'; type: number; flags: number; cookie: number; buf: Buffer; have: number };

export class NbdClient {
  readonly size: bigint;
  readonly eflags: number;
  readonly blockSize: BlockSizeConstraints | null;
  readonly structured: boolean;
  readonly allocationContext: number | null;
  readonly tls: boolean;

  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextCookie = 1;
  private state: ParseState = { kind: 'header' };
  private readonly header = Buffer.alloc(STRUCTURED_HEADER_SIZE);
  private headerHave = 0;
  private corked = false;
  private closed = false;
  private closing = false;
  private closeError: Error | null = null;
  private closeListeners: Array<(err: Error | null) => void> = [];

  constructor(n: NegotiatedExport) {
    this.socket = n.socket;
    this.size = n.size;
    this.eflags = n.eflags;
    this.blockSize = n.blockSize;
    this.structured = n.structured;
    this.allocationContext = n.allocationContext;
    this.tls = n.tls;
    // onData copies everything it keeps, so views of the shared read buffer are fine.
    if (n.reads) n.reads.route((chunk) => this.onData(chunk));
    else this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.teardown(err));
    this.socket.on('close', () =>
      this.teardown(this.closing ? null : new Error('the upstream server closed the connection')),
    );
    this.socket.resume();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get isOpen(): boolean {
    return !this.closed && !this.closing;
  }

  /** Called once when the connection ends: err is null after close(), else why it broke. */
  onClose(listener: (err: Error | null) => void): void {
    if (this.closed) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  // ---- Requests ---------------------------------------------------------------------------

  private send(
    type: number,
    flags: number,
    offset: bigint,
    length: number,
    payload: Buffer | null,
    buf: Buffer | null,
  ) {
    return new Promise<Extent[] | null>((resolve, reject) => {
      if (this.closed || this.closing) {
        reject(new NbdError('ESHUTDOWN', this.closeError?.message ?? 'the upstream connection is closed'));
        return;
      }
      const cookie = this.nextCookie;
      this.nextCookie = this.nextCookie >= 0xffffffff ? 1 : this.nextCookie + 1;
      this.pending.set(cookie, { type, offset, length, buf, extents: null, error: null, resolve, reject });
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      this.socket.write(encodeRequestHeader({ flags, type, cookieHi: 0, cookieLo: cookie, offset, length }));
      if (payload) this.socket.write(payload);
    });
  }

  async pread(buf: Buffer, offset: bigint, flags: number): Promise<void> {
    await this.send(CMD.READ, flags, offset, buf.length, null, buf);
  }
  async pwrite(buf: Buffer, offset: bigint, flags: number): Promise<void> {
    await this.send(CMD.WRITE, flags, offset, buf.length, buf, null);
  }
  async flush(flags: number): Promise<void> {
    await this.send(CMD.FLUSH, flags, 0n, 0, null, null);
  }
  async trim(count: number, offset: bigint, flags: number): Promise<void> {
    await this.send(CMD.TRIM, flags, offset, count, null, null);
  }
  async zero(count: number, offset: bigint, flags: number): Promise<void> {
    await this.send(CMD.WRITE_ZEROES, flags, offset, count, null, null);
  }
  async cache(count: number, offset: bigint, flags: number): Promise<void> {
    await this.send(CMD.CACHE, flags, offset, count, null, null);
  }
  async blockStatus(count: number, offset: bigint, flags: number): Promise<Extent[]> {
    const extents = await this.send(CMD.BLOCK_STATUS, flags, offset, count, null, null);
    if (!extents?.length) throw new NbdError('EIO', 'the upstream server sent no base:allocation extents');
    return extents;
  }

  /** Graceful close: let in-flight requests finish, send NBD_CMD_DISC, close. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.closing) {
      this.closing = true;
      while (this.pending.size && !this.closed) await new Promise((r) => setTimeout(r, 5));
      if (!this.closed) {
        this.socket.write(
          encodeRequestHeader({ flags: 0, type: CMD.DISC, cookieHi: 0, cookieLo: 0, offset: 0n, length: 0 }),
        );
        this.socket.end();
        setTimeout(() => this.socket.destroy(), 2000).unref();
      }
    }
    await new Promise<void>((resolve) => this.onClose(() => resolve()));
  }

  /** Hard close: every request in flight fails with EIO. */
  destroy(reason = 'the upstream connection was closed'): void {
    this.socket.destroy();
    this.teardown(new Error(reason));
  }

  private teardown(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    this.socket.destroy();
    const why = err?.message ?? 'the upstream connection was closed';
    for (const p of this.pending.values()) {
      // The outcome of a request in flight is unknown: a write may or may not have landed.
      p.reject(new NbdError('EIO', `upstream went away with the request in flight: ${why}`));
    }
    this.pending.clear();
    for (const l of this.closeListeners) l(err);
    this.closeListeners = [];
  }

  /** The server broke the protocol: nothing it sends afterwards can be trusted. */
  private protocolError(message: string): void {
    this.destroy(`upstream protocol error: ${message}`);
  }

  // ---- Replies ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.closed) {
      const s = this.state;
      if (s.kind === 'header') {
        pos = this.readHeader(chunk, pos);
      } else if (s.kind === 'data') {
        const n = Math.min(s.remaining, chunk.length - pos);
        if (s.dest) chunk.copy(s.dest, s.pos, pos, pos + n);
        s.pos += n;
        s.remaining -= n;
        pos += n;
        if (s.remaining === 0) {
          this.state = { kind: 'header' };
          if (s.done) this.complete(s.cookie);
        }
      } else {
        const n = Math.min(s.buf.length - s.have, chunk.length - pos);
        chunk.copy(s.buf, s.have, pos, pos + n);
        s.have += n;
        pos += n;
        if (s.have === s.buf.length) {
          this.state = { kind: 'header' };
          this.onChunk(s.type, s.flags, s.cookie, s.buf);
        }
      }
    }
  }

  /** Fill the reply header; when complete, dispatch it. Returns the new position in chunk. */
  private readHeader(chunk: Buffer, pos: number): number {
    const h = this.header;
    if (this.headerHave < 4) {
      const n = Math.min(4 - this.headerHave, chunk.length - pos);
      chunk.copy(h, this.headerHave, pos, pos + n);
      this.headerHave += n;
      pos += n;
      if (this.headerHave < 4) return pos;
    }
    const magic = h.readUInt32BE(0);
    const size =
      magic === SIMPLE_REPLY_MAGIC ? SIMPLE_REPLY_SIZE : magic === STRUCTURED_REPLY_MAGIC ? STRUCTURED_HEADER_SIZE : 0;
    if (!size) {
      this.protocolError(`bad reply magic 0x${magic.toString(16)}`);
      return chunk.length;
    }
    const n = Math.min(size - this.headerHave, chunk.length - pos);
    chunk.copy(h, this.headerHave, pos, pos + n);
    this.headerHave += n;
    pos += n;
    if (this.headerHave < size) return pos;
    this.headerHave = 0;
    if (magic === SIMPLE_REPLY_MAGIC) this.onSimpleReply(h.readUInt32BE(4), this.cookieOf(h));
    else this.onChunkHeader(h.readUInt16BE(4), h.readUInt16BE(6), this.cookieOf(h), h.readUInt32BE(16));
    return pos;
  }

  private cookieOf(h: Buffer): number {
    return h.readUInt32BE(8) === 0 ? h.readUInt32BE(12) : -1;
  }

  private onSimpleReply(error: number, cookie: number): void {
    const p = this.pending.get(cookie);
    if (!p) return this.protocolError(`reply for unknown cookie ${cookie}`);
    if (error) {
      p.error = { errno: errnoFromWire(error), message: '' };
      return this.complete(cookie);
    }
    if (p.type === CMD.READ) {
      if (this.structured) return this.protocolError('simple reply with data to a read after structured replies');
      this.state = { kind: 'data', p, dest: p.buf, pos: 0, remaining: p.length, done: true, cookie };
      return;
    }
    this.complete(cookie);
  }

  private onChunkHeader(flags: number, type: number, cookie: number, length: number): void {
    if (!this.pending.has(cookie)) return this.protocolError(`chunk for unknown cookie ${cookie}`);
    if (length > MAX_CHUNK && type !== REPLY_TYPE.OFFSET_DATA) return this.protocolError(`chunk of ${length} bytes`);
    if (type === REPLY_TYPE.OFFSET_DATA) {
      if (length < 8) return this.protocolError('OFFSET_DATA chunk too short');
      // Read the 8-byte offset first; the data then streams into the destination.
      this.state = { kind: 'payload', type, flags, cookie, buf: Buffer.allocUnsafe(8), have: 0 };
      this.dataLength = length - 8;
      return;
    }
    if (length === 0) return this.onChunk(type, flags, cookie, Buffer.alloc(0));
    this.state = { kind: 'payload', type, flags, cookie, buf: Buffer.allocUnsafe(length), have: 0 };
  }

  /** Data bytes of the OFFSET_DATA chunk whose offset is being read. */
  private dataLength = 0;

  private onChunk(type: number, flags: number, cookie: number, payload: Buffer): void {
    const p = this.pending.get(cookie)!;
    const done = (flags & REPLY_FLAG_DONE) !== 0;
    switch (type) {
      case REPLY_TYPE.OFFSET_DATA: {
        const off = payload.readBigUInt64BE(0);
        const len = this.dataLength;
        const rel = off - p.offset;
        if (p.type !== CMD.READ || rel < 0n || rel + BigInt(len) > BigInt(p.length))
          return this.protocolError('OFFSET_DATA outside the requested range');
        if (len === 0) break;
        this.state = { kind: 'data', p, dest: p.buf, pos: Number(rel), remaining: len, done, cookie };
        return;
      }
      case REPLY_TYPE.OFFSET_HOLE: {
        if (payload.length !== 12 || p.type !== CMD.READ) return this.protocolError('malformed OFFSET_HOLE chunk');
        const rel = payload.readBigUInt64BE(0) - p.offset;
        const len = payload.readUInt32BE(8);
        if (rel < 0n || rel + BigInt(len) > BigInt(p.length))
          return this.protocolError('OFFSET_HOLE outside the requested range');
        p.buf!.fill(0, Number(rel), Number(rel) + len);
        break;
      }
      case REPLY_TYPE.BLOCK_STATUS: {
        if (p.type !== CMD.BLOCK_STATUS) return this.protocolError('BLOCK_STATUS chunk for another command');
        const bs = parseBlockStatusPayload(payload);
        if (bs.contextId === this.allocationContext) p.extents = bs.extents;
        break;
      }
      case REPLY_TYPE.NONE:
        break;
      default:
        if (type & 0x8000) {
          // ERROR, ERROR_OFFSET, and error types we do not know (the spec: treat as errors).
          const e = payload.length >= 6 ? parseErrorPayload(payload) : { error: 5, message: '' };
          p.error ??= { errno: errnoFromWire(e.error), message: e.message };
          break;
        }
        return this.protocolError(`unknown reply chunk type ${type}`);
    }
    if (done) this.complete(cookie);
  }

  private complete(cookie: number): void {
    const p = this.pending.get(cookie);
    if (!p) return;
    this.pending.delete(cookie);
    if (p.error) p.reject(new NbdError(p.error.errno, p.error.message || `upstream: ${p.error.errno}`));
    else p.resolve(p.extents);
  }
}
