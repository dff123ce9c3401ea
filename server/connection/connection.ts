// One NBD client on one disk: owns the socket and its lifecycle, runs the handshake
// (negotiation.ts), then the transmission loop (transmission-loop.ts). Socket bytes go into a
// ByteQueue that both phases take complete units from.

import type { Socket } from 'node:net';
import type { ConnectionInfo, RequestContext } from '../backends/backend.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { FilterChain } from '../filters/filter.ts';
import { BufferPool } from './buffer-pool.ts';
import { ByteQueue } from './byte-queue.ts';
import { negotiate, type NegotiationHost } from './negotiation.ts';
import { TransmissionLoop } from './transmission-loop.ts';

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
  private readonly queue = new ByteQueue();
  private readonly pool = new BufferPool();
  private readonly abort = new AbortController();
  private readonly ctx: RequestContext;
  private phase: Phase = 'handshake';
  /** The handshake waiting for more bytes. */
  private waiter: (() => void) | null = null;
  private loop: TransmissionLoop | null = null;
  private prepared = false;
  /** Settles when the filters' close hooks have run (the log filter's Disconnect line). */
  private closedHooks: Promise<void> = Promise.resolve();

  constructor(private readonly o: ConnectionOptions) {
    this.socket = o.socket;
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
    return this.loop?.pending ?? 0;
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
    await this.loop?.waitDrained(graceMs);
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
    this.queue.clear();
    this.waiter?.();
    if (this.prepared) this.closedHooks = this.o.chain.close(this.info, this.loop?.graceful ?? false);
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
      this.loop!.pump();
    }
  }

  private async handshake(): Promise<void> {
    try {
      await this.o.chain.open(this.info);
      const negotiated = await negotiate(this.negotiationHost());
      if (!negotiated || this.phase === 'closed') return;
      this.phase = 'transmission';
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
        log: (why) => this.log(why),
      });
      this.loop.pump();
    } catch (err) {
      this.drop(`handshake failed: ${(err as Error).message}`);
    }
  }

  private negotiationHost(): NegotiationHost {
    return {
      info: this.info,
      chain: this.o.chain,
      exportName: this.o.exportName,
      description: this.o.description,
      readonly: this.o.readonly,
      need: (n) => this.need(n),
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

  /** Wait until n bytes are queued (handshake only: a few round trips, promises are fine). */
  private async need(n: number): Promise<Buffer | null> {
    while (this.queue.length < n) {
      if (this.phase === 'closed') return null;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.phase === 'closed' ? null : this.queue.take(n);
  }
}
