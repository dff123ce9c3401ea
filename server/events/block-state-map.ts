// Exact data state of every 4 KiB block of a disk, for disks up to 2^51 blocks, with exact
// counts per state kept up to date on every change.
//
//   coarse runs   [0 ───────── untouched ─────────)[── trimmed ──)[── untouched ──)   page-granular
//   detail pages        [Uint8Array(65536)]              [Uint8Array(65536)]          per block
//
// Pages are 65536 blocks (256 MiB). Operations that cover whole pages only edit the coarse run
// list (a sorted array of run starts: a whole-disk trim of 7 EiB is one splice); partial pages
// get a detail array, which overrides its page's coarse state. Random 4 KiB I/O touches detail
// arrays only (O(blocks touched)); memory is 64 KiB per touched 256 MiB.
//
// Counts: total[s] = coarse[s] − shadow[s] + detail[s], where shadow[s] counts the coarse state
// hidden under detail pages.

import { BlockState } from '../shared/types.ts';

const PAGE_SHIFT = 16;
export const PAGE_BLOCKS = 1 << PAGE_SHIFT;
const NSTATES = 4;

/** The map's contents (a recording's whole keyframe). */
export interface BlockStateExport {
  /** Coarse runs: run i covers pages [starts[i], starts[i+1]) in states[i]. */
  starts: number[];
  states: number[];
  /** Pages with per-block detail, one byte (BlockState) per block. */
  detail: Array<[page: number, states: Uint8Array]>;
}

export class BlockStateMap {
  /** Coarse runs: run i covers pages [starts[i], starts[i+1]) (last to pageCount) in states[i]. */
  private starts: number[] = [0];
  private states: number[] = [BlockState.UNTOUCHED];
  private detail = new Map<number, Uint8Array>();
  private coarse = new Float64Array(NSTATES);
  private shadow = new Float64Array(NSTATES);
  private detailCounts = new Float64Array(NSTATES);
  private readonly pageCount: number;

  constructor(readonly blocks: number) {
    this.pageCount = Math.ceil(blocks / PAGE_BLOCKS);
    this.coarse[BlockState.UNTOUCHED] = blocks;
  }

  clear(): void {
    this.starts = [0];
    this.states = [BlockState.UNTOUCHED];
    this.detail.clear();
    this.coarse.fill(0);
    this.shadow.fill(0);
    this.detailCounts.fill(0);
    this.coarse[BlockState.UNTOUCHED] = this.blocks;
  }

  /** A copy of the coarse runs (a recording's whole keyframe; the detail pages it reads live). */
  exportRuns(): Pick<BlockStateExport, 'starts' | 'states'> {
    return { starts: this.starts.slice(), states: this.states.slice() };
  }

  /** The pages that have per-block detail now. */
  detailPages(): number[] {
    return [...this.detail.keys()];
  }

  /** A page's live per-block states, or undefined when its coarse run says all (pageState). */
  pageDetail(page: number): Uint8Array | undefined {
    return this.detail.get(page);
  }

  /** The coarse state of a page (what its blocks are unless it has detail). */
  pageState(page: number): BlockState {
    return this.states[this.runAt(page)] as BlockState;
  }

  /** Replace the map with an exported one (counts recomputed). */
  importState(x: BlockStateExport): void {
    this.clear();
    this.coarse.fill(0);
    this.starts = x.starts.slice();
    this.states = x.states.slice();
    for (let i = 0; i < this.starts.length; i++) {
      const from = this.starts[i] * PAGE_BLOCKS;
      const to = Math.min(this.runEnd(i) * PAGE_BLOCKS, this.blocks);
      this.coarse[this.states[i]] += to - from;
    }
    for (const [page, d] of x.detail) {
      if (d.length !== this.pageBlocks(page)) throw new Error(`block map page ${page} has the wrong size`);
      const copy = d.slice();
      this.detail.set(page, copy);
      const base = this.states[this.runAt(page)];
      this.shadow[base] += copy.length;
      for (let i = 0; i < copy.length; i++) this.detailCounts[copy[i]]++;
    }
  }

