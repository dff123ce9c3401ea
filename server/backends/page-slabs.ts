// The RAM disk's pages, cut from 64 MiB slabs rather than allocated one by one.
//
// Why: the memory of whole pages should sit in transparent huge pages (on one test VM a first
// write into 4 KiB pages cost about twice as much; not on every VM: docs/performance.md).
// glibc's `hugetlb=1` tunable (set by the command's shebang) asks for them in its main arena's
// heap and for every chunk it maps on its own, but not in the arenas of other threads, so 32 KiB
// pages allocated by a disk's worker thread stayed in 4 KiB pages. A 64 MiB slab is above
// glibc's largest mmap threshold (32 MiB), so it is always mapped on its own and gets huge pages
// from any thread. One allocation per 2,048 pages is also cheaper than one each.
//
// A page is a number (its slot: slab index × slots per slab + slot), not a Buffer view: a disk
// with hundreds of thousands of pages written kept as many view objects in the JS heap, and
// every major GC marked them all (200,000 views: a full GC of 21 ms against 6 ms with numbers,
// bench/page-gc.mjs), and a disk that grows makes many: V8 runs a mark-compact for about every
// 64 MiB slab allocated (docs/performance.md). Callers copy through memoryOf()/offsetOf(), and
// make a view only for a reply that sends the page itself.
//
// Two kinds of slab. A page that a write fills whole (a sequential write, a copy) is cut from a
// "dense" slab: Buffer memory from glibc, in huge pages. A new page that a small write touches
// only in part (4 KiB random writes into an empty disk: mkfs's metadata, a VM's first boot) is
// cut from a "sparse" slab: a WebAssembly memory, which V8 maps itself, zero-filled and outside
// glibc's heap, so no huge pages are asked for and the kernel maps only the 4 KiB pieces written.
// In a huge page, the first 4 KiB written into a slot made the kernel clear 2 MiB, 32 KiB per
// page on average: 8.5 times the bytes written in RSS under such a flood, and most of the
// engine's time (docs/performance.md). Where V8 cannot make a WebAssembly memory (address space
// for its guard regions), a sparse slab is a zero-filled Buffer.
//
// A slot is handed out again only after release(): the sparse array releases a page once it is
// neither in the disk nor lent to a reply, so a lent view never shows another page's bytes.
// A slab whose pages are all released is dropped, and the GC gives its memory back, unless it is
// the only one: a disk that writes and trims the same few pages keeps its one slab rather than
// mapping (and faulting in) a new one each time. Its index is used again by the next new slab
// (no slot of it is in use any more), so the slab table stays dense.

export const SLAB_BYTES = 64 << 20;

type SlabKind = 'dense' | 'sparse';

interface Slab {
  readonly memory: Buffer;
  readonly index: number;
  readonly kind: SlabKind;
  /** Slots cut so far; the slots after them have never been used (and are zero). */
  cut: number;
  /** Released slots (numbers within the slab), to hand out again. */
  readonly free: number[];
  /** Slots handed out and not released. */
  used: number;
}

const WASM_PAGE = 64 << 10;

/** A zero-filled WebAssembly memory of `bytes` (a multiple of 64 KiB). */
const wasmMemory = (bytes: number) =>
  new WebAssembly.Memory({ initial: bytes / WASM_PAGE, maximum: bytes / WASM_PAGE }).buffer;

/**
 * Sparse slabs' memory: zero-filled, out of glibc's reach (see the top of this file). Each
 * WebAssembly memory holds several slabs: V8 runs a garbage collection for about every 64 MiB of
 * ArrayBuffer memory allocated, and under a flood of small writes into an empty disk sparse slabs
 * are used up fast (32 KiB of slot for each 4 KiB written), while only what is written is mapped
 * (16 GiB flood: 9-10 mark-compacts in 6 s against 34-42 with a memory per slab). The cost: a
 * dropped slab's memory goes back to the system only with the other slabs of its memory.
 */
export class SparseMemory {
  private memory: ArrayBuffer | null = null;
  private next = 0;
  private fails = false;

