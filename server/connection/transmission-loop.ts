// The transmission phase (NBD spec §Transmission), as nbdkit's protocol.c: parse each request
// from the byte queue, validate it, run it through the filter stack, reply. Requests run
// concurrently and reply out of order; in-flight work is capped per connection by pausing the
// socket (pull-based, like aedes). Replies go out through one place that corks header and
// payload together, never concatenating them.

import type { Socket } from 'node:net';
import { NbdError, type Extent, type Next, type RequestContext } from '../backends/backend.ts';
import { monotonicUs, type EventBus } from '../events/event-bus.ts';
import { BASE_ALLOCATION_ID, CMD, MAX_REQUEST_SIZE, REQUEST_HEADER_SIZE } from '../protocol/constants.ts';
import {
  encodeBlockStatus,
  encodeOffsetDataHeader,
  encodeSimpleReply,
  encodeStructuredError,
  parseRequestHeader,
  validateRequest,
  wireError,
  type ExportState,
  type RequestHeader,
} from '../protocol/transmission.ts';
import { CMD_FLAG, type Errno, type Op, type RequestEvent } from '../shared/types.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { ByteQueue } from './byte-queue.ts';

/** Per-connection caps: past either, the socket is paused until replies drain. */
const MAX_IN_FLIGHT = 64;
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

const OP_OF_CMD: Record<number, Op> = {
  [CMD.READ]: 'read',
  [CMD.WRITE]: 'write',
  [CMD.TRIM]: 'trim',
  [CMD.WRITE_ZEROES]: 'zero',
  [CMD.FLUSH]: 'flush',
  [CMD.BLOCK_STATUS]: 'extents',
  [CMD.CACHE]: 'cache',
};

type Result = Buffer | Extent[] | null;

/** What the connection lends the loop. */
export interface TransmissionHost {
  readonly socket: Socket;
  readonly queue: ByteQueue;
  readonly pool: BufferPool;
  readonly bus: EventBus;
  readonly diskNumber: number;
  readonly connectionId: number;
  readonly top: Next;
  readonly ctx: RequestContext;
  readonly state: ExportState;
  readonly structured: boolean;
  /** False once the connection is closed: no more replies or parsing. */
  isOpen(): boolean;
  drop(why: string): void;
  log(why: string): void;
}

export class TransmissionLoop {
  private pendingWrite: RequestHeader | null = null;
  private discardBytes = 0;
  private discardHeader: RequestHeader | null = null;
  private inFlight = 0;
  private inFlightBytes = 0;
  private paused = false;
  private requestId = 0;
  /** The client sent NBD_CMD_DISC (nbdkit's log says so; the delay filter's close delay). */
  graceful = false;
  /** No new requests: close once the in-flight ones have replied. */
  private closing = false;
  private drained: (() => void) | null = null;
  private readonly poolAlloc: (n: number) => Buffer;

  constructor(private readonly h: TransmissionHost) {
    this.poolAlloc = (n) => h.pool.get(n);
  }

  /** Requests still running. */
  get pending(): number {
    return this.inFlight;
  }

  /** Resolves when no request is in flight (or after `graceMs`). */
  waitDrained(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, graceMs);
      this.drained = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Parse and start every complete request in the queue. */
  pump(): void {
    const { queue } = this.h;
    while (this.h.isOpen()) {
      if (this.discardBytes > 0) {
        this.discardBytes -= queue.skip(this.discardBytes);
        if (this.discardBytes > 0) return;
        const h = this.discardHeader!;
        this.discardHeader = null;
        this.rejectOversize(h);
        continue;
      }
      if (this.pendingWrite) {
        const h = this.pendingWrite;
        if (queue.length < h.length) return;
        this.pendingWrite = null;
        this.start(h, queue.take(h.length, this.poolAlloc));
        continue;
      }
      if (this.paused || this.closing) return;
      if (queue.length < REQUEST_HEADER_SIZE) return;
      const h = parseRequestHeader(queue.take(REQUEST_HEADER_SIZE));
      if (!h) return this.h.drop('bad request magic');
      if (h.type === CMD.DISC) {
        this.graceful = true;
        this.closing = true;
        if (this.inFlight === 0) this.h.socket.end();
        return;
      }
      if (h.type === CMD.WRITE) {
        if (h.length > MAX_REQUEST_SIZE) {
          // Never buffer an oversize payload: skip it as it arrives, then reply EINVAL.
          this.discardBytes = h.length;
          this.discardHeader = h;
          continue;
        }
        this.pendingWrite = h;
        continue;
      }
      this.start(h, null);
    }
  }

  private rejectOversize(h: RequestHeader): void {
    const ev = this.makeEvent(h);
    this.finish(h, ev, 'EINVAL', null, `write of ${h.length} bytes exceeds the ${MAX_REQUEST_SIZE}-byte limit`);
  }