  /** Exact number of blocks in `state`. */
  count(state: BlockState): number {
    return this.coarse[state] - this.shadow[state] + this.detailCounts[state];
  }

  private pageBlocks(page: number): number {
    return Math.min(PAGE_BLOCKS, this.blocks - page * PAGE_BLOCKS);
  }

  /** Index of the coarse run containing `page`. */
  private runAt(page: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= page) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private runEnd(i: number): number {
    return i + 1 < this.starts.length ? this.starts[i + 1] : this.pageCount;
  }

  get(block: number): BlockState {
    const page = block >>> 0 === block ? block >>> PAGE_SHIFT : Math.floor(block / PAGE_BLOCKS);
    const d = this.detail.get(page);
    if (d) return d[block - page * PAGE_BLOCKS] as BlockState;
    return this.states[this.runAt(page)] as BlockState;
  }

  /** Set blocks [first, end) to `state`. */
  set(first: number, end: number, state: BlockState): void {
    end = Math.min(end, this.blocks);
    if (first >= end) return;
    const firstPage = Math.floor(first / PAGE_BLOCKS);
    const lastPage = Math.floor((end - 1) / PAGE_BLOCKS);
    // Whole pages strictly inside, and partial edges.
    let wholeFrom = firstPage;
    let wholeTo = lastPage + 1;
    if (first > firstPage * PAGE_BLOCKS) {
      this.setInPage(firstPage, first, Math.min(end, (firstPage + 1) * PAGE_BLOCKS), state);
      wholeFrom = firstPage + 1;
    }
    if (lastPage >= wholeFrom && end < lastPage * PAGE_BLOCKS + this.pageBlocks(lastPage)) {
      this.setInPage(lastPage, Math.max(first, lastPage * PAGE_BLOCKS), end, state);
      wholeTo = lastPage;
    }
    if (wholeFrom < wholeTo) this.setWholePages(wholeFrom, wholeTo, state);
  }

  private setInPage(page: number, first: number, end: number, state: BlockState): void {
    let d = this.detail.get(page);
    if (!d) {
      const base = this.states[this.runAt(page)];
      const n = this.pageBlocks(page);
      d = new Uint8Array(n).fill(base);
      this.detail.set(page, d);
      this.shadow[base] += n;
      this.detailCounts[base] += n;
    }
    const off = page * PAGE_BLOCKS;
    const counts = this.detailCounts;
    for (let i = first - off, e = end - off; i < e; i++) {
      const old = d[i];
      if (old !== state) {
        counts[old]--;
        counts[state]++;
        d[i] = state;
      }
    }
  }

  private dropDetail(page: number, d: Uint8Array): void {
    for (let i = 0; i < d.length; i++) this.detailCounts[d[i]]--;
    this.shadow[this.states[this.runAt(page)]] -= d.length;
    this.detail.delete(page);
  }

  private setWholePages(from: number, to: number, state: BlockState): void {
    // Detail pages under the range disappear: the coarse state now says everything.
    if (this.detail.size <= to - from) {
      for (const [page, d] of this.detail) if (page >= from && page < to) this.dropDetail(page, d);
    } else {
      for (let p = from; p < to; p++) {
        const d = this.detail.get(p);
        if (d) this.dropDetail(p, d);
      }
    }
    // Subtract the old coarse states of [from, to).
    const blocksOf = (a: number, b: number) => Math.min(b * PAGE_BLOCKS, this.blocks) - a * PAGE_BLOCKS;
    let i = this.runAt(from);
    const firstRun = i;
    for (; i < this.starts.length && this.starts[i] < to; i++) {
      const a = Math.max(this.starts[i], from);
      const b = Math.min(this.runEnd(i), to);
      this.coarse[this.states[i]] -= blocksOf(a, b);
    }
    const lastRun = i - 1;
    this.coarse[state] += blocksOf(from, to);
    // Replace runs firstRun..lastRun with: [head part] [from,to)=state [tail part].
    const newStarts: number[] = [];
    const newStates: number[] = [];
    if (this.starts[firstRun] < from) {
      newStarts.push(this.starts[firstRun]);
      newStates.push(this.states[firstRun]);
    }
    newStarts.push(from);
    newStates.push(state);
    if (this.runEnd(lastRun) > to) {
      newStarts.push(to);
      newStates.push(this.states[lastRun]);
    }
    this.starts.splice(firstRun, lastRun - firstRun + 1, ...newStarts);
    this.states.splice(firstRun, lastRun - firstRun + 1, ...newStates);
    this.mergeAround(firstRun + newStarts.length + 1, firstRun - 1);
  }

