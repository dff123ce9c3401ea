// One NBD client: the fixed newstyle handshake, then the transmission loop.
//
// Reading is incremental: socket chunks go into a ByteQueue and complete units (option header,
// option data, request header, write payload) are taken off as they become available. Requests
// run concurrently and reply out of order; in-flight work is capped per connection by pausing
// the socket. Replies go out through one function that corks header and payload together.

import type { Socket } from 'node:net';
import { NbdError, type ConnectionInfo, type Extent, type Next, type RequestContext } from './backends/backend.ts';
import type { EventBus } from './events/event-bus.ts';
import { monotonicUs } from './events/event-bus.ts';
import { BufferPool } from './buffer-pool.ts';
import type { FilterChain } from './filters/filter.ts';
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_ID,
  CMD,
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  INFO,
  MAX_OPTION_LENGTH,
  MAX_OPTIONS,
  MAX_REQUEST_SIZE,
  OPT,
  REP,
  REQUEST_HEADER_SIZE,
  TF,
} from './protocol/constants.ts';
import {
  OptionParseError,
  encodeErrorReply,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeMetaContextData,
  encodeOptionReply,
  encodeServerReplyData,
  parseInfoRequest,
  parseMetaContextRequest,
  parseOptionHeader,
} from './protocol/handshake.ts';
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
} from './protocol/transmission.ts';
import { CMD_FLAG, type Errno, type Op, type RequestEvent } from './shared/types.ts';

/** Per-connection caps: past either, the socket is paused until replies drain. */
const MAX_IN_FLIGHT = 64;
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Advertised block sizes: byte-granular, 4 KiB preferred, 32 MiB maximum payload. */
const BLOCK_MIN = 1;
const BLOCK_PREF = 4096;
const BLOCK_MAX = MAX_REQUEST_SIZE;

const OP_OF_CMD: Record<number, Op> = {
  [CMD.READ]: 'read',
  [CMD.WRITE]: 'write',
  [CMD.TRIM]: 'trim',
  [CMD.WRITE_ZEROES]: 'zero',
  [CMD.FLUSH]: 'flush',
  [CMD.BLOCK_STATUS]: 'extents',
  [CMD.CACHE]: 'cache',
};

/** Socket bytes waiting to be parsed. Takes are zero-copy unless a unit spans chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Take n bytes: a view when they sit in one chunk, else joined into `alloc(n)`. */
  take(n: number, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length === n) {
      this.chunks.shift();
      out = first;
    } else if (first.length > n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    } else {
      out = alloc(n);
      let done = 0;
      while (done < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - done);
        c.copy(out, done, 0, k);
        done += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }

  /** Drop up to n bytes; returns how many were dropped. */
  skip(n: number): number {
    let dropped = 0;
    while (dropped < n && this.chunks.length) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - dropped);
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
      dropped += k;
    }
    this.length -= dropped;
    return dropped;
  }
}

export interface ConnectionOptions {
  socket: Socket;
  id: number;
  diskNumber: number;
  chain: FilterChain;
  bus: EventBus;
  exportName: string;
  description: string;
  readonly: boolean;
  /** Called once when the connection is over (for the server's bookkeeping). */
  onClose: (conn: Connection) => void;
}

type Phase = 'handshake' | 'transmission' | 'closed';

export class Connection {
  readonly info: ConnectionInfo;
  private readonly socket: Socket;
  private readonly top: Next;
  private readonly queue = new ByteQueue();
  private readonly pool = new BufferPool();
  private readonly poolAlloc = (n: number) => this.pool.get(n);
  private readonly abort = new AbortController();
  private readonly ctx: RequestContext;
  private phase: Phase = 'handshake';
  private waiter: (() => void) | null = null;

  // Negotiated state.
  private noZeroes = false;
  private structured = false;
  private metaContext = false;
  private state: ExportState | null = null;

  // Transmission bookkeeping.
  private pendingWrite: RequestHeader | null = null;
  private discardBytes = 0;
  private discardHeader: RequestHeader | null = null;
  private inFlight = 0;
  private inFlightBytes = 0;
  private paused = false;
  private requestId = 0;
  private graceful = false;
  private prepared = false;
  private closing = false;
  private drained: (() => void) | null = null;
  /** Settles when the filters' close hooks have run (the log filter's Disconnect line). */
  private closedHooks: Promise<void> = Promise.resolve();