  private makeEvent(h: RequestHeader): RequestEvent | null {
    const id = ++this.requestId;
    if (this.h.bus.size === 0) return null;
    const ev: RequestEvent = {
      disk: this.h.diskNumber,
      connection: this.h.connectionId,
      id,
      op: OP_OF_CMD[h.type] ?? 'read',
      offset: h.offset,
      length: h.length,
      flags: h.flags,
      startUs: monotonicUs(),
      endUs: 0,
      error: null,
    };
    this.h.bus.emit('start', ev);
    return ev;
  }

  private start(h: RequestHeader, payload: Buffer | null): void {
    const ev = this.makeEvent(h);
    const invalid = validateRequest(h, this.h.state);
    if (invalid) {
      this.finish(h, ev, invalid, null, `request rejected: ${invalid}`);
      return;
    }
    this.inFlight++;
    const bytes = h.type === CMD.READ || h.type === CMD.WRITE ? h.length : 0;
    this.inFlightBytes += bytes;
    if (!this.paused && (this.inFlight >= MAX_IN_FLIGHT || this.inFlightBytes >= MAX_IN_FLIGHT_BYTES)) {
      this.paused = true;
      this.h.socket.pause();
    }
    this.execute(h, payload).then(
      (result) => this.complete(h, ev, bytes, null, result),
      (err) => this.complete(h, ev, bytes, err, null),
    );
  }

  private execute(h: RequestHeader, payload: Buffer | null): Promise<Result> {
    const { top: t, ctx: c, pool } = this.h;
    switch (h.type) {
      case CMD.READ: {
        const buf = pool.get(h.length);
        return t.pread(buf, h.offset, h.flags, c).then(
          () => buf,
          (err) => {
            pool.put(buf);
            throw err;
          },
        );
      }
      case CMD.WRITE: {
        // The backend has copied the payload once pwrite settles: the buffer can be reused.
        const release = () => pool.put(payload!);
        return t.pwrite(payload!, h.offset, h.flags, c).then(
          () => (release(), null),
          (err) => {
            release();
            throw err;
          },
        );
      }
      case CMD.FLUSH:
        return t.flush(h.flags, c).then(() => null);
      case CMD.TRIM:
        return t.trim(h.length, h.offset, h.flags, c).then(() => null);
      case CMD.WRITE_ZEROES:
        return t.zero(h.length, h.offset, h.flags, c).then(() => null);
      case CMD.CACHE:
        return t.cache(h.length, h.offset, h.flags, c).then(() => null);
      case CMD.BLOCK_STATUS:
        return t.extents(h.length, h.offset, h.flags, c);
      default:
        return Promise.reject(new NbdError('EINVAL'));
    }
  }

  private complete(h: RequestHeader, ev: RequestEvent | null, bytes: number, err: unknown, result: Result): void {
    this.inFlight--;
    this.inFlightBytes -= bytes;
    let errno: Errno | null = null;
    let message = '';
    if (err) {
      if (err instanceof NbdError) {
        errno = err.errno;
        message = err.message;
      } else {
        errno = 'EIO';
        message = (err as Error)?.message ?? String(err);
        this.h.log(`request failed unexpectedly: ${message}`);
      }
    }
    this.finish(h, ev, errno, result, message);
    if (this.paused && this.inFlight < MAX_IN_FLIGHT / 2 && this.inFlightBytes < MAX_IN_FLIGHT_BYTES / 2) {
      this.paused = false;
      if (this.h.isOpen()) {
        this.h.socket.resume();
        this.pump();
      }
    }
    if (this.inFlight === 0) {
      this.drained?.();
      if (this.closing && this.graceful && this.h.isOpen()) this.h.socket.end();
    }
  }

  /** Send the reply (if the client is still there) and publish the end event. */
  private finish(
    h: RequestHeader,
    ev: RequestEvent | null,
    errno: Errno | null,
    result: Result,
    message: string,
  ): void {
    if (this.h.isOpen() && !this.h.socket.destroyed) {
      if (errno) this.replyError(h, errno, message);
      else this.replyOk(h, result);
    }
    if (ev) {
      ev.endUs = monotonicUs();
      ev.error = errno;
      this.h.bus.emit('end', ev);
    }
  }

  private replyError(h: RequestHeader, errno: Errno, message: string): void {
    const code = wireError(errno, h.flags);
    if (this.h.structured) this.h.socket.write(encodeStructuredError(h, code, message || errno));
    else this.h.socket.write(encodeSimpleReply(code, h));
  }

  private replyOk(h: RequestHeader, result: Result): void {
    const s = this.h.socket;
    if (h.type === CMD.READ) {
      const data = result as Buffer;
      s.cork();
      s.write(this.h.structured ? encodeOffsetDataHeader(h, data.length) : encodeSimpleReply(0, h));
      // Back to the pool once the socket no longer needs it.
      s.write(data, () => this.h.pool.put(data));
      process.nextTick(() => s.uncork());
      return;
    }
    if (h.type === CMD.BLOCK_STATUS) {
      s.write(encodeBlockStatus(h, BASE_ALLOCATION_ID, result as Extent[], (h.flags & CMD_FLAG.REQ_ONE) !== 0));
      return;
    }
    // A simple reply is allowed for replies without payload even when structured replies are on.
    s.write(encodeSimpleReply(0, h));
  }
}
