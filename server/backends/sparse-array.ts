// A sparse byte array, like nbdkit's sparse allocator (common/allocators/sparse.c):
//
//   disk ─┬─ page 0      (32 KiB, cut from a 64 MiB slab on first write: page-slabs.ts)
//         ├─ page 1      (missing: reads as zeroes)
//         ├─ …
//         └─ page 2^48-1 (a 2^63-byte disk still has page numbers that fit a JS Number)
//
// Pages live in a Map keyed by page number, so memory grows with data written, never with the
// disk size. Zeroing or trimming a whole page frees it; zeroing part of a page frees it when
// the page becomes all zero (as nbdkit does). Writes always allocate, like nbdkit's.
// Single-threaded JS needs no lock (nbdkit's global mutex is its noted weak point).
//
// Block status must never scan bytes on the event loop (1 GiB of written zeroes took 1.5 s and
// held up every other client). nbdkit reports an allocated all-zero page as ZERO, so each page's
// zeroness is kept as it changes: a write learns it from the bytes it writes (memcmp, stopping at
// the first non-zero byte of real data), and pages are counted per group of 512 (16 MiB), so
// extents() skips an empty or all-zero group in one step: its time grows with the extents it
// returns (at most 512 steps each), not with bytes or pages.
//
// Reads can lend pages instead of copying them (lend()): the reply is written to the socket
// straight from the page, which saves the engine thread a copy of every byte read (that copy was
// ~15 % of its time in a sequential read; docs/performance.md). A lent page is never changed in
// place: a write or partial zero to it first swaps in a copy (copy on write), so a reply still on
// its way to the kernel keeps the bytes it was read with, as a copied one would. A page freed or
// replaced goes back to its slab only once no reply holds it, so a lent view never shows another
// page's data. Pages are slot numbers in the slabs (page-slabs.ts: as Buffer views, hundreds of
// thousands of them made every major GC mark as many objects).

import { EXTENT_HOLE, EXTENT_ZERO, type Extent, type LentData } from './backend.ts';
import { PageSlabs } from './page-slabs.ts';

export const PAGE_SHIFT = 15;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_MASK = BigInt(PAGE_SIZE - 1);
const SHIFT = BigInt(PAGE_SHIFT);
/** Pages per group (the unit extents() can skip at once). */
const GROUP_PAGES = 512;
/** Never written: compared against, and lent for holes. */
const ZEROES = Buffer.alloc(PAGE_SIZE);

/** b[start, end) is all zero (native memcmp; end - start ≤ PAGE_SIZE). */
function isZero(b: Buffer, start = 0, end = b.length): boolean {
  return b.compare(ZEROES, 0, end - start, start, end) === 0;
}

interface GroupCount {
  allocated: number;
  /** Allocated pages that are all zero. */
  zero: number;
}

export class SparseArray {
  /** Page number → its slot in the slabs. */
  private pages = new Map<number, number>();
  /** Allocated pages known to be all zero. */
  private zeroPages = new Set<number>();
  private groups = new Map<number, GroupCount>();
  /**
   * Slots lent to replies not yet handed back, with how many lends each. Keyed by slot, not page
   * number: a copy on write puts another slot under that number.
   */
  private lent = new Map<number, number>();
  /** Slots no longer in the disk (freed or replaced by a copy) that are still lent. */
  private retired = new Set<number>();
  private slabs = new PageSlabs(PAGE_SIZE);
  /** Bumped by clear(): a lend from before it hands nothing back (its slot numbers may be reused). */
  private generation = 0;

  /** Allocated bytes (for memory accounting and tests). */
  get allocatedBytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  /** Whether the page holding byte `offset` is allocated (tests compare with nbdkit's model). */
  allocatedPage(offset: bigint): boolean {
    return this.pages.has(Number(offset >> SHIFT));
  }

