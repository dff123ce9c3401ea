// An upstream NBD export as the proxy backend sees it: what it offers (size, flags, block
// sizes — fixed at the first connection), one upstream connection per client connection
// ("link"), and what happens when the upstream server goes away:
//
//   connected ──(a link's connection breaks)──▶ reconnecting ──(probe succeeds, export unchanged)──▶ connected
//
// While reconnecting, requests fail at once with ESHUTDOWN (nothing was attempted) and requests
// that were in flight when the connection broke fail with EIO (their outcome is unknown). A
// background probe retries with exponential backoff (100 ms … 5 s). Writes acknowledged by
// upstream but not yet flushed when a connection broke may be lost with it: the next flush on
// that client connection (on every connection when upstream has multi-conn) fails with EIO
// rather than claim they are on stable storage.

import { NbdError } from '../backends/backend.ts';
import { TF } from '../protocol/constants.ts';
import type { UpstreamInfo } from '../shared/types.ts';
import { NbdClient } from './client.ts';
import { negotiate, type NegotiatedExport } from './handshake.ts';
import { describeTarget, type UpstreamTarget } from './target.ts';

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/** Per client connection: its upstream connection and what may have been lost with one. */
export class Link {
  client: NbdClient | null = null;
  connecting: Promise<NbdClient> | null = null;
  closed = false;
  /** Completed writes without FUA, and the count a successful flush last covered. */
  writes = 0;
  flushedWrites = 0;
  /** A connection broke while it held unflushed writes: the next flush reports EIO. */
  lostWrites = false;
}

export class Upstream {
  readonly uri: string;
  private state: UpstreamInfo['state'] = 'connected';
  private message: string | null = null;
  private reconnects = 0;
  private attempt = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private spare: NbdClient | null;
  private readonly links = new Set<Link>();
  private listeners: Array<(info: UpstreamInfo) => void> = [];
  private shut = false;

  private constructor(
    readonly target: UpstreamTarget,
    first: NegotiatedExport,
  ) {
    this.uri = describeTarget(target);
    this.facts = first;
    this.spare = null;
    this.keepSpare(new NbdClient(first));
  }

  /**
   * Hold an idle connection for the next link. It also notices an upstream that goes away
   * while no client is active, so the status is right even without traffic.
   */
  private keepSpare(client: NbdClient): void {
    const old = this.spare;
    this.spare = client;
    old?.destroy();
    client.onClose((err) => {
      if (this.spare !== client) return;
      this.spare = null;
      if (err) this.down(err);
    });
  }

  /** What the export offers, from the first connection (the socket in it is not used). */
  readonly facts: Omit<NegotiatedExport, 'socket' | 'reads'>;

  /** Connect once to learn the export; throws a clear error when it cannot be reached. */
  static async open(target: UpstreamTarget): Promise<Upstream> {
    return new Upstream(target, await negotiate(target));
  }

  info(): UpstreamInfo {
    return {
      uri: this.uri,
      state: this.state,
      message: this.message,
      reconnects: this.reconnects,
      connections: [...this.links].filter((l) => l.client?.isOpen).length,
      tls: this.facts.tls,
    };
  }

  onChange(listener: (info: UpstreamInfo) => void): () => void {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }

  private setState(state: UpstreamInfo['state'], message: string | null): void {
    if (this.state === state && this.message === message) return;
    this.state = state;
    this.message = message;
    const info = this.info();
    for (const l of this.listeners) l(info);
  }

  newLink(): Link {
    const link = new Link();
    this.links.add(link);
    return link;
  }

  async closeLink(link: Link): Promise<void> {
    link.closed = true;
    this.links.delete(link);
    const c = link.client ?? (await link.connecting?.catch(() => null));
    link.client = null;
    await c?.close();
  }

  /** The link's upstream connection, (re)connecting on demand while upstream is up. */
  client(link: Link): Promise<NbdClient> | NbdClient {
    const c = link.client;
    if (c?.isOpen) return c;
    if (this.shut) throw new NbdError('ESHUTDOWN', 'the disk is shutting down');
    if (this.state !== 'connected')
      throw new NbdError('ESHUTDOWN', `upstream ${this.uri} is unreachable (${this.message}); reconnecting`);
    link.connecting ??= this.connectLink(link).finally(() => (link.connecting = null));
    return link.connecting;
  }

