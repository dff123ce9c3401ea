// A checkpoint's keyframes written over several turns of the engine thread, exactly as the disks
// were at the checkpoint's instant. Under a 4 KiB random-write flood over a 16 GiB disk a delta
// names thousands of scattered cells and a whole keyframe is ~8 MB: written in one go, each was
// a turn of several to tens of ms, which the control server (on the same thread) waited out.
//
// Copy on write: at the instant the export fixes what it will write (the changed cells of a
// delta; the block-map pages and the layout of a whole keyframe) and hooks DiskStats'
// beforeChange. It then copies a slice per step. An event about to change a cell not yet copied
// has that cell copied first, so nothing written is newer than the instant. The bytes are the
// same as a keyframe written at once (keyframe.ts reads both kinds).

import { PAGE_BLOCKS } from '../events/block-state-map.ts';
import { MIXED_CELL, type DiskStats } from '../events/disk-stats.ts';
import { ByteWriter } from './bytes.ts';
import { relMs, writeHead, writePending, type Keyframe } from './keyframe.ts';

/** What a keyframe says besides the model: where the disk's events continue, requests in flight. */
export type KeyframeHead = Omit<Keyframe, 'model'>;

export interface KeyframeExport {
  /**
   * Write more of the keyframe into `body` (after the keyframes of the disks before it), at
   * least one slice and then until performance.now() passes `deadline`; true when all is written.
   */
  step(body: ByteWriter, deadline: number): boolean;
}

/** Cells a whole keyframe copies per slice, and a delta encodes between looks at the clock. */
const WHOLE_SLICE_CELLS = 4096;
const DELTA_SLICE_CELLS = 256;

function hook(stats: DiskStats, copyFirst: (first: number, last: number) => void): void {
  if (stats.beforeChange) throw new Error(`disk ${stats.diskNumber}: a checkpoint is already being exported`);
  stats.beforeChange = copyFirst;
}

/**
 * A whole keyframe (keyframe.ts's layout). Its size is known at the instant, so the layout is
 * written into the body at once with room for the per-cell arrays and the block-map pages, and
 * the slices (and the cells copied first) fill that room in place: one copy from the live arrays.
 */
export class WholeExport implements KeyframeExport {
  private readonly cells: number;
  private readonly k: number;
  private readonly blocks: number;
  /** Where each array's room starts in the body. */
  private readonly at: { errorMark: number; lastOp: number; reads: number; writes: number; lastTime: number };
  /** The pages with detail at the instant, and where their room starts in the body. */
  private readonly pages = new Map<number, number>();
  /** Per slice: copied yet. */
  private readonly done: Uint8Array;
  private next = 0;
  private left: number;
  private readonly live: ReturnType<DiskStats['liveCells']>;
  private readonly readsBytes: Uint8Array;
  private readonly writesBytes: Uint8Array;
  private readonly rel = new Int32Array(WHOLE_SLICE_CELLS);
  private readonly relBytes = new Uint8Array(this.rel.buffer);
  private body: ByteWriter;