  constructor(private readonly o: ConnectionOptions) {
    this.socket = o.socket;
    this.top = o.chain.top;
    this.info = { id: o.id, exportName: o.exportName, readonly: o.readonly, tls: false };
    this.ctx = { connection: this.info, signal: this.abort.signal };
    this.socket.setNoDelay?.(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => this.teardown());
    this.socket.on('close', () => this.teardown());
    void this.handshake();
  }

  /** Requests still running. */
  get pending(): number {
    return this.inFlight;
  }

  private log(why: string): void {
    console.error(`blockscope: disk ${this.o.diskNumber}: connection ${this.o.id}: ${why}`);
  }

  /** Hard disconnect with a reason in the server log. */
  drop(why: string): void {
    if (this.phase === 'closed') return;
    this.log(`dropped: ${why}`);
    this.socket.destroy();
    this.teardown();
  }

  /** Server shutdown: wait up to `graceMs` for in-flight requests, then abort the rest. */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.abort.abort();
    this.socket.end();
    this.socket.destroy();
    this.teardown();
    await this.closedHooks;
  }

  private teardown(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.abort.abort();
    this.waiter?.();
    if (this.prepared) this.closedHooks = this.o.chain.close(this.info, this.graceful);
    this.o.onClose(this);
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.queue.push(chunk);
    if (this.phase === 'handshake') {
      const w = this.waiter;
      this.waiter = null;
      w?.();
    } else {
      this.pump();
    }
  }

  // ---- Handshake -------------------------------------------------------------------------

  /** Wait until n bytes are queued (handshake only: a few round trips, promises are fine). */
  private async need(n: number): Promise<Buffer | null> {
    while (this.queue.length < n) {
      if (this.phase === 'closed') return null;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.phase === 'closed' ? null : this.queue.take(n);
  }

  private send(b: Buffer): void {
    if (this.phase !== 'closed') this.socket.write(b);
  }

  private async handshake(): Promise<void> {
    try {
      await this.o.chain.open(this.info);
      this.send(encodeGreeting());
      const cf = await this.need(4);
      if (!cf) return;
      const clientFlags = cf.readUInt32BE(0);
      if (clientFlags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES))
        return this.drop(`unknown client flags 0x${clientFlags.toString(16)}`);
      this.noZeroes = (clientFlags & FLAG_C_NO_ZEROES) !== 0;

      for (let count = 0; ; count++) {
        if (count >= MAX_OPTIONS) return this.drop(`too many options (more than ${MAX_OPTIONS})`);
        const hb = await this.need(16);
        if (!hb) return;
        const header = parseOptionHeader(hb);
        if (!header) return this.drop('bad option magic');
        if (header.length > MAX_OPTION_LENGTH)
          return this.drop(`option ${header.option} too long (${header.length} bytes)`);
        const data = header.length ? await this.need(header.length) : Buffer.alloc(0);
        if (!data) return;
        const done = await this.handleOption(header.option, data);
        if (done === 'abort') {
          this.socket.end();
          return;
        }
        if (done === 'go') break;
        if (done === 'drop') return;
      }
      this.phase = 'transmission';
      this.pump();
    } catch (err) {
      this.drop(`handshake failed: ${(err as Error).message}`);
    }
  }

  private transmissionFlags(): number {
    const t = this.top;
    let f = TF.HAS_FLAGS;
    const ro = this.o.readonly || !t.canWrite();
    if (ro) f |= TF.READ_ONLY;
    if (t.canFlush()) f |= TF.SEND_FLUSH;
    if (t.canFua() > 0) f |= TF.SEND_FUA;
    if (t.isRotational()) f |= TF.ROTATIONAL;
    if (!ro && t.canTrim()) f |= TF.SEND_TRIM;
    if (!ro && t.canZero() > 0) {
      f |= TF.SEND_WRITE_ZEROES;
      if (t.canFastZero()) f |= TF.SEND_FAST_ZERO;
    }
    if (this.structured) f |= TF.SEND_DF;
    if (t.canMultiConn()) f |= TF.CAN_MULTI_CONN;
    if (t.canCache() > 0) f |= TF.SEND_CACHE;
    return f;
  }

  private knownExport(name: string): boolean {
    // The default export ("") always names this disk's single export.
    return name === this.o.exportName || name === '';
  }

  /**
   * Open the export for this client (filters' prepare: the log filter's Connect line). As in
   * nbdkit this happens at the first INFO or GO (or EXPORT_NAME), once per connection.
   */
  private async prepareExport(): Promise<void> {
    if (this.prepared) return;
    this.prepared = true;
    await this.o.chain.prepare(this.info);
  }

  private enterTransmission(): void {
    this.state = {
      size: this.top.getSize(),
      eflags: this.transmissionFlags(),
      structuredReplies: this.structured,
      metaContext: this.metaContext,
    };
  }

  private async handleOption(option: number, data: Buffer): Promise<'next' | 'go' | 'abort' | 'drop'> {
    const reply = (type: number, payload?: Buffer) => this.send(encodeOptionReply(option, type, payload));
    const error = (type: number, msg: string) => this.send(encodeErrorReply(option, type, msg));
    try {
      switch (option) {
        case OPT.EXPORT_NAME: {
          const name = data.toString('utf8');
          if (!this.knownExport(name)) {
            this.drop(`unknown export '${name}'`);
            return 'drop';
          }
          await this.prepareExport();
          this.enterTransmission();
          this.send(encodeExportNameReply(this.state!.size, this.state!.eflags, this.noZeroes));
          return 'go';
        }
        case OPT.ABORT:
          reply(REP.ACK);
          return 'abort';
        case OPT.LIST:
          if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_LIST takes no data');
          else {
            await this.o.chain.listExports(this.info);
            reply(REP.SERVER, encodeServerReplyData(this.o.exportName));
            reply(REP.ACK);
          }
          return 'next';
        case OPT.STARTTLS:
          error(REP.ERR_POLICY, 'TLS is not supported by this server');
          return 'next';
        case OPT.INFO:
        case OPT.GO: {
          const { name, requests } = parseInfoRequest(data);
          if (!this.knownExport(name)) {
            error(REP.ERR_UNKNOWN, `unknown export '${name}'`);
            return 'next';
          }
          await this.prepareExport();
          this.enterTransmission();
          const s = this.state!;
          reply(REP.INFO, encodeInfoExport(s.size, s.eflags));
          for (const r of requests) {
            if (r === INFO.NAME) reply(REP.INFO, encodeInfoString(INFO.NAME, this.o.exportName));
            else if (r === INFO.DESCRIPTION) reply(REP.INFO, encodeInfoString(INFO.DESCRIPTION, this.o.description));
            else if (r === INFO.BLOCK_SIZE) {
              const bs = this.top.blockSize();
              reply(
                REP.INFO,
                encodeInfoBlockSize(bs?.minimum ?? BLOCK_MIN, bs?.preferred ?? BLOCK_PREF, bs?.maximum ?? BLOCK_MAX),
              );
            }
          }
          reply(REP.ACK);
          if (option === OPT.GO) return 'go';
          this.state = null;
          return 'next';
        }
        case OPT.STRUCTURED_REPLY:
          if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
          else {
            this.structured = true;
            reply(REP.ACK);
          }
          return 'next';
        case OPT.LIST_META_CONTEXT:
        case OPT.SET_META_CONTEXT: {
          const set = option === OPT.SET_META_CONTEXT;
          if (set && !this.structured) {
            error(REP.ERR_INVALID, 'structured replies must be negotiated first');
            return 'next';
          }
          const { name, queries } = parseMetaContextRequest(data);
          if (set) this.metaContext = false;
          if (!this.knownExport(name)) {
            error(REP.ERR_UNKNOWN, `unknown export '${name}'`);
            return 'next';
          }
          const match = (!set && queries.length === 0) || queries.some((q) => q === BASE_ALLOCATION || q === 'base:');
          if (match && this.top.canExtents()) {
            reply(REP.META_CONTEXT, encodeMetaContextData(set ? BASE_ALLOCATION_ID : 0, BASE_ALLOCATION));
            if (set) this.metaContext = true;
          }
          reply(REP.ACK);
          return 'next';
        }
        default:
          error(REP.ERR_UNSUP, `option ${option} is not supported`);
          return 'next';
      }
    } catch (err) {
      if (err instanceof OptionParseError) {
        error(REP.ERR_INVALID, err.message);
        return 'next';
      }
      throw err;
    }
  }

  // ---- Transmission ----------------------------------------------------------------------

  /** Parse and start every complete request in the queue. */
  private pump(): void {
    while (this.phase === 'transmission') {
      if (this.discardBytes > 0) {
        this.discardBytes -= this.queue.skip(this.discardBytes);
        if (this.discardBytes > 0) return;
        const h = this.discardHeader!;
        this.discardHeader = null;
        this.rejectOversize(h);
        continue;
      }
      if (this.pendingWrite) {
        const h = this.pendingWrite;
        if (this.queue.length < h.length) return;
        this.pendingWrite = null;
        this.start(h, this.queue.take(h.length, this.poolAlloc));
        continue;
      }
      if (this.paused) return;
      if (this.queue.length < REQUEST_HEADER_SIZE) return;
      const h = parseRequestHeader(this.queue.take(REQUEST_HEADER_SIZE));
      if (!h) return this.drop('bad request magic');
      if (h.type === CMD.DISC) {
        this.graceful = true;
        this.closing = true;
        if (this.inFlight === 0) this.socket.end();
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
    if (this.o.bus.size === 0) return null;
    const ev: RequestEvent = {
      disk: this.o.diskNumber,
      connection: this.o.id,
      id,
      op: OP_OF_CMD[h.type] ?? 'read',
      offset: h.offset,
      length: h.length,
      flags: h.flags,
      startUs: monotonicUs(),
      endUs: 0,
      error: null,
    };
    this.o.bus.emit('start', ev);
    return ev;
  }

  private start(h: RequestHeader, payload: Buffer | null): void {
    const ev = this.makeEvent(h);
    const invalid = validateRequest(h, this.state!);
    if (invalid) {
      this.finish(h, ev, invalid, null, `request rejected: ${invalid}`);
      return;
    }
    this.inFlight++;
    const bytes = h.type === CMD.READ || h.type === CMD.WRITE ? h.length : 0;
    this.inFlightBytes += bytes;
    if (!this.paused && (this.inFlight >= MAX_IN_FLIGHT || this.inFlightBytes >= MAX_IN_FLIGHT_BYTES)) {
      this.paused = true;
      this.socket.pause();
    }
    this.execute(h, payload).then(
      (result) => this.complete(h, ev, bytes, null, result),
      (err) => this.complete(h, ev, bytes, err, null),
    );
  }

  private execute(h: RequestHeader, payload: Buffer | null): Promise<Buffer | Extent[] | null> {
    const t = this.top;
    const c = this.ctx;
    switch (h.type) {
      case CMD.READ: {
        const buf = this.pool.get(h.length);
        return t.pread(buf, h.offset, h.flags, c).then(
          () => buf,
          (err) => {
            this.pool.put(buf);
            throw err;
          },
        );
      }
      case CMD.WRITE: {
        // The backend has copied the payload once pwrite settles: the buffer can be reused.
        const release = () => this.pool.put(payload!);
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

  private complete(
    h: RequestHeader,
    ev: RequestEvent | null,
    bytes: number,
    err: unknown,
    result: Buffer | Extent[] | null,
  ): void {
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
        this.log(`request failed unexpectedly: ${message}`);
      }
    }
    this.finish(h, ev, errno, result, message);
    if (this.paused && this.inFlight < MAX_IN_FLIGHT / 2 && this.inFlightBytes < MAX_IN_FLIGHT_BYTES / 2) {
      this.paused = false;
      if (this.phase === 'transmission') {
        this.socket.resume();
        this.pump();
      }
    }
    if (this.inFlight === 0) {
      this.drained?.();
      if (this.closing && this.graceful && this.phase === 'transmission') this.socket.end();
    }
  }

  /** Send the reply (if the client is still there) and publish the end event. */
  private finish(
    h: RequestHeader,
    ev: RequestEvent | null,
    errno: Errno | null,
    result: Buffer | Extent[] | null,
    message: string,
  ): void {
    if (this.phase !== 'closed' && !this.socket.destroyed) {
      if (errno) this.replyError(h, errno, message);
      else this.replyOk(h, result);
    }
    if (ev) {
      ev.endUs = monotonicUs();
      ev.error = errno;
      this.o.bus.emit('end', ev);
    }
  }

  private replyError(h: RequestHeader, errno: Errno, message: string): void {
    const code = wireError(errno, h.flags);
    if (this.structured) this.socket.write(encodeStructuredError(h, code, message || errno));
    else this.socket.write(encodeSimpleReply(code, h));
  }

  private replyOk(h: RequestHeader, result: Buffer | Extent[] | null): void {
    const s = this.socket;
    if (h.type === CMD.READ) {
      const data = result as Buffer;
      s.cork();
      s.write(this.structured ? encodeOffsetDataHeader(h, data.length) : encodeSimpleReply(0, h));
      // Back to the pool once the socket no longer needs it.
      s.write(data, () => this.pool.put(data));
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