  private async connectLink(link: Link): Promise<NbdClient> {
    let client = this.spare;
    this.spare = null;
    if (!client?.isOpen) {
      let n: NegotiatedExport;
      try {
        n = await negotiate(this.target);
      } catch (err) {
        this.down(err as Error);
        throw new NbdError('ESHUTDOWN', `upstream ${this.uri}: ${(err as Error).message}`);
      }
      const change = this.incompatibility(n);
      if (change) {
        n.socket.destroy();
        this.down(new Error(change));
        throw new NbdError('ESHUTDOWN', change);
      }
      client = new NbdClient(n);
    }
    if (link.closed) {
      void client.close();
      throw new NbdError('ESHUTDOWN', 'the client connection went away');
    }
    link.client = client;
    client.onClose((err) => {
      if (link.client === client) link.client = null;
      if (!err) return;
      this.lostWith(link);
      this.down(err);
    });
    return client;
  }

  /** A broken connection held unflushed writes: make the next flush(es) say so. */
  private lostWith(link: Link): void {
    if (link.writes === link.flushedWrites || !(this.facts.eflags & TF.SEND_FLUSH)) return;
    const affected = this.facts.eflags & TF.CAN_MULTI_CONN ? this.links : [link];
    for (const l of affected) l.lostWrites = true;
    link.flushedWrites = link.writes;
  }

  /** Why a fresh connection is not the export we started with, or null when it is. */
  private incompatibility(n: NegotiatedExport): string | null {
    const f = this.facts;
    if (n.size !== f.size) return `upstream export changed size (${f.size} → ${n.size} bytes); not reconnecting to it`;
    if (n.eflags !== f.eflags)
      return `upstream export changed its flags (0x${f.eflags.toString(16)} → 0x${n.eflags.toString(16)})`;
    if ((n.allocationContext === null) !== (f.allocationContext === null) || n.structured !== f.structured)
      return 'upstream export changed its structured reply or block status support';
    return null;
  }

  private down(err: Error): void {
    if (this.shut) return;
    if (this.state === 'connected') {
      console.error(`blockscope: upstream ${this.uri} went away: ${err.message}; reconnecting`);
      this.attempt = 0;
    }
    this.setState('reconnecting', err.message);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.shut) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt++;
    this.probeTimer = setTimeout(() => void this.probe(), delay);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    this.probeTimer = null;
    let n: NegotiatedExport;
    try {
      n = await negotiate(this.target, 5000);
    } catch (err) {
      if (this.shut) return;
      this.setState('reconnecting', (err as Error).message);
      return this.scheduleProbe();
    }
    const change = this.incompatibility(n);
    if (change || this.shut) {
      n.socket.destroy();
      if (change) this.setState('reconnecting', change);
      return this.scheduleProbe();
    }
    // Keep the probe's connection for the next link that needs one.
    this.keepSpare(new NbdClient(n));
    this.reconnects++;
    console.error(`blockscope: upstream ${this.uri} is back`);
    this.setState('connected', null);
  }

  /** Note a completed write on a link (for the lost-writes bookkeeping). */
  wrote(link: Link, fua: boolean): void {
    if (!fua) link.writes++;
  }

  /** Before a flush: fail once if writes may have been lost; returns the count the flush covers. */
  beginFlush(link: Link): number {
    if (link.lostWrites) {
      link.lostWrites = false;
      throw new NbdError(
        'EIO',
        `writes acknowledged before upstream ${this.uri} went away may not have reached stable storage`,
      );
    }
    return link.writes;
  }

  flushed(link: Link, covered: number): void {
    if (covered > link.flushedWrites) link.flushedWrites = covered;
  }

  async close(): Promise<void> {
    this.shut = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    await Promise.all([...this.links].map((l) => this.closeLink(l)));
    await this.spare?.close();
    this.spare = null;
    this.setState('closed', null);
  }
}
