// The filter contract, modelled on nbdkit's filters: each op does its one job and then calls
// `next` with the same arguments. Ops a filter leaves out pass straight through (buildChain fills
// them in), so no filter writes its own forwarding. Filters are composed in command-line order:
// the first filter is nearest the client.

import type { ConnectionInfo, Extent, LentData, Next, RequestContext } from '../backends/backend.ts';

/** A declared parameter: names and aliases as nbdkit spells them, one help line. */
export interface ParamSpec {
  name: string;
  aliases?: string[];
  help: string;
  /** True when the parameter can be changed while clients are connected. */
  live?: boolean;
}

export interface Filter {
  readonly name: string;
  readonly longname: string;
  readonly params: readonly ParamSpec[];

  /** Live settings for the API and UI (nbdkit parameter names). */
  describe(): Record<string, string | number | boolean | null>;
  /** Change settings live; same keys and value syntax as the command line. Throws on bad input. */
  configure?(params: Record<string, string>): void;
  /** The per-disk Error toggle (error filter only): on = every data op fails; off = none. */
  setErrors?(on: boolean): void;
  errorsOn?(): boolean;

  // Lifecycle, per disk and per connection.
  /** Called once when the disk's server is ready (the log filter writes `Ready`). */
  ready?(next: Next): void | Promise<void>;
  /** A client connected (before the handshake finished). May delay (delay-open). */
  open?(next: Next, conn: ConnectionInfo): void | Promise<void>;
  /** The client asked for the export list (NBD_OPT_LIST). */
  listExports?(next: Next, conn: ConnectionInfo): void | Promise<void>;
  /** Handshake done, export chosen, transmission starts (the log filter writes `Connect`). */
  prepare?(next: Next, conn: ConnectionInfo): void | Promise<void>;
  /** The client went away; `graceful` when it sent NBD_CMD_DISC. */
  close?(next: Next, conn: ConnectionInfo, graceful: boolean): void | Promise<void>;
  /** The disk is shutting down: flush and release everything (log file, timers). */
  dispose?(): void | Promise<void>;

  // Capability overrides (otherwise next's answer is used).
  canFastZero?(next: Next): boolean;

