// The RAM disk's pages, cut from 64 MiB slabs rather than allocated one by one.
//
// Why: the memory should sit in transparent huge pages (on the test VM a first write into 4 KiB
// pages costs about twice as much; docs/performance.md). glibc's `hugetlb=1` tunable (set by the
// command's shebang) asks for them in its main arena's heap and for every chunk it maps on its
// own, but not in the arenas of other threads, so 32 KiB pages allocated by a disk's worker
// thread stayed in 4 KiB pages. A 64 MiB slab is above glibc's largest mmap threshold (32 MiB), so
// it is always mapped on its own and gets huge pages from any thread. One allocation per 2,048
// pages is also cheaper than one each.
//
// A slot is handed out again only after release(): the sparse array releases a page once it is
// neither in the disk nor lent to a reply, so a lent view never shows another page's bytes.
// A slab whose pages are all released is dropped, and the GC gives its memory back, unless it is
// the only one: a disk that writes and trims the same few pages keeps its one slab rather than
// mapping (and faulting in) a new one each time.

export const SLAB_BYTES = 64 << 20;

interface Slab {
  readonly memory: Buffer;
  /** Slots cut so far; the slots after them have never been used. */
  cut: number;
  /** Released slots, to hand out again. */
  readonly free: Buffer[];
  /** Slots handed out and not released. */
  used: number;
}

export class PageSlabs {
  private readonly slabs = new Map<ArrayBuffer, Slab>();
  /** Slabs with a free or never-used slot, in the order they got one. */
  private readonly withRoom = new Set<Slab>();
  private readonly slotsPerSlab: number;

  constructor(
    private readonly pageSize: number,
    slabBytes = SLAB_BYTES,
  ) {
    this.slotsPerSlab = Math.floor(slabBytes / pageSize);
  }

  /** A page of unspecified content: a slot released before keeps its old bytes. */
  take(): Buffer {
    let slab: Slab | undefined = this.withRoom.values().next().value;
    if (!slab) {
      const memory = Buffer.allocUnsafeSlow(this.slotsPerSlab * this.pageSize);
      slab = { memory, cut: 0, free: [], used: 0 };
      this.slabs.set(memory.buffer, slab);
      this.withRoom.add(slab);
    }
    const page = slab.free.pop() ?? slab.memory.subarray(slab.cut * this.pageSize, ++slab.cut * this.pageSize);
    slab.used++;
    if (slab.free.length === 0 && slab.cut === this.slotsPerSlab) this.withRoom.delete(slab);
    return page;
  }

  /** Gives back a page from take(). A page of a slab dropped by clear() is ignored. */
  release(page: Buffer): void {
    const slab = this.slabs.get(page.buffer as ArrayBuffer);
    if (!slab) return;
    if (--slab.used === 0 && this.slabs.size > 1) {
      this.slabs.delete(page.buffer as ArrayBuffer);
      this.withRoom.delete(slab);
      return;
    }
    slab.free.push(page);
    this.withRoom.add(slab);
  }

  /** Forgets every slab; pages still lent keep theirs alive until the GC sees them go. */
  clear(): void {
    this.slabs.clear();
    this.withRoom.clear();
  }

  /** Slabs held (tests). */
  get slabCount(): number {
    return this.slabs.size;
  }
}