  constructor(
    private readonly slabBytes: number,
    private readonly slabsPerMemory = 8,
    private readonly allocate = wasmMemory,
  ) {}

  slab(): Buffer {
    if (this.fails) return Buffer.alloc(this.slabBytes);
    if (!this.memory || this.next === this.slabsPerMemory) {
      const bytes = Math.ceil((this.slabBytes * this.slabsPerMemory) / WASM_PAGE) * WASM_PAGE;
      try {
        this.memory = this.allocate(bytes);
      } catch {
        this.fails = true; // V8 is out of address space for them: do not try again each slab
        return Buffer.alloc(this.slabBytes);
      }
      this.next = 0;
    }
    return Buffer.from(this.memory, this.slabBytes * this.next++, this.slabBytes);
  }
}

export class PageSlabs {
  /** By slab index; a dropped slab's place is empty until a new slab takes its index. */
  private slabs: Array<Slab | undefined> = [];
  private freeIndexes: number[] = [];
  private held = 0;
  /** Slabs with released slots, in the order they got one: reused before any slot is cut. */
  private readonly withFree = new Set<Slab>();
  /** The slab of each kind that still has never-used slots. */
  private cutting: Record<SlabKind, Slab | undefined> = { dense: undefined, sparse: undefined };
  private readonly slotsPerSlab: number;
  private readonly sparse: SparseMemory;

  constructor(
    private readonly pageSize: number,
    slabBytes = SLAB_BYTES,
  ) {
    this.slotsPerSlab = Math.floor(slabBytes / pageSize);
    this.sparse = new SparseMemory(this.slotsPerSlab * pageSize);
  }

  /** A page (its number) of unspecified content, for a write that fills it whole. */
  take(): number {
    return this.slot('dense', false);
  }

  /**
   * A page of zeroes, for a write that fills it in part. A never-used slot is zero already and
   * its memory untouched: only what is written into it gets mapped. A released slot is cleared.
   */
  takeZeroed(): number {
    return this.slot('sparse', true);
  }

  private slot(kind: SlabKind, zeroed: boolean): number {
    const reused: Slab | undefined = this.withFree.values().next().value;
    if (reused) {
      const slot = reused.free.pop()!;
      if (reused.free.length === 0) this.withFree.delete(reused);
      reused.used++;
      if (zeroed) reused.memory.fill(0, slot * this.pageSize, (slot + 1) * this.pageSize);
      return reused.index * this.slotsPerSlab + slot;
    }
    const slab = (this.cutting[kind] ??= this.newSlab(kind));
    const slot = slab.cut++;
    slab.used++;
    if (slab.cut === this.slotsPerSlab) this.cutting[kind] = undefined;
    return slab.index * this.slotsPerSlab + slot;
  }

  private newSlab(kind: SlabKind): Slab {
    const bytes = this.slotsPerSlab * this.pageSize;
    const memory = kind === 'sparse' ? this.sparse.slab() : Buffer.alloc(bytes);
    const slab = { memory, index: this.freeIndexes.pop() ?? this.slabs.length, kind, cut: 0, free: [], used: 0 };
    this.slabs[slab.index] = slab;
    this.held++;
    return slab;
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
      this.withFree.delete(slab);
      if (this.cutting[slab.kind] === slab) this.cutting[slab.kind] = undefined;
      return;
    }
    slab.free.push(page % this.slotsPerSlab);
    this.withFree.add(slab);
  }

  /** Forgets every slab; views still held by replies keep their memory alive until the GC sees them go. */
  clear(): void {
    this.slabs = [];
    this.freeIndexes = [];
    this.held = 0;
    this.withFree.clear();
    this.cutting = { dense: undefined, sparse: undefined };
  }

  /** Slabs held (tests). */
  get slabCount(): number {
    return this.held;
  }

  /** Slabs held of each kind (tests). */
  get slabKinds(): Record<SlabKind, number> {
    const n = { dense: 0, sparse: 0 };
    for (const slab of this.slabs) if (slab) n[slab.kind]++;
    return n;
  }
}
