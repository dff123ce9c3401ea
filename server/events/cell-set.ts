// A growable list of cell indexes with a membership flag per cell: the dirty and read sets
// of DiskStats (each cell at most once per frame, whatever the request rate).

export class CellSet {
  readonly flags: Uint8Array;
  list: Uint32Array;
  size = 0;
  constructor(cells: number) {
    this.flags = new Uint8Array(cells);
    this.list = new Uint32Array(Math.min(cells, 1024));
  }
  addRange(a: number, b: number): void {
    for (let c = a; c <= b; c++) {
      if (this.flags[c]) continue;
      this.flags[c] = 1;
      if (this.size === this.list.length) {
        const bigger = new Uint32Array(Math.min(this.flags.length, this.list.length * 2));
        bigger.set(this.list);
        this.list = bigger;
      }
      this.list[this.size++] = c;
    }
  }
  take(): Uint32Array {
    const out = this.list.slice(0, this.size);
    for (let i = 0; i < this.size; i++) this.flags[this.list[i]] = 0;
    this.size = 0;
    return out;
  }
}

/**
 * The cells changed since the last take(), kept as a stamp per cell rather than a list: marking
 * is a store per cell, with no test and no append. A recorded disk marks on every request, and
 * under a random-write flood almost every request marks a cell not yet marked, where a CellSet's
 * test and append cost ~0.1 µs (cache misses, mostly). Counting and taking read every cell, a few
 * times a second at most.
 */
export class CellStamps {
  private readonly stamps: Uint8Array;
  /** The stamp of the cells marked since the last take (older stamps are stale). */
  private stamp = 1;
  constructor(cells: number) {
    this.stamps = new Uint8Array(cells);
  }
  mark(a: number, b: number): void {
    const s = this.stamps;
    const v = this.stamp;
    for (let c = a; c <= b; c++) s[c] = v;
  }
  count(): number {
    const s = this.stamps;
    const v = this.stamp;
    let n = 0;
    for (let c = 0; c < s.length; c++) if (s[c] === v) n++;
    return n;
  }
  /** The marked cells in ascending order; the set is empty afterwards. */
  takeSorted(): Uint32Array {
    const out = new Uint32Array(this.count());
    const s = this.stamps;
    const v = this.stamp;
    for (let c = 0, n = 0; n < out.length; c++) if (s[c] === v) out[n++] = c;
    this.take();
    return out;
  }
  /** Empty the set: a new stamp, and every 255th time the old ones wiped. */
  take(): void {
    if (++this.stamp === 256) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }
}
