// The transmission phase (NBD spec §Transmission), as nbdkit's protocol.c: parse each request
// from the byte queue, validate it, run it through the filter stack, reply (reply-writer.ts).
// Requests run concurrently and reply out of order.
//
// Flow control, per connection, pull-based (like aedes): the socket is paused while too many
// requests run, too many payload bytes are held (running requests plus read replies not yet
// handed to the kernel), or too many reply bytes wait in the socket. A client that never reads
// its replies therefore stops being read itself (as nbdkit), instead of growing our memory.
// A write's payload is always read to its end before the socket pauses: a client blocked
// sending it may not read replies until it is done, so pausing mid-payload could deadlock both.
//
// Reads have a window of their own, MAX_READ_BYTES: a read that would take the connection's read
// data (reads running plus replies not yet taken by the kernel) past it waits, and so does every
// request after it, in order, until replies leave. The socket is not paused for it: a client may
// be blocked sending a write while our read replies wait for it (nbd-tester-client's huge traces).
// A RAM disk answers a read at once, so without the window a sequential reader's whole pipeline
// (64 replies of 256 KiB per connection) sat in our memory waiting for the kernel: 64 MiB of
// buffers going round instead of a few. With 4 connections the first read of 1 GiB after start
// took 1.15 s instead of 0.92 s (docs/performance.md, "The read window").
//
// A turn of the event loop parses requests for at most a few ms, counting every connection of
// the thread (turn-budget.ts); past that a connection pauses and goes on in a later turn.

import type { Socket } from 'node:net';
import { NbdError, type LentData, type Next, type RequestContext } from '../backends/backend.ts';
import { monotonicUs, type EventBus } from '../events/event-bus.ts';
import { CMD, MAX_REQUEST_SIZE, REQUEST_HEADER_SIZE } from '../protocol/constants.ts';
import { checkRequest, parseRequestHeader, type ExportState, type RequestHeader } from '../protocol/transmission.ts';
import type { Errno, Op, RequestEvent } from '../shared/types.ts';
import { MAX_POOLED_BYTES, type BufferPool } from './buffer-pool.ts';
import type { ByteQueue } from './byte-queue.ts';
import { ReplyWriter, type Result } from './reply-writer.ts';
import { turnBudget } from './turn-budget.ts';

/** Requests running at once. */
const MAX_IN_FLIGHT = 64;
/** Payload bytes held: requests running plus read data not yet flushed to the kernel (the pool can take them all back). */
const MAX_HELD_BYTES = MAX_POOLED_BYTES;
/** Read data at once: reads running plus their replies not yet flushed (see the top of the file). */
const MAX_READ_BYTES = 4 * 1024 * 1024;
/**
 * Reads from this size on are lent rather than copied (Next.lend). Below it the copy costs less
 * than lending's bookkeeping: 4 KiB random reads at QD16 lost ~2 % lent (docs/performance.md).
 */
const MIN_LENT_READ = 32 * 1024;
/** Reply bytes queued in the socket (small replies to a client that does not read them). */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

const OP_OF_CMD: Record<number, Op> = {
  [CMD.READ]: 'read',
  [CMD.WRITE]: 'write',
  [CMD.TRIM]: 'trim',
  [CMD.WRITE_ZEROES]: 'zero',
  [CMD.FLUSH]: 'flush',
  [CMD.BLOCK_STATUS]: 'extents',
  [CMD.CACHE]: 'cache',
};

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
  /** Cancel the requests running (their waits in filters fail with ESHUTDOWN). */
  abortRequests(): void;
  log(why: string): void;
  /** Last-resort guard: an exception in one of our callbacks ends this connection only. */
  crash(err: unknown): void;
}

/** A write whose payload is still arriving: filled in place as bytes come. */
interface PartialWrite {
  h: RequestHeader;
  buf: Buffer;
  filled: number;
}