  // Data ops.
  pread?(next: Next, buf: Buffer, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  /**
   * The same read without a copy (Next.lend). A filter with pread and no lend turns lending off
   * for the stack above it: it may look at or change the data.
   */
  lend?(next: Next, count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<LentData>;
  pwrite?(next: Next, buf: Buffer, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  flush?(next: Next, flags: number, ctx: RequestContext): Promise<void>;
  trim?(next: Next, count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  zero?(next: Next, count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  extents?(next: Next, count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<Extent[]>;
  cache?(next: Next, count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
}

/** The data ops a filter can gate, in nbdkit's names (flush is never gated: nbdkit's error and delay filters leave it alone). */
export const GATED_OPS = ['pread', 'pwrite', 'trim', 'zero', 'extents', 'cache'] as const;
export type GatedOp = (typeof GATED_OPS)[number];

type GatedOps = Required<Pick<Filter, GatedOp | 'lend'>>;

/**
 * The data ops of a filter whose one job comes before every request (the error filter's
 * injection, the delay filter's wait): run `gate`, then call `next` with the same arguments.
 * A gate that returns nothing costs no extra promise.
 */
export function gateEachOp(gate: (op: GatedOp, flags: number, ctx: RequestContext) => void | Promise<void>): GatedOps {
  const then = <T>(op: GatedOp, flags: number, c: RequestContext, call: () => Promise<T>): Promise<T> => {
    const waiting = gate(op, flags, c);
    return waiting ? waiting.then(call) : call();
  };
  return {
    pread: async (next, buf, offset, flags, c) => then('pread', flags, c, () => next.pread(buf, offset, flags, c)),
    // wrap() offers lend only where next has it.
    lend: async (next, count, offset, flags, c) => then('pread', flags, c, () => next.lend!(count, offset, flags, c)),
    pwrite: async (next, buf, offset, flags, c) => then('pwrite', flags, c, () => next.pwrite(buf, offset, flags, c)),
    trim: async (next, count, offset, flags, c) => then('trim', flags, c, () => next.trim(count, offset, flags, c)),
    zero: async (next, count, offset, flags, c) => then('zero', flags, c, () => next.zero(count, offset, flags, c)),
    extents: async (next, count, offset, flags, c) =>
      then('extents', flags, c, () => next.extents(count, offset, flags, c)),
    cache: async (next, count, offset, flags, c) => then('cache', flags, c, () => next.cache(count, offset, flags, c)),
  };
}

/** Context a filter factory gets: which disk it serves (for `%d` in paths) and how many there are. */
export interface FilterContext {
  diskNumber: number;
}

export type FilterFactory = (params: Record<string, string>, ctx: FilterContext) => Filter;

/** The layer's lend: the filter's own, or next's when the filter leaves reads alone; else none. */
function lendThrough(filter: Filter, next: Next): Next['lend'] {
  if (!next.lend) return undefined;
  if (filter.lend) return (n, o, f, c) => filter.lend!(next, n, o, f, c);
  if (filter.pread) return undefined;
  return (n, o, f, c) => next.lend!(n, o, f, c);
}

/** Wrap one filter around `next`, producing the Next the layer above sees. */
function wrap(filter: Filter, next: Next): Next {
  const layer: Next = {
    getSize: () => next.getSize(),
    canWrite: () => next.canWrite(),
    canFlush: () => next.canFlush(),
    isRotational: () => next.isRotational(),
    canTrim: () => next.canTrim(),
    canZero: () => next.canZero(),
    canFastZero: filter.canFastZero ? () => filter.canFastZero!(next) : () => next.canFastZero(),
    canFua: () => next.canFua(),
    canMultiConn: () => next.canMultiConn(),
    canExtents: () => next.canExtents(),
    canCache: () => next.canCache(),
    blockSize: () => next.blockSize(),
    pread: filter.pread ? (b, o, f, c) => filter.pread!(next, b, o, f, c) : (b, o, f, c) => next.pread(b, o, f, c),
    lend: lendThrough(filter, next),
    pwrite: filter.pwrite ? (b, o, f, c) => filter.pwrite!(next, b, o, f, c) : (b, o, f, c) => next.pwrite(b, o, f, c),
    flush: filter.flush ? (f, c) => filter.flush!(next, f, c) : (f, c) => next.flush(f, c),
    trim: filter.trim ? (n, o, f, c) => filter.trim!(next, n, o, f, c) : (n, o, f, c) => next.trim(n, o, f, c),
    zero: filter.zero ? (n, o, f, c) => filter.zero!(next, n, o, f, c) : (n, o, f, c) => next.zero(n, o, f, c),
    extents: filter.extents
      ? (n, o, f, c) => filter.extents!(next, n, o, f, c)
      : (n, o, f, c) => next.extents(n, o, f, c),
    cache: filter.cache ? (n, o, f, c) => filter.cache!(next, n, o, f, c) : (n, o, f, c) => next.cache(n, o, f, c),
  };
  return layer;
}

/**
 * A disk's whole stack: `top` is what the protocol layer calls; lifecycle hooks run outermost
 * first on the way in (open, prepare) and innermost first on the way out (close), as in nbdkit.
 */
export class FilterChain {
  readonly top: Next;
  /** nexts[i] is what filters[i] calls. */
  private readonly nexts: Next[];

  constructor(
    readonly filters: readonly Filter[],
    readonly backend: Next,
  ) {
    const nexts: Next[] = new Array(filters.length);
    let below: Next = backend;
    for (let i = filters.length - 1; i >= 0; i--) {
      nexts[i] = below;
      below = wrap(filters[i], below);
    }
    this.nexts = nexts;
    this.top = below;
  }

  find(name: string): Filter | undefined {
    return this.filters.find((f) => f.name === name);
  }

  async ready(): Promise<void> {
    for (let i = 0; i < this.filters.length; i++) await this.filters[i].ready?.(this.nexts[i]);
  }

  async open(conn: ConnectionInfo): Promise<void> {
    for (let i = 0; i < this.filters.length; i++) await this.filters[i].open?.(this.nexts[i], conn);
  }

  async listExports(conn: ConnectionInfo): Promise<void> {
    for (let i = 0; i < this.filters.length; i++) await this.filters[i].listExports?.(this.nexts[i], conn);
  }

  async prepare(conn: ConnectionInfo): Promise<void> {
    for (let i = 0; i < this.filters.length; i++) await this.filters[i].prepare?.(this.nexts[i], conn);
  }

  async close(conn: ConnectionInfo, graceful: boolean): Promise<void> {
    for (let i = this.filters.length - 1; i >= 0; i--) {
      try {
        await this.filters[i].close?.(this.nexts[i], conn, graceful);
      } catch (err) {
        console.error(`blockscope: filter ${this.filters[i].name} close failed:`, err);
      }
    }
  }

  async dispose(): Promise<void> {
    for (const f of this.filters) {
      try {
        await f.dispose?.();
      } catch (err) {
        console.error(`blockscope: filter ${f.name} dispose failed:`, err);
      }
    }
  }
}
