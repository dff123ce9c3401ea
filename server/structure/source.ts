// How decoders read bytes: a ByteSource is "read N bytes at offset" over some space. Sources
// compose: a slice of a disk (a partition), an md array over member slices, a volume's extents.
// Reading a disk goes to its backend directly — no filters, no events, no log lines — and every
// read is recorded as a dependency so the live service knows which writes change the answer.

import { DecodeError } from './model.ts';

export interface ByteSource {
  readonly size: bigint;
  /** Exactly `length` bytes at `offset`; throws DecodeError past the end. */
  read(offset: bigint, length: number): Promise<Buffer>;
}

/** A window [start, start+size) of another source. */
export class SliceSource implements ByteSource {
  constructor(
    readonly base: ByteSource,
    readonly start: bigint,
    readonly size: bigint,
  ) {}

  read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.size)
      return Promise.reject(
        new DecodeError(`read of ${length} bytes at ${offset} is outside a ${this.size}-byte space`),
      );
    return this.base.read(this.start + offset, length);
  }
}

/** Byte ranges read from one disk, in 4 KiB blocks: what a decode depended on. */
export class DependencySet {
  private runs: Array<[number, number]> = [];
  private sorted = true;

  add(offset: bigint, length: number): void {
    const first = Number(offset >> 12n);
    const end = Number((offset + BigInt(length) + 4095n) >> 12n);
    const last = this.runs[this.runs.length - 1];
    if (last && first >= last[0] && first <= last[1]) {
      if (end > last[1]) last[1] = end;
      return;
    }
    if (last && first < last[0]) this.sorted = false;
    this.runs.push([first, end]);
  }

  /** Merged, sorted block runs [first, end). */
  merged(): Array<[number, number]> {
    const runs = this.sorted ? this.runs : [...this.runs].sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const [a, b] of runs) {
      const last = out[out.length - 1];
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else out.push([a, b]);
    }
    return out;
  }
}

/** Reads and budget shared by all decoders of one decode pass. */
export class DecodeBudget {
  bytesRead = 0;
  private lastYield = performance.now();
  truncated = false;
  readonly warnings: string[] = [];

  constructor(
    /** Most bytes one decode pass may read (metadata only: file data is never read). */
    readonly maxBytes = 256 * 1024 * 1024,
    /** Most inodes/directory entries one filesystem walk visits. */
    readonly maxFiles = 200_000,
  ) {}

  /** Let the event loop run (I/O first) every few milliseconds of decoding. */
  async breathe(): Promise<void> {
    if (performance.now() - this.lastYield < 4) return;
    await new Promise((r) => setImmediate(r));
    this.lastYield = performance.now();
  }

  charge(bytes: number): void {
    this.bytesRead += bytes;
    if (this.bytesRead > this.maxBytes) {
      this.truncated = true;
      throw new BudgetExhausted(`decode read more than ${this.maxBytes} bytes`);
    }
  }

  warn(message: string): void {
    if (this.warnings.length < 50 && !this.warnings.includes(message)) this.warnings.push(message);
  }
}

export class BudgetExhausted extends Error {}

/** Where a slice of a disk lies on the disk: follows SliceSources down to a root in `roots`. */
export function locateOnDisk(src: ByteSource, roots: Map<ByteSource, number>): { disk: number; offset: bigint } | null {
  let offset = 0n;
  let at: ByteSource = src;
  while (at instanceof SliceSource) {
    offset += at.start;
    at = at.base;
  }
  const disk = roots.get(at);
  return disk === undefined ? null : { disk, offset };
}

/**
 * 4 KiB pages of one disk kept from decode to decode; the live service drops a page whenever a
 * write, zero or trim touches it, so a re-decode reads again only what changed.
 */
export type PageCache = Map<number, Buffer>;

/** Drop the cached pages [first, end) (page numbers; a huge range walks the cache instead). */
export function dropPages(cache: PageCache, first: number, end: number): void {
  if (!cache.size) return;
  if (end - first > cache.size) {
    for (const p of cache.keys()) if (p >= first && p < end) cache.delete(p);
  } else for (let p = first; p < end; p++) cache.delete(p);
}

/** Reads through a page cache, records dependencies, charges the budget and yields now and then. */
export class TrackedSource implements ByteSource {
  private static readonly PAGE = 4096;

  constructor(
    private readonly base: ByteSource,
    readonly deps: DependencySet,
    private readonly budget: DecodeBudget,
    private readonly pages: PageCache = new Map(),
  ) {}

  get size(): bigint {
    return this.base.size;
  }

  async read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.base.size)
      throw new DecodeError(`read of ${length} bytes at ${offset} is outside a ${this.base.size}-byte disk`);
    this.deps.add(offset, length);
    const P = BigInt(TrackedSource.PAGE);
    const firstPage = offset / P;
    const lastPage = (offset + BigInt(Math.max(length, 1)) - 1n) / P;
    // Large reads (rare: bitmaps of big filesystems) bypass the cache.
    if (lastPage - firstPage > 64n || firstPage > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.budget.charge(length);
      await this.budget.breathe();
      return this.base.read(offset, length);
    }
    if (firstPage === lastPage) {
      // Within one page (most metadata reads): a view of the cached page, no copy. Callers
      // only read what they get.
      const page = await this.page(Number(firstPage));
      const from = Number(offset - firstPage * P);
      return page.subarray(from, from + length);
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    for (let p = firstPage; p <= lastPage && filled < length; p++) {
      const page = await this.page(Number(p));
      const pageStart = p * P;
      const from = Number(offset + BigInt(filled) - pageStart);
      const n = Math.min(page.length - from, length - filled);
      page.copy(out, filled, from, from + n);
      filled += n;
    }
    return out;
  }

  private async page(p: number): Promise<Buffer> {
    let page = this.pages.get(p);
    if (page) {
      this.budget.charge(0); // cached: no read, but the walk still counts as work
      return page;
    }
    const start = BigInt(p) * 4096n;
    const len = Number(this.base.size - start < 4096n ? this.base.size - start : 4096n);
    this.budget.charge(len);
    await this.budget.breathe();
    page = await this.base.read(start, len);
    if (this.pages.size > 16384) this.pages.clear(); // 64 MiB at most; decodes mostly walk forward
    this.pages.set(p, page);
    return page;
  }
}

/** A source over a buffer (tests, small images). */
export class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get size(): bigint {
    return BigInt(this.buf.length);
  }
  async read(offset: bigint, length: number): Promise<Buffer> {
    const o = Number(offset);
    if (o < 0 || o + length > this.buf.length) throw new DecodeError(`read outside the buffer`);
    return Buffer.from(this.buf.subarray(o, o + length));
  }
}