export class TransmissionLoop {
  private partial: PartialWrite | null = null;
  private discardBytes = 0;
  private discardHeader: RequestHeader | null = null;
  private inFlight = 0;
  private heldBytes = 0;
  /**
   * Read data handed to the socket and not yet flushed: part of both heldBytes and the socket's
   * writableLength. Only the rest of writableLength (small replies) counts against
   * MAX_UNSENT_BYTES: a big read reply the client is not reading yet must not stop us from
   * reading the write it is sending meanwhile (it reads replies once that is out, as
   * nbd-tester-client does); readBytes bounds the read data.
   */
  private queuedReadBytes = 0;
  /** Reads running plus read data not yet flushed (part of heldBytes): the read window. */
  private readBytes = 0;
  /** Parsed requests not started, behind a read waiting for the read window (in arrival order). */
  private waiting: Array<{ h: RequestHeader; payload: Buffer | null }> = [];
  /** A reply could not be written: the client is gone even if the socket is not destroyed yet. */
  private writeFailed = false;
  /** Over a limit: no new request is started (the socket pauses at the next request boundary). */
  private paused = false;
  /** This turn's request budget is spent (turn-budget.ts): parsing goes on in a later turn. */
  private deferred = false;
  private socketPaused = false;
  private requestId = 0;
  /** The client sent NBD_CMD_DISC (nbdkit's log says so; the delay filter's close delay). */
  graceful = false;
  /** No new requests: close once the in-flight ones have replied. */
  private closing = false;
  /** The client shut its side: nothing more will arrive after what is queued. */
  private inputDone = false;
  /** Called once no request is running (waitDrained). */
  private drainWaiters: Array<() => void> = [];
  private readonly poolAlloc: (n: number) => Buffer;
  private readonly replies: ReplyWriter;

  constructor(private readonly h: TransmissionHost) {
    this.poolAlloc = (n) => h.pool.get(n);
    this.replies = new ReplyWriter(h.socket, h.structured, (bytes, failed) =>
      this.guarded(() => {
        // A failed write means the socket is going away (Node calls back before it is destroyed).
        if (failed) this.writeFailed = true;
        this.heldBytes -= bytes;
        this.queuedReadBytes -= bytes;
        this.readBytes -= bytes;
        this.startWaiting();
        this.maybeResume();
        // The last request may have left just now (a waiting one refused as it started).
        this.endWhenIdle();
      }),
    );
    h.socket.on('drain', () => this.guarded(() => this.maybeResume()));
  }

  /** Requests still running or waiting to start. */
  get pending(): number {
    return this.inFlight + this.waiting.length;
  }

