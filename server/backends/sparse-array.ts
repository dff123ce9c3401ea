// A sparse byte array, like nbdkit's sparse allocator (common/allocators/sparse.c):
//
//   disk ─┬─ page 0      (32 KiB Buffer, allocated on first write)
//         ├─ page 1      (missing: reads as zeroes)
//         ├─ …
//         └─ page 2^48-1 (a 2^63-byte disk still has page numbers that fit a JS Number)
//
// Pages live in a Map keyed by page number, so memory grows with data written, never with the
// disk size. Zeroing or trimming a whole page frees it; zeroing part of a page frees it when
// the page becomes all zero (as nbdkit does). Writes always allocate (no zero detection).
// Single-threaded JS needs no lock (nbdkit's global mutex is its noted weak point).

import { EXTENT_HOLE, EXTENT_ZERO, type Extent } from './backend.ts';

export const PAGE_SHIFT = 15;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_MASK = BigInt(PAGE_SIZE - 1);
const SHIFT = BigInt(PAGE_SHIFT);

function isZero(b: Buffer, start = 0, end = b.length): boolean {
  // Compare 8 bytes at a time where aligned; pages are 32 KiB so this is short.
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) if (b[i] !== 0) return false;
  for (; i + 8 <= end; i += 8) if (b.readBigUInt64LE(i) !== 0n) return false;
  for (; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

export class SparseArray {
  private pages = new Map<number, Buffer>();

  /** Allocated bytes (for memory accounting and tests). */
  get allocatedBytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  clear(): void {
    this.pages.clear();
  }

  read(buf: Buffer, offset: bigint): void {
    let page = Number(offset >> SHIFT);
    let inPage = Number(offset & PAGE_MASK);
    let done = 0;
    while (done < buf.length) {
      const n = Math.min(PAGE_SIZE - inPage, buf.length - done);
      const p = this.pages.get(page);
      if (p) p.copy(buf, done, inPage, inPage + n);
      else buf.fill(0, done, done + n);
      done += n;
      page++;
      inPage = 0;
    }
  }

  write(buf: Buffer, offset: bigint): void {
    let page = Number(offset >> SHIFT);
    let inPage = Number(offset & PAGE_MASK);
    let done = 0;
    while (done < buf.length) {
      const n = Math.min(PAGE_SIZE - inPage, buf.length - done);
      let p = this.pages.get(page);
      if (!p) {
        // A write covering the whole page overwrites every byte: no need to zero it first.
        p = n === PAGE_SIZE ? Buffer.allocUnsafe(PAGE_SIZE) : Buffer.alloc(PAGE_SIZE);
        this.pages.set(page, p);
      }
      buf.copy(p, inPage, done, done + n);
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
      if (p) {
        if (n === PAGE_SIZE) this.pages.delete(page);
        else {
          p.fill(0, inPage, inPage + n);
          if (isZero(p)) this.pages.delete(page);
        }
      }
      pos += BigInt(n);
    }
  }

  /**
   * Extents from `offset` for up to `count` bytes at page granularity: no page → hole|zero,
   * an all-zero page → zero, otherwise data. Adjacent alike extents are merged.
   */
  extents(count: number, offset: bigint): Extent[] {
    const out: Extent[] = [];
    const end = offset + BigInt(count);
    let pos = offset;
    while (pos < end) {
      const page = Number(pos >> SHIFT);
      const inPage = pos & PAGE_MASK;
      const len = BigInt(PAGE_SIZE) - inPage;
      const p = this.pages.get(page);
      const type = p ? (isZero(p) ? EXTENT_ZERO : 0) : EXTENT_HOLE | EXTENT_ZERO;
      const last = out[out.length - 1];
      if (last && last.type === type) last.length += len;
      else out.push({ length: len, type });
      pos += len;
    }
    // The last extent may overshoot the request; the protocol layer clips it.
    return out;
  }
}