  constructor(
    private readonly stats: DiskStats,
    head: KeyframeHead,
    body: ByteWriter,
    private readonly wallStartMs: number,
  ) {
    const g = stats.geometry;
    this.cells = g.cells;
    this.k = g.blocksPerCell;
    this.blocks = g.blocks;
    this.body = body;
    writeHead(body, head, stats.counted());
    const runs = stats.states.exportRuns();
    const pages = stats.states.detailPages();
    // All of it at most: varints ≤ 9 bytes, a request in flight ≤ 64.
    body.room(
      9 * (3 + 2 * runs.starts.length + 2 * pages.length) +
        pages.length * PAGE_BLOCKS +
        14 * this.cells +
        64 * head.pending.length,
    );
    body.uv(runs.starts.length);
    for (let i = 0; i < runs.starts.length; i++) {
      body.uv(runs.starts[i]);
      body.u8(runs.states[i]);
    }
    body.uv(pages.length);
    for (const page of pages) {
      const n = stats.states.pageDetail(page)!.length;
      body.uv(page);
      body.uv(n);
      this.pages.set(page, body.reserve(n));
    }
    const n = this.cells;
    body.uv(n);
    this.at = {
      errorMark: body.reserve(n),
      lastOp: body.reserve(n),
      reads: body.reserve(4 * n),
      writes: body.reserve(4 * n),
      lastTime: body.reserve(4 * n),
    };
    writePending(body, head.pending);
    stats.markKeyframe();
    this.live = stats.liveCells();
    const bytesOf = (a: Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    this.readsBytes = bytesOf(this.live.reads);
    this.writesBytes = bytesOf(this.live.writes);
    this.left = Math.ceil(n / WHOLE_SLICE_CELLS);
    this.done = new Uint8Array(this.left);
    hook(stats, (first, last) => this.copyFirst(first, last));
  }

  step(body: ByteWriter, deadline: number): boolean {
    this.body = body;
    while (this.left > 0) {
      while (this.done[this.next]) this.next++;
      this.copySlice(this.next);
      if (performance.now() >= deadline) break;
    }
    if (this.left === 0) this.stats.beforeChange = null;
    return this.left === 0;
  }

  private copyFirst(first: number, last: number): void {
    const to = Math.floor(last / WHOLE_SLICE_CELLS);
    for (let s = Math.floor(first / WHOLE_SLICE_CELLS); s <= to; s++) if (!this.done[s]) this.copySlice(s);
  }

  /** Copy slice `s` (its cells' values and their blocks' detail) into its room in the body. */
  private copySlice(s: number): void {
    const buf = this.body.buf;
    const live = this.live;
    const c0 = s * WHOLE_SLICE_CELLS;
    const c1 = Math.min(this.cells, c0 + WHOLE_SLICE_CELLS);
    const n = c1 - c0;
    buf.set(live.errorMark.subarray(c0, c1), this.at.errorMark + c0);
    buf.set(live.lastOp.subarray(c0, c1), this.at.lastOp + c0);
    buf.set(this.readsBytes.subarray(4 * c0, 4 * c1), this.at.reads + 4 * c0);
    buf.set(this.writesBytes.subarray(4 * c0, 4 * c1), this.at.writes + 4 * c0);
    const rel = this.rel;
    for (let i = 0; i < n; i++) rel[i] = live.lastOp[c0 + i] ? relMs(live.lastTime[c0 + i], this.wallStartMs) : 0;
    buf.set(this.relBytes.subarray(0, 4 * n), this.at.lastTime + 4 * c0);
    // The blocks of these cells, in the pages that had detail at the instant. A page loses its
    // detail only to a change of all its blocks, whose cells were copied before it.
    const b0 = c0 * this.k;
    const b1 = Math.min(c1 * this.k, this.blocks);
    if (this.pages.size > 0) {
      for (let p = Math.floor(b0 / PAGE_BLOCKS), pe = Math.floor((b1 - 1) / PAGE_BLOCKS); p <= pe; p++) {
        const room = this.pages.get(p);
        if (room === undefined) continue;
        const d = this.stats.states.pageDetail(p)!;
        const base = p * PAGE_BLOCKS;
        const from = Math.max(b0, base) - base;
        const to = Math.min(b1, base + d.length) - base;
        buf.set(d.subarray(from, to), room + from);
      }
    }
    this.done[s] = 1;
    this.left--;
  }
}

/**
 * A delta keyframe (keyframe.ts's layout): the changed cells, ascending, each a few varints and
 * its blocks' states. Cells are encoded in order, straight from the live model; a cell about to
 * change before its turn is encoded at once into a side buffer, and copied from there in order.
 */
export class DeltaExport implements KeyframeExport {
  /** Head and cell count; the requests in flight (both as of the instant). */
  private readonly start: Uint8Array;
  private readonly end: Uint8Array;
  private started = false;
  private next = 0;
  /** Cells encoded ahead of their turn: list index → [offset, length] in `early`. */
  private readonly earlyAt = new Map<number, [number, number]>();
  private readonly early = new ByteWriter(1024);
  private readonly live: ReturnType<DiskStats['liveCells']>;
  private readonly k: number;
  private readonly blocks: number;