  /** Merge equal neighbouring runs in [lo, hi]. */
  private mergeAround(hi: number, lo: number): void {
    for (let i = Math.min(hi, this.starts.length - 1); i > Math.max(lo, 0); i--) {
      if (this.states[i] === this.states[i - 1]) {
        this.starts.splice(i, 1);
        this.states.splice(i, 1);
      }
    }
  }

  /**
   * maxState() of many cells of `k` blocks each (cell c = blocks [c·k, c·k+k)), into `out`.
   * A frame after a seek or an import asks this of every cell: neighbouring cells in one page
   * share its lookup instead of repeating it.
   */
  maxStates(cells: Uint32Array, k: number, out: Uint8Array): void {
    let page = -1;
    let d: Uint8Array | undefined;
    let run = 0;
    for (let i = 0; i < cells.length; i++) {
      const first = cells[i] * k;
      const end = Math.min(first + k, this.blocks);
      const p = Math.floor(first / PAGE_BLOCKS);
      if (first >= end || p !== Math.floor((end - 1) / PAGE_BLOCKS)) {
        out[i] = this.maxState(first, end);
        continue;
      }
      if (p !== page) {
        page = p;
        d = this.detail.get(p);
        if (!d) run = this.states[this.runAt(p)];
      }
      if (!d) {
        out[i] = run;
        continue;
      }
      let best = 0;
      const off = p * PAGE_BLOCKS;
      for (let j = first - off, e = end - off; j < e && best < NSTATES - 1; j++) if (d[j] > best) best = d[j];
      out[i] = best;
    }
  }

  /** Highest-priority state among blocks [first, end) (the merged pixel's state). */
  maxState(first: number, end: number): BlockState {
    end = Math.min(end, this.blocks);
    let best = 0;
    if (first >= end) return 0;
    const firstPage = Math.floor(first / PAGE_BLOCKS);
    const lastPage = Math.floor((end - 1) / PAGE_BLOCKS);
    if (firstPage === lastPage) {
      const d = this.detail.get(firstPage);
      if (!d) return this.states[this.runAt(firstPage)] as BlockState;
      const off = firstPage * PAGE_BLOCKS;
      for (let i = first - off, e = end - off; i < e && best < NSTATES - 1; i++) if (d[i] > best) best = d[i];
      return best as BlockState;
    }
    // Spans pages: detail pages in range, plus coarse runs over pages that have no detail.
    let detailInRange = 0;
    const scan = (page: number, d: Uint8Array) => {
      detailInRange++;
      const off = page * PAGE_BLOCKS;
      const a = Math.max(first, off) - off;
      const b = Math.min(end, off + d.length) - off;
      for (let i = a; i < b && best < NSTATES - 1; i++) if (d[i] > best) best = d[i];
    };
    if (this.detail.size <= lastPage - firstPage + 1) {
      for (const [p, d] of this.detail) if (p >= firstPage && p <= lastPage) scan(p, d);
    } else {
      for (let p = firstPage; p <= lastPage; p++) {
        const d = this.detail.get(p);
        if (d) scan(p, d);
      }
    }
    if (detailInRange < lastPage - firstPage + 1) {
      for (let i = this.runAt(firstPage); i < this.starts.length && this.starts[i] <= lastPage; i++) {
        if (this.states[i] <= best) continue;
        // Is some page of this run within range free of detail?
        const a = Math.max(this.starts[i], firstPage);
        const b = Math.min(this.runEnd(i), lastPage + 1);
        let free = false;
        for (let p = a; p < b && !free; p++) free = !this.detail.has(p);
        if (free) best = this.states[i];
      }
    }
    return best as BlockState;
  }
}
