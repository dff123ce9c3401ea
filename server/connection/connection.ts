// One NBD client on one disk: owns the socket and its lifecycle, runs the handshake
// (negotiation.ts, with the TLS upgrade of tls.ts), then the transmission loop
// (transmission-loop.ts). Socket bytes go into a ByteQueue that both phases take complete units
// from. Every entry point from the socket is guarded: whatever a client sends, and whatever bug
// it finds, ends at most this connection, never the process.

import type { Socket } from 'node:net';
import type { ConnectionInfo, RequestContext } from '../backends/backend.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { FilterChain } from '../filters/filter.ts';
import { MAX_OPTION_LENGTH } from '../protocol/constants.ts';
import { BufferPool } from './buffer-pool.ts';
import { ByteQueue } from './byte-queue.ts';
import { negotiate, type NegotiationHost } from './negotiation.ts';
import type { TlsServerConfig } from './tls.ts';
import { TransmissionLoop } from './transmission-loop.ts';

/** After a drop, how long the client has to close its side before its socket is destroyed. */
const DROP_LINGER_MS = 1000;
/** During the handshake the socket is paused once this much is queued (an option plus slack). */
const HANDSHAKE_QUEUE_LIMIT = MAX_OPTION_LENGTH + 64 * 1024;

export interface ConnectionOptions {
  socket: Socket;
  id: number;
  diskNumber: number;
  chain: FilterChain;
  bus: EventBus;
  exportName: string;
  description: string;
  readonly: boolean;
  /** TLS credentials (--tls=on|require), or null for --tls=off. */
  tls: TlsServerConfig | null;
  /** A client still negotiating after this long is dropped; 0 = no limit. */
  handshakeTimeoutMs: number;
  /** False: refuse NBD_OPT_STRUCTURED_REPLY (nbdkit's --no-sr). */
  structuredReplies: boolean;
  /** Called once when the connection is over (for the server's bookkeeping). */
  onClose: (conn: Connection) => void;
}

type Phase = 'handshake' | 'transmission' | 'closed';

export class Connection {
  readonly info: ConnectionInfo;
  /** The client's socket; a TLSSocket over it after STARTTLS. */
  private socket: Socket;
  private readonly queue = new ByteQueue();
  private readonly pool = new BufferPool();
  private readonly abort = new AbortController();
  private readonly ctx: RequestContext;
  private phase: Phase = 'handshake';
  /** The handshake waiting for more bytes. */
  private waiter: (() => void) | null = null;
  private loop: TransmissionLoop | null = null;
  private prepared = false;
  private handshakeTimer: NodeJS.Timeout | null = null;
  /** Settles when the filters' close hooks have run (the log filter's Disconnect line). */
  private closedHooks: Promise<void> = Promise.resolve();
  private readonly onSocketData = (chunk: Buffer) => this.guard(() => this.onData(chunk));
  private readonly onSocketEnd = () => this.guard(() => this.teardown());
  /**
   * The client shut its side (FIN). In transmission the loop decides once it has parsed what
   * came before: after an NBD_CMD_DISC it answers every request first (the spec's MUST), else
   * the client left without one and the connection ends as before. In the handshake it ends.
   */
  private readonly onSocketReadEnd = () =>
    this.guard(() => {
      if (this.phase === 'transmission') this.loop!.inputEnded();
      else if (!this.socket.writableEnded) this.socket.end();
    });

  constructor(private readonly o: ConnectionOptions) {
    this.socket = o.socket;
    this.info = { id: o.id, exportName: o.exportName, readonly: o.readonly, tls: false };
    this.ctx = { connection: this.info, signal: this.abort.signal };
    this.socket.setNoDelay?.(true);
    this.listen(this.socket);
    if (o.handshakeTimeoutMs > 0) {
      this.handshakeTimer = setTimeout(
        () => this.drop(`handshake not finished after ${o.handshakeTimeoutMs / 1000} s`),
        o.handshakeTimeoutMs,
      );
    }
    void this.handshake();
  }

  /** Requests still running. */
  get pending(): number {
    return this.loop?.pending ?? 0;
  }

  private listen(s: Socket): void {
    s.on('data', this.onSocketData);
    s.on('end', this.onSocketReadEnd);
    s.on('error', this.onSocketEnd);
    s.on('close', this.onSocketEnd);
  }

  private log(why: string): void {
    console.error(`blockscope: disk ${this.o.diskNumber}: connection ${this.o.id}: ${why}`);
  }

