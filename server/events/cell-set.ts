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
