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
// A page is a number (its slot: slab index × slots per slab + slot), not a Buffer view: a disk
// with hundreds of thousands of pages written kept as many view objects in the JS heap, and
// every major GC marked them all (200,000 views: a full GC of 21 ms against 6 ms with numbers,
// bench/page-gc.mjs), and a disk that grows makes many: V8 runs a mark-compact for about every
// 64 MiB slab allocated (docs/performance.md). Callers copy through memoryOf()/offsetOf(), and
// make a view only for a reply that sends the page itself.
//
// A slot is handed out again only after release(): the sparse array releases a page once it is
// neither in the disk nor lent to a reply, so a lent view never shows another page's bytes.
// A slab whose pages are all released is dropped, and the GC gives its memory back, unless it is
// the only one: a disk that writes and trims the same few pages keeps its one slab rather than
// mapping (and faulting in) a new one each time. Its index is used again by the next new slab
// (no slot of it is in use any more), so the slab table stays dense.

export const SLAB_BYTES = 64 << 20;

interface Slab {
  readonly memory: Buffer;
  readonly index: number;
  /** Slots cut so far; the slots after them have never been used. */
  cut: number;
  /** Released slots (numbers within the slab), to hand out again. */
  readonly free: number[];
  /** Slots handed out and not released. */
  used: number;
}

export class PageSlabs {
  /** By slab index; a dropped slab's place is empty until a new slab takes its index. */
  private slabs: Array<Slab | undefined> = [];
  private freeIndexes: number[] = [];
  private held = 0;
  /** Slabs with a free or never-used slot, in the order they got one. */
  private readonly withRoom = new Set<Slab>();
  private readonly slotsPerSlab: number;

  constructor(
    private readonly pageSize: number,
    slabBytes = SLAB_BYTES,
  ) {
    this.slotsPerSlab = Math.floor(slabBytes / pageSize);
  }

  /** A page (its number) of unspecified content: a slot released before keeps its old bytes. */
  take(): number {
    return this.cut(false);
  }

  /**
   * A page of zeroes. A never-used slot is zero already (slabs are allocated zero-filled, and the
   * kernel maps their memory only where it is first touched): not writing it keeps a small write
   * into a fresh page from touching, and faulting in, the whole 32 KiB. A released slot is cleared.
   */
  takeZeroed(): number {
    return this.cut(true);
  }

  private cut(zeroed: boolean): number {
    let slab: Slab | undefined = this.withRoom.values().next().value;
    if (!slab) {
      const memory = Buffer.alloc(this.slotsPerSlab * this.pageSize);
      slab = { memory, index: this.freeIndexes.pop() ?? this.slabs.length, cut: 0, free: [], used: 0 };
      this.slabs[slab.index] = slab;
      this.held++;
      this.withRoom.add(slab);
    }
    const released = slab.free.pop();
    const slot = released ?? slab.cut++;
    if (zeroed && released !== undefined) slab.memory.fill(0, released * this.pageSize, (released + 1) * this.pageSize);
    slab.used++;
    if (slab.free.length === 0 && slab.cut === this.slotsPerSlab) this.withRoom.delete(slab);
    return slab.index * this.slotsPerSlab + slot;
  }

  /** The slab memory holding page `page` (from take(), not released), at offsetOf(page). */
  memoryOf(page: number): Buffer {
    return this.slabs[Math.floor(page / this.slotsPerSlab)]!.memory;
  }

  offsetOf(page: number): number {
    return (page % this.slotsPerSlab) * this.pageSize;
  }

  /** A view of the whole page (a reply that sends the page itself holds it). */
  view(page: number): Buffer {
    const at = this.offsetOf(page);
    return this.memoryOf(page).subarray(at, at + this.pageSize);
  }

  /** Gives back a page from take(). Never after clear() (the number may name a new page then). */
  release(page: number): void {
    const index = Math.floor(page / this.slotsPerSlab);
    const slab = this.slabs[index]!;
    if (--slab.used === 0 && this.held > 1) {
      this.slabs[index] = undefined;
      this.freeIndexes.push(index);
      this.held--;
      this.withRoom.delete(slab);
      return;
    }
    slab.free.push(page % this.slotsPerSlab);
    this.withRoom.add(slab);
  }

  /** Forgets every slab; views still held by replies keep their memory alive until the GC sees them go. */
  clear(): void {
    this.slabs = [];
    this.freeIndexes = [];
    this.held = 0;
    this.withRoom.clear();
  }

  /** Slabs held (tests). */
  get slabCount(): number {
    return this.held;
  }
}