  /**
   * Resolves when no request is running (or after `graceMs`). Unsent replies are not waited for,
   * nor requests waiting for the read window (they need those replies to leave first).
   */
  waitDrained(graceMs = Infinity): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = Number.isFinite(graceMs) ? setTimeout(resolve, graceMs) : null;
      this.drainWaiters.push(() => {
        if (t) clearTimeout(t);
        resolve();
      });
    });
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.h.crash(err);
    }
  }

  /** The client shut its side (connection.ts): parse what it sent before deciding how to end. */
  inputEnded(): void {
    this.inputDone = true;
    this.pump();
    // After NBD_CMD_DISC pump() parses nothing more: nothing may be left running by now.
    this.endWhenIdle();
  }

  /**
   * Everything the client sent is parsed. After an NBD_CMD_DISC the graceful path ends our side
   * once every request has replied. Without one the client left, or shut its side, without
   * saying so: its running requests are cancelled (ESHUTDOWN, as nbdkit's sleeping filters
   * answer them), answered if it still reads, and our side ends after them.
   */
  private parsedAll(): void {
    if (!this.inputDone || this.graceful || this.closing) return;
    this.closing = true;
    this.h.abortRequests();
    this.endWhenIdle();
  }

  /** Close our side once nothing runs: after NBD_CMD_DISC, or when the client shut its side. */
  private endWhenIdle(): void {
    if (this.pending > 0 || !this.closing || !(this.graceful || this.inputDone)) return;
    if (this.h.isOpen() && !this.h.socket.writableEnded) this.h.socket.end();
  }

  /** Parse and start every complete request in the queue. */
  pump(): void {
    const { queue } = this.h;
    // Once a reply could not be written the client is gone: what it sent last is not run.
    while (this.h.isOpen() && !this.writeFailed) {
      if (this.discardBytes > 0) {
        this.discardBytes -= queue.skip(this.discardBytes);
        if (this.discardBytes > 0) return this.parsedAll();
        const h = this.discardHeader!;
        this.discardHeader = null;
        this.syncSocket();
        this.rejectOversize(h);
        continue;
      }
      if (this.partial) {
        const p = this.partial;
        p.filled += queue.takeInto(p.buf, p.filled, p.buf.length - p.filled);
        if (p.filled < p.buf.length) return this.parsedAll();
        this.partial = null;
        this.syncSocket();
        this.admit(p.h, p.buf);
        continue;
      }
      if (this.paused || this.closing || this.deferred) return;
      if (queue.length < REQUEST_HEADER_SIZE) return this.parsedAll();
      if (turnBudget.spent()) return this.defer();
      const h = parseRequestHeader(queue.take(REQUEST_HEADER_SIZE));
      if (!h) return this.h.drop('bad request magic');
      if (h.type === CMD.DISC) {
        this.graceful = true;
        this.closing = true;
        this.endWhenIdle();
        return;
      }
      if (h.type === CMD.WRITE) {
        if (h.length > MAX_REQUEST_SIZE) {
          // Never buffer an oversize payload: skip it as it arrives, then reply EINVAL.
          this.discardBytes = h.length;
          this.discardHeader = h;
        } else if (queue.length >= h.length) {
          // Whole payload here (the common case): a view when it sits in one chunk.
          this.admit(h, queue.take(h.length, this.poolAlloc));
        } else {
          this.partial = { h, buf: this.poolAlloc(h.length), filled: 0 };
        }
        continue;
      }
      this.admit(h, null);
    }
  }

  /** Start a parsed request now, or queue it behind a read waiting for the read window. */
  private admit(h: RequestHeader, payload: Buffer | null): void {
    if (this.waiting.length === 0 && !this.overReadWindow(h)) return this.start(h, payload);
    this.waiting.push({ h, payload });
    this.heldBytes += payload?.length ?? 0;
    this.maybePause();
  }

  /** A read that would take the read data past the window (one read alone always fits). */
  private overReadWindow(h: RequestHeader): boolean {
    return h.type === CMD.READ && this.readBytes > 0 && this.readBytes + h.length > MAX_READ_BYTES;
  }

  private startWaiting(): void {
    if (this.waiting.length > 0 && !this.canReply()) {
      // The client is gone: requests that never started are dropped, not run for nobody.
      for (const { payload } of this.waiting.splice(0)) {
        this.heldBytes -= payload?.length ?? 0;
        if (payload) this.h.pool.put(payload);
      }
      return;
    }
    while (this.waiting.length > 0 && !this.overReadWindow(this.waiting[0].h)) {
      const { h, payload } = this.waiting.shift()!;
      this.heldBytes -= payload?.length ?? 0; // start() counts it again
      this.start(h, payload);
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
      recordStart: -1,
    };
    this.h.bus.emit('start', ev);
    return ev;
  }

  private start(h: RequestHeader, payload: Buffer | null): void {
    const ev = this.makeEvent(h);
    const rejected = checkRequest(h, this.h.state);
    if (rejected) {
      if (payload) this.h.pool.put(payload);
      this.finish(h, ev, rejected.errno, null, `request rejected: ${rejected.why}`);
      return;
    }
    this.inFlight++;
    const bytes = h.type === CMD.READ || h.type === CMD.WRITE ? h.length : 0;
    this.heldBytes += bytes;
    if (h.type === CMD.READ) this.readBytes += bytes;
    this.maybePause();
    this.execute(h, payload)
      .then(
        (result) => this.complete(h, ev, bytes, null, result),
        (err: unknown) => this.complete(h, ev, bytes, err, null),
      )
      .catch((err: unknown) => this.h.crash(err));
  }

  private execute(h: RequestHeader, payload: Buffer | null): Promise<Result> {
    const { top: t, ctx: c, pool } = this.h;
    switch (h.type) {
      case CMD.READ: {
        // The stack's own memory when it lends it (the memory backend), else a pooled buffer.
        if (t.lend && h.length >= MIN_LENT_READ) return t.lend(h.length, h.offset, h.flags, c);
        const buf = pool.get(h.length);
        return t.pread(buf, h.offset, h.flags, c).then(
          (): LentData => ({ buffers: [buf], release: () => pool.put(buf) }),
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
    // A successful read's bytes stay held until its data is flushed (ReplyWriter's callback).
    const readData = !errno && h.type === CMD.READ;
    if (!readData || !this.canReply()) {
      this.heldBytes -= bytes;
      if (h.type === CMD.READ) this.readBytes -= bytes;
      if (readData) (result as LentData).release();
    } else this.queuedReadBytes += bytes;
    this.finish(h, ev, errno, result, message);
    this.startWaiting();
    this.maybeResume();
    if (this.inFlight === 0) for (const w of this.drainWaiters.splice(0)) w();
    this.endWhenIdle();
  }

  private maybePause(): void {
    if (this.paused) return;
    if (
      this.pending >= MAX_IN_FLIGHT ||
      this.heldBytes >= MAX_HELD_BYTES ||
      this.h.socket.writableLength - this.queuedReadBytes >= MAX_UNSENT_BYTES
    ) {
      this.paused = true;
      this.syncSocket();
    }
  }

  /** Parse the rest in a later turn; the socket waits too (its bytes would only pile up). */
  private defer(): void {
    this.deferred = true;
    this.syncSocket();
    turnBudget.later(() =>
      this.guarded(() => {
        this.deferred = false;
        this.syncSocket();
        this.pump();
      }),
    );
  }

  /** Stop reading while paused or deferred, except in the middle of a payload (see the top of the file). */
  private syncSocket(): void {
    const stop = (this.paused || this.deferred) && !this.partial && this.discardBytes === 0;
    if (stop === this.socketPaused || !this.h.isOpen()) return;
    this.socketPaused = stop;
    if (stop) this.h.socket.pause();
    else this.h.socket.resume();
  }

  /** Resume reading at half the limits (hysteresis: no pause/resume on every reply). */
  private maybeResume(): void {
    if (!this.paused || !this.h.isOpen()) return;
    if (
      this.pending < MAX_IN_FLIGHT / 2 &&
      this.heldBytes < MAX_HELD_BYTES / 2 &&
      this.h.socket.writableLength - this.queuedReadBytes < MAX_UNSENT_BYTES / 2
    ) {
      this.paused = false;
      this.syncSocket();
      this.pump();
    }
  }

  private canReply(): boolean {
    return !this.writeFailed && this.h.isOpen() && !this.h.socket.destroyed;
  }

  /** Send the reply (if the client is still there) and publish the end event. */
  private finish(
    h: RequestHeader,
    ev: RequestEvent | null,
    errno: Errno | null,
    result: Result,
    message: string,
  ): void {
    if (this.canReply()) {
      if (errno) this.replies.error(h, errno, message);
      else this.replies.ok(h, result);
      this.maybePause();
    }
    if (ev) {
      ev.endUs = monotonicUs();
      ev.error = errno;
      // Failed because the client went away (its waits were aborted): no client saw this error.
      if (errno && this.h.ctx.signal.aborted) ev.cancelled = true;
      this.h.bus.emit('end', ev);
    }
  }
}
