// The interface every layer of a disk's stack implements: backends (plugins) at the bottom,
// filters above them, modelled on nbdkit's `struct nbdkit_next_ops`.
// Offsets are bigint (disks reach 2^63-1 bytes); counts are NBD's 32-bit lengths.
// Requests reaching a layer were already validated by the protocol layer (range, flags),
// so layers only assert. Errors are thrown as NbdError.

import type { Errno, UpstreamInfo } from '../shared/types.ts';

/** nbdkit's capability levels for zero, fua and cache. */
export const Cap = { NONE: 0, EMULATE: 1, NATIVE: 2 } as const;
export type Cap = (typeof Cap)[keyof typeof Cap];

/** base:allocation extent flags (NBD spec §base:allocation). */
export const EXTENT_HOLE = 1;
export const EXTENT_ZERO = 2;

export interface Extent {
  /** Byte length; bigint because a hole can span exabytes. */
  length: bigint;
  /** EXTENT_HOLE | EXTENT_ZERO bits. */
  type: number;
}

export interface BlockSizeConstraints {
  minimum: number;
  preferred: number;
  maximum: number;
}

/** Per-connection facts a layer may use (the log filter prints them). */
export interface ConnectionInfo {
  /** Connection number on this disk, from 1. */
  id: number;
  exportName: string;
  readonly: boolean;
  tls: boolean;
}

export interface RequestContext {
  connection: ConnectionInfo;
  /** Aborted when the client goes away or the server shuts down: delays stop waiting. */
  signal: AbortSignal;
}

/** The error contract of every layer: throw one of these; the protocol maps it to the wire. */
export class NbdError extends Error {
  constructor(
    readonly errno: Errno,
    message?: string,
  ) {
    super(message ?? errno);
    this.name = 'NbdError';
  }
}

/**
 * Read data a layer lends instead of copying (the memory backend's pages): views of its own
 * memory, sent in order and never written to, then handed back with `release()`, exactly once,
 * when the reply has left for the kernel (or will never be sent).
 */
export interface LentData {
  readonly buffers: Buffer[];
  release(): void;
}

export interface Next {
  getSize(): bigint;
  canWrite(): boolean;
  canFlush(): boolean;
  isRotational(): boolean;
  canTrim(): boolean;
  canZero(): Cap;
  canFastZero(): boolean;
  canFua(): Cap;
  canMultiConn(): boolean;
  canExtents(): boolean;
  canCache(): Cap;
  /** null: no constraints (nbdkit then sends no NBD_INFO_BLOCK_SIZE... but logs minsize=0x1 prefsize=0x1000 maxsize=0xffffffff). */
  blockSize(): BlockSizeConstraints | null;

  pread(buf: Buffer, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  /**
   * A read without a copy, where every layer down to the backend allows it (filter.ts drops it
   * from a stack with a filter that reads but does not lend): the protocol layer then sends the
   * backend's memory itself. Absent: the caller reads with pread into a buffer of its own.
   */
  lend?(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<LentData>;
  pwrite(buf: Buffer, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  flush(flags: number, ctx: RequestContext): Promise<void>;
  trim(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  zero(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
  /** Extents covering at least the first byte of [offset, offset+count); may stop early or overshoot. */
  extents(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<Extent[]>;
  cache(count: number, offset: bigint, flags: number, ctx: RequestContext): Promise<void>;
}

/** Capabilities that do not change while a backend is open, declared once as data. */
export interface Capabilities {
  write: boolean;
  flush: boolean;
  rotational: boolean;
  trim: boolean;
  zero: Cap;
  fastZero: boolean;
  fua: Cap;
  multiConn: boolean;
  extents: boolean;
  cache: Cap;
  blockSize: BlockSizeConstraints | null;
}

/**
 * Answers every capability question of `Next` from a `Capabilities` record, so a backend states
 * its capabilities as one commented table (as nbdkit plugins do with their `can_*` callbacks).
 */
export abstract class DeclaredCapabilities {
  protected abstract readonly caps: Capabilities;
  canWrite(): boolean {
    return this.caps.write;
  }
  canFlush(): boolean {
    return this.caps.flush;
  }
  isRotational(): boolean {
    return this.caps.rotational;
  }
  canTrim(): boolean {
    return this.caps.trim;
  }
  canZero(): Cap {
    return this.caps.zero;
  }
  canFastZero(): boolean {
    return this.caps.fastZero;
  }
  canFua(): Cap {
    return this.caps.fua;
  }
  canMultiConn(): boolean {
    return this.caps.multiConn;
  }
  canExtents(): boolean {
    return this.caps.extents;
  }
  canCache(): Cap {
    return this.caps.cache;
  }
  blockSize(): BlockSizeConstraints | null {
    return this.caps.blockSize;
  }
}

/** A backend is the bottom of the stack, plus lifecycle. */
export interface Backend extends Next {
  readonly name: string;
  /** Live description for the API (e.g. { file: '/tmp/disk.img' }). */
  describe(): Record<string, string | number | boolean | null>;
  /** Discard all data (the UI's "reset disk"). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Proxy backends: the upstream server's state (DiskInfo.upstream) and its changes. */
  upstream?(): UpstreamInfo;
  onUpstreamChange?(listener: (info: UpstreamInfo) => void): () => void;
}