  clear(): void {
    this.pages.clear();
    this.zeroPages.clear();
    this.groups.clear();
    this.lent.clear();
    this.retired.clear();
    this.slabs.clear();
    this.generation++;
  }

  private group(page: number): GroupCount {
    const key = Math.floor(page / GROUP_PAGES);
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { allocated: 0, zero: 0 }));
    return g;
  }

  private allocate(page: number, p: number, zero: boolean): void {
    this.pages.set(page, p);
    const g = this.group(page);
    g.allocated++;
    if (zero) {
      this.zeroPages.add(page);
      g.zero++;
    }
  }

  private free(page: number, p: number): void {
    this.pages.delete(page);
    this.retire(p);
    const key = Math.floor(page / GROUP_PAGES);
    const g = this.groups.get(key)!;
    if (this.zeroPages.delete(page)) g.zero--;
    if (--g.allocated === 0) this.groups.delete(key);
  }

  /** Back to its slab now, or when the last reply holding it lets go. */
  private retire(p: number): void {
    if (this.lent.has(p)) this.retired.add(p);
    else this.slabs.release(p);
  }

  private setZero(page: number, zero: boolean): void {
    if (zero === this.zeroPages.has(page)) return;
    if (zero) this.zeroPages.add(page);
    else this.zeroPages.delete(page);
    this.group(page).zero += zero ? 1 : -1;
  }

  read(buf: Buffer, offset: bigint): void {
    let page = Number(offset >> SHIFT);
    let inPage = Number(offset & PAGE_MASK);
    let done = 0;
    while (done < buf.length) {
      const n = Math.min(PAGE_SIZE - inPage, buf.length - done);
      const p = this.pages.get(page);
      if (p !== undefined) {
        const at = this.slabs.offsetOf(p) + inPage;
        this.slabs.memoryOf(p).copy(buf, done, at, at + n);
      } else buf.fill(0, done, done + n);
      done += n;
      page++;
      inPage = 0;
    }
  }

  /** Views of [offset, offset+count): the pages themselves, shared zeroes for holes. */
  lend(count: number, offset: bigint): LentData {
    const buffers: Buffer[] = [];
    const pages: number[] = [];
    const generation = this.generation;
    let page = Number(offset >> SHIFT);
    let inPage = Number(offset & PAGE_MASK);
    let done = 0;
    while (done < count) {
      const n = Math.min(PAGE_SIZE - inPage, count - done);
      const p = this.pages.get(page);
      if (p !== undefined) {
        const at = this.slabs.offsetOf(p) + inPage;
        buffers.push(this.slabs.memoryOf(p).subarray(at, at + n));
        pages.push(p);
        this.lent.set(p, (this.lent.get(p) ?? 0) + 1);
      } else buffers.push(ZEROES.subarray(0, n));
      done += n;
      page++;
      inPage = 0;
    }
    let released = false;
    return {
      buffers,
      release: () => {
        if (released || generation !== this.generation) return;
        released = true;
        for (const p of pages) {
          const n = this.lent.get(p)!;
          if (n > 1) this.lent.set(p, n - 1);
          else if (this.lent.delete(p) && this.retired.delete(p)) this.slabs.release(p);
        }
      },
    };
  }

  /** Pages lent right now (tests). */
  get lentPages(): number {
    return this.lent.size;
  }

  /** The page to change in place: `p` itself, or a copy of it put in its place while `p` is lent. */
  private writable(page: number, p: number): number {
    if (this.lent.size === 0 || !this.lent.has(p)) return p;
    const copy = this.slabs.take();
    const from = this.slabs.offsetOf(p);
    this.slabs.memoryOf(p).copy(this.slabs.memoryOf(copy), this.slabs.offsetOf(copy), from, from + PAGE_SIZE);
    this.pages.set(page, copy);
    this.retire(p);
    return copy;
  }

  /** A new page for a write of n bytes: zeroes around a partial write, any bytes under a whole one. */
  private fresh(n: number): number {
    return n < PAGE_SIZE ? this.slabs.takeZeroed() : this.slabs.take();
  }

  write(buf: Buffer, offset: bigint): void {
    let page = Number(offset >> SHIFT);
    let inPage = Number(offset & PAGE_MASK);
    let done = 0;
    while (done < buf.length) {
      const n = Math.min(PAGE_SIZE - inPage, buf.length - done);
      const zeroes = isZero(buf, done, done + n);
      const existing = this.pages.get(page);
      const p = existing === undefined ? this.fresh(n) : this.writable(page, existing);
      const memory = this.slabs.memoryOf(p);
      const at = this.slabs.offsetOf(p);
      if (existing === undefined) {
        buf.copy(memory, at + inPage, done, done + n);
        this.allocate(page, p, zeroes);
      } else {
        buf.copy(memory, at + inPage, done, done + n);
        // Zeroes over data may leave the page all zero: one 32 KiB memcmp tells.
        if (!zeroes) this.setZero(page, false);
        else if (!this.zeroPages.has(page)) this.setZero(page, n === PAGE_SIZE || isZero(memory, at, at + PAGE_SIZE));
      }
      done += n;
      page++;
      inPage = 0;
    }
  }

  /** Zero [offset, offset+count): frees whole pages and partial pages that become all zero. */
  zero(count: number, offset: bigint): void {
    const end = offset + BigInt(count);
    let pos = offset;
    while (pos < end) {
      const page = Number(pos >> SHIFT);
      const inPage = Number(pos & PAGE_MASK);
      const remaining = end - pos;
      const n = remaining < BigInt(PAGE_SIZE - inPage) ? Number(remaining) : PAGE_SIZE - inPage;
      const p = this.pages.get(page);
      if (p !== undefined) {
        if (n === PAGE_SIZE || this.zeroPages.has(page)) this.free(page, p);
        else {
          const w = this.writable(page, p);
          const memory = this.slabs.memoryOf(w);
          const at = this.slabs.offsetOf(w);
          memory.fill(0, at + inPage, at + inPage + n);
          if (isZero(memory, at, at + PAGE_SIZE)) this.free(page, w);
        }
      }
      pos += BigInt(n);
    }
  }

  /**
   * Extents from `offset` for up to `count` bytes at page granularity, as nbdkit's sparse
   * allocator reports them: no page → hole|zero, an all-zero page → zero, otherwise data.
   * Adjacent alike extents are merged; the last one may overshoot the request (the protocol
   * layer clips it).
   */
  extents(count: number, offset: bigint): Extent[] {
    if (count <= 0) return [];
    const first = Number(offset >> SHIFT);
    const last = Number((offset + BigInt(count) - 1n) >> SHIFT);
    const runs: Array<{ type: number; from: number; to: number }> = [];
    let page = first;
    while (page <= last) {
      const g = this.groups.get(Math.floor(page / GROUP_PAGES));
      const groupEnd = (Math.floor(page / GROUP_PAGES) + 1) * GROUP_PAGES;
      let type: number;
      let to: number;
      if (!g) [type, to] = [EXTENT_HOLE | EXTENT_ZERO, groupEnd];
      else if (g.zero === GROUP_PAGES) [type, to] = [EXTENT_ZERO, groupEnd];
      else {
        to = page + 1;
        type = !this.pages.has(page) ? EXTENT_HOLE | EXTENT_ZERO : this.zeroPages.has(page) ? EXTENT_ZERO : 0;
      }
      to = Math.min(to, last + 1);
      const run = runs[runs.length - 1];
      if (run && run.type === type) run.to = to;
      else runs.push({ type, from: page, to });
      page = to;
    }
    const skipped = offset & PAGE_MASK;
    return runs.map((r, i) => ({
      length: BigInt(r.to - r.from) * BigInt(PAGE_SIZE) - (i === 0 ? skipped : 0n),
      type: r.type,
    }));
  }
}