  /**
   * `cells`: the changed cells, ascending (DiskStats.takeChangedCells); `waiting`: one byte per
   * cell of the disk, all zero, kept by the caller between checkpoints (zero again when done).
   */
  constructor(
    private readonly stats: DiskStats,
    head: KeyframeHead,
    private readonly cells: Uint32Array,
    private readonly waiting: Uint8Array,
    private readonly wallStartMs: number,
  ) {
    const w = new ByteWriter(512);
    writeHead(w, head, stats.counted());
    w.uv(cells.length);
    this.start = w.view().slice();
    w.reset();
    writePending(w, head.pending);
    this.end = w.view().slice();
    this.live = stats.liveCells();
    this.k = stats.geometry.blocksPerCell;
    this.blocks = stats.geometry.blocks;
    for (let i = 0; i < cells.length; i++) waiting[cells[i]] = 1;
    hook(stats, (first, last) => this.copyFirst(first, last));
  }

  step(body: ByteWriter, deadline: number): boolean {
    if (!this.started) {
      body.bytes(this.start);
      this.started = true;
    }
    const cells = this.cells;
    const n = cells.length;
    while (this.next < n) {
      for (const e = Math.min(n, this.next + DELTA_SLICE_CELLS); this.next < e; this.next++) {
        const i = this.next;
        const c = cells[i];
        body.uv(i === 0 ? c : c - cells[i - 1]);
        if (this.waiting[c]) {
          this.waiting[c] = 0;
          this.encodeCell(body, c);
        } else {
          const [off, len] = this.earlyAt.get(i)!;
          body.bytes(this.early.buf.subarray(off, off + len));
        }
      }
      if (performance.now() >= deadline) break;
    }
    if (this.next < n) return false;
    body.bytes(this.end);
    this.stats.beforeChange = null;
    return true;
  }

  private copyFirst(first: number, last: number): void {
    const waiting = this.waiting;
    for (let c = first; c <= last; c++) {
      if (!waiting[c]) continue;
      waiting[c] = 0;
      const i = this.indexOf(c);
      const off = this.early.pos;
      this.encodeCell(this.early, c);
      this.earlyAt.set(i, [off, this.early.pos - off]);
    }
  }

  /** Where cell `c` (still waiting, so not yet encoded) is in the list. */
  private indexOf(c: number): number {
    let lo = this.next;
    let hi = this.cells.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cells[mid] < c) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A cell's values and block states, after its gap (keyframe.ts, readKeyframeDelta). */
  private encodeCell(w: ByteWriter, c: number): void {
    const live = this.live;
    w.u8(live.errorMark[c]);
    w.u8(live.lastOp[c]);
    w.uv(live.reads[c]);
    w.uv(live.writes[c]);
    if (live.lastOp[c]) w.sv(relMs(live.lastTime[c], this.wallStartMs));
    const fb = c * this.k;
    const n = Math.min(fb + this.k, this.blocks) - fb;
    const page = Math.floor(fb / PAGE_BLOCKS);
    const d = this.stats.states.pageDetail(page);
    if (!d) {
      w.u8(this.stats.states.pageState(page));
      return;
    }
    const from = fb - page * PAGE_BLOCKS;
    const s = d[from];
    let i = 1;
    while (i < n && d[from + i] === s) i++;
    if (i === n) {
      w.u8(s);
      return;
    }
    w.u8(MIXED_CELL);
    w.uv(n);
    w.bytes(d.subarray(from, from + n));
  }
}
