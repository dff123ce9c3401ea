// The nbd backend: a proxy to another NBD server, like nbdkit's nbd plugin. Every request is
// forwarded with its flags on an upstream connection of its own client connection (one
// upstream connection per client connection, as nbdkit's plugin does by default: each client's
// FLUSH then covers exactly the writes it made, and CAN_MULTI_CONN can be passed on as the
// upstream states it). Size, capabilities and block sizes are the upstream export's. Upstream
// errors come back with the same errno; a write is acknowledged only once upstream
// acknowledged it. Reconnection and the lost-write rule live in nbd-client/upstream.ts.

import { MAX_REQUEST_SIZE, TF } from '../protocol/constants.ts';
import { NbdClient } from '../nbd-client/client.ts';
import { targetFromParams, TARGET_PARAMS } from '../nbd-client/target.ts';
import { Upstream, type Link } from '../nbd-client/upstream.ts';
import { CMD_FLAG, type UpstreamInfo } from '../shared/types.ts';
import {
  Cap,
  DeclaredCapabilities,
  type Backend,
  type Capabilities,
  type ConnectionInfo,
  type Extent,
  type RequestContext,
} from './backend.ts';

/** What a client may send a server that states no block size constraints (NBD spec, "Block size constraints"). */
const UNSTATED_MAX_PAYLOAD = 32 * 1024 * 1024;

export const NBD_BACKEND_PARAMS: readonly string[] = TARGET_PARAMS;

/** The upstream export's transmission flags and block sizes, as our capabilities. */
function capabilitiesOf(facts: Upstream['facts'], readonly: boolean): Capabilities {
  const f = facts.eflags;
  const b = facts.blockSize;
  return {
    write: !readonly && !(f & TF.READ_ONLY),
    flush: (f & TF.SEND_FLUSH) !== 0,
    rotational: (f & TF.ROTATIONAL) !== 0,
    trim: (f & TF.SEND_TRIM) !== 0,
    zero: f & TF.SEND_WRITE_ZEROES ? Cap.NATIVE : Cap.NONE,
    fastZero: (f & TF.SEND_FAST_ZERO) !== 0,
    fua: f & TF.SEND_FUA ? Cap.NATIVE : Cap.NONE,
    multiConn: (f & TF.CAN_MULTI_CONN) !== 0,
    extents: facts.allocationContext !== null,
    cache: f & TF.SEND_CACHE ? Cap.NATIVE : Cap.NONE,
    // Our server never accepts payloads above MAX_REQUEST_SIZE, whatever upstream allows. An
    // upstream that states no limits may refuse requests above 32 MiB (the spec's default):
    // our clients are told that much, not our own 64 MiB.
    blockSize: b
      ? { ...b, maximum: Math.min(b.maximum >>> 0, MAX_REQUEST_SIZE) }
      : { minimum: 1, preferred: 4096, maximum: UNSTATED_MAX_PAYLOAD },
  };
}

export class NbdBackend extends DeclaredCapabilities implements Backend {
  readonly name: string = 'nbd';
  protected readonly caps: Capabilities;
  private readonly links = new WeakMap<ConnectionInfo, Link>();
  /** Flags the upstream accepts; DF is dropped for servers that do not offer it (our reply is unfragmented anyway). */
  private readonly flagMask: number;

  protected constructor(
    protected readonly upstream_: Upstream,
    readonly: boolean,
  ) {
    super();
    this.caps = capabilitiesOf(upstream_.facts, readonly);
    this.flagMask = ~(upstream_.facts.eflags & TF.SEND_DF ? 0 : CMD_FLAG.DF);
  }

  getSize(): bigint {
    return this.upstream_.facts.size;
  }

  /** Connect to the upstream export (params as nbdkit's nbd plugin: uri=, socket=, hostname=, export=, tls…). */
  static async open(params: Record<string, string>, readonly: boolean): Promise<NbdBackend> {
    return new NbdBackend(await Upstream.open(targetFromParams(params)), readonly);
  }

  describe() {
    const i = this.upstream_.info();
    return { uri: i.uri, state: i.state, size: this.getSize().toString() };
  }

  upstream(): UpstreamInfo {
    return this.upstream_.info();
  }
  onUpstreamChange(listener: (info: UpstreamInfo) => void): () => void {
    return this.upstream_.onChange(listener);
  }

  /** The client connection's link, created on its first request and closed with the connection. */
  private link(ctx: RequestContext): Link {
    let link = this.links.get(ctx.connection);
    if (!link) {
      const l = this.upstream_.newLink();
      link = l;
      this.links.set(ctx.connection, l);
      const close = () => void this.upstream_.closeLink(l);
      if (ctx.signal.aborted) queueMicrotask(close);
      else ctx.signal.addEventListener('abort', close, { once: true });
    }
    return link;
  }

  private async client(link: Link): Promise<NbdClient> {
    const c = this.upstream_.client(link);
    return c instanceof NbdClient ? c : await c;
  }

  // pread and pwrite are the hot path: no async frames of their own, so a request whose link is
  // connected reaches the upstream socket in the same tick as its neighbours (one write for all).
  pread(buf: Buffer, offset: bigint, flags: number, ctx: RequestContext): Promise<void> {
    const f = flags & this.flagMask;
    let c: NbdClient | Promise<NbdClient>;
    try {
      c = this.upstream_.client(this.link(ctx));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const sent = c instanceof NbdClient ? c.pread(buf, offset, f) : c.then((c) => c.pread(buf, offset, f));
    return sent as Promise<unknown> as Promise<void>;
  }

  pwrite(buf: Buffer, offset: bigint, flags: number, ctx: RequestContext): Promise<void> {
    let link: Link;
    let c: NbdClient | Promise<NbdClient>;
    try {
      link = this.link(ctx);
      c = this.upstream_.client(link);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const sent = c instanceof NbdClient ? c.pwrite(buf, offset, flags) : c.then((c) => c.pwrite(buf, offset, flags));
    return sent.then(() => this.upstream_.wrote(link, (flags & CMD_FLAG.FUA) !== 0));
  }

  async flush(flags: number, ctx: RequestContext): Promise<void> {
    const link = this.link(ctx);
    const covered = this.upstream_.beginFlush(link);
    const c = await this.client(link);
    await c.flush(flags);
    this.upstream_.flushed(link, covered);
  }

  async trim(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void> {
    const link = this.link(ctx);
    const c = await this.client(link);
    await c.trim(count, offset, flags);
    this.upstream_.wrote(link, (flags & CMD_FLAG.FUA) !== 0);
  }

  async zero(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void> {
    const link = this.link(ctx);
    const c = await this.client(link);
    await c.zero(count, offset, flags);
    this.upstream_.wrote(link, (flags & CMD_FLAG.FUA) !== 0);
  }

  async extents(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<Extent[]> {
    const c = await this.client(this.link(ctx));
    return c.blockStatus(count, offset, flags);
  }

  async cache(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void> {
    const c = await this.client(this.link(ctx));
    await c.cache(count, offset, flags);
  }

  async reset(): Promise<void> {
    throw new Error('a proxy disk does not erase the upstream export (reset would destroy real data)');
  }

  async close(): Promise<void> {
    await this.upstream_.close();
  }
}