  /** Run a socket callback; an exception drops this connection (logged) instead of the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.crash(err);
    }
  }

  /** The last-resort guard: log the bug with its stack, drop only this client. */
  private crash(err: unknown): void {
    try {
      this.drop(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    } catch {
      this.socket.destroy();
    }
  }

  /**
   * Hard disconnect with a reason in the server log. The replies already written still reach
   * the client: its socket is ended (FIN after them), and what the client still sends is read
   * and discarded until it closes, or for DROP_LINGER_MS. Destroyed at once, a socket with
   * bytes unread resets the connection, and a client that writes one more request gets EPIPE: a
   * Node client then closed without reading the replies waiting for it.
   */
  drop(why: string): void {
    if (this.phase === 'closed') return;
    this.log(`dropped: ${why}`);
    this.teardown();
    const destroy = () => {
      this.socket.destroy();
      this.o.socket.destroy();
    };
    if (this.socket.destroyed) return destroy();
    const timer = setTimeout(destroy, DROP_LINGER_MS);
    this.socket.once('close', () => {
      clearTimeout(timer);
      destroy();
    });
    this.socket.end();
    this.socket.resume();
  }

  /** Server shutdown: wait up to `graceMs` for running requests (not for unread replies), then abort the rest. */
  async shutdown(graceMs: number): Promise<void> {
    await this.loop?.waitDrained(graceMs);
    this.abort.abort();
    this.socket.end();
    this.socket.destroy();
    this.o.socket.destroy();
    this.teardown();
    await this.closedHooks;
  }

  private teardown(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    // After NBD_CMD_DISC the requests sent before it run to their end even if the client is gone
    // by then (the spec: the server MUST handle all outstanding requests; libnbd's shutdown()
    // does not wait for the replies): not aborted, and the filters close after them.
    const graceful = this.loop?.graceful ?? false;
    if (!graceful) this.abort.abort();
    this.queue.clear();
    this.waiter?.();
    if (this.prepared) {
      const before = graceful ? this.loop!.waitDrained() : Promise.resolve();
      this.closedHooks = before.then(() => this.o.chain.close(this.info, graceful));
    }
    this.o.onClose(this);
  }

  /**
   * Bytes read into the shared read buffer (socket-reader.ts): valid only during this call, so
   * the handshake copies them and the transmission loop copies what it keeps.
   */
  onBorrowedData(chunk: Buffer): void {
    this.guard(() => this.onData(chunk, true));
  }

  private onData(chunk: Buffer, borrowed = false): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'handshake') {
      this.queue.push(borrowed ? Buffer.from(chunk) : chunk);
      // Never hold more than one option's worth: the rest waits in the kernel.
      if (this.queue.length >= HANDSHAKE_QUEUE_LIMIT) this.socket.pause();
      this.wake();
    } else {
      this.queue.push(chunk, borrowed);
      try {
        this.loop!.pump();
      } finally {
        this.queue.retain();
      }
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async handshake(): Promise<void> {
    try {
      await this.o.chain.open(this.info);
      const negotiated = await negotiate(this.negotiationHost());
      if (!negotiated || this.phase === 'closed') return;
      this.phase = 'transmission';
      if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
      this.socket.resume();
      this.loop = new TransmissionLoop({
        socket: this.socket,
        queue: this.queue,
        pool: this.pool,
        bus: this.o.bus,
        diskNumber: this.o.diskNumber,
        connectionId: this.o.id,
        top: this.o.chain.top,
        ctx: this.ctx,
        state: negotiated.state,
        structured: negotiated.structured,
        isOpen: () => this.phase === 'transmission',
        drop: (why) => this.drop(why),
        abortRequests: () => this.abort.abort(),
        log: (why) => this.log(why),
        crash: (err) => this.crash(err),
      });
      this.loop.pump();
    } catch (err) {
      this.crash(err);
    }
  }

  private negotiationHost(): NegotiationHost {
    return {
      info: this.info,
      chain: this.o.chain,
      exportName: this.o.exportName,
      description: this.o.description,
      readonly: this.o.readonly,
      tlsMode: this.o.tls?.mode ?? 'off',
      structuredReplies: this.o.structuredReplies,
      need: (n) => this.need(n),
      skip: (n) => this.skip(n),
      startTls: () => this.startTls(),
      send: (b) => {
        if (this.phase !== 'closed') this.socket.write(b);
      },
      drop: (why) => this.drop(why),
      end: () => this.socket.end(),
      prepareExport: async () => {
        // As in nbdkit: the filters' prepare hooks (the log filter's Connect line) run once.
        if (this.prepared) return;
        this.prepared = true;
        await this.o.chain.prepare(this.info);
      },
    };
  }

  /** Wait for more bytes (handshake only: a few round trips, promises are fine). */
  private async more(): Promise<void> {
    this.socket.resume();
    await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** Wait until n (≤ HANDSHAKE_QUEUE_LIMIT) bytes are queued and take them. */
  private async need(n: number): Promise<Buffer | null> {
    while (this.queue.length < n) {
      if (this.phase === 'closed') return null;
      await this.more();
    }
    return this.phase === 'closed' ? null : this.queue.take(n);
  }

  private async skip(n: number): Promise<boolean> {
    let left = n - this.queue.skip(n);
    while (left > 0) {
      if (this.phase === 'closed') return false;
      await this.more();
      left -= this.queue.skip(left);
    }
    return this.phase !== 'closed';
  }

  /** STARTTLS was acknowledged: hand the socket to TLS and go on reading through it. */
  private async startTls(): Promise<boolean> {
    if (this.queue.length) {
      this.drop('data sent after NBD_OPT_STARTTLS before the TLS handshake');
      return false;
    }
    const raw = this.socket;
    raw.off('data', this.onSocketData);
    // The TLS socket takes allowHalfOpen from the raw one: a client that shuts its side during the
    // TLS handshake is gone, and must end it at once (half-open, it waited for the handshake
    // timeout). Once secure, half-open again, for NBD_CMD_DISC then shutdown (nbd-server.ts).
    raw.allowHalfOpen = false;
    try {
      const secure = await this.o.tls!.upgrade(raw);
      secure.allowHalfOpen = true;
      if (this.phase === 'closed') {
        secure.destroy();
        return false;
      }
      this.socket = secure;
      this.listen(secure);
      this.info.tls = true;
      return true;
    } catch (err) {
      this.drop(`TLS handshake failed: ${(err as Error)?.message ?? String(err)}`);
      return false;
    }
  }
}
