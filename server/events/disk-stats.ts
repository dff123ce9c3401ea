// Everything the UI and the API know about one disk, kept up to date from its event bus:
// exact counters per operation, in-flight requests, latency percentiles, the exact state of
// every block (BlockStateMap), and the grid picture (one byte per cell: BlockState | CELL_ERROR)
// with the cells changed since the last frame.
//
// This runs inside the NBD request path for every event, so per-event work is O(cells touched)
// and allocation-free; the picture is recomputed lazily, once per frame, for dirty cells only.
//
// (Longer than our ~350-line guide: the model's import from recordings' keyframes, whole and
// delta, must set every private field, so it stays in this class rather than behind accessors.
// Keyframes are written from the live arrays (liveCells) by server/record/keyframe-export.ts,
// which the beforeChange hook lets copy a cell before an event changes it.)

import { blockRange, cellStartByte, geometryFor } from '../shared/geometry.ts';
import {
  BLOCK_SIZE,
  BLOCK_STATE_NAMES,
  BlockState,
  CELL_ERROR,
  OPS,
  opIndex,
  type CellInfo,
  type DiskFrame,
  type DiskInfo,
  type GridGeometry,
  type Op,
  type OpCounter,
  type RequestEvent,
  type RequestPhase,
} from '../shared/types.ts';
import { BlockStateMap, PAGE_BLOCKS, type BlockStateExport } from './block-state-map.ts';
import { CellSet, CellStamps } from './cell-set.ts';
import type { EventBus } from './event-bus.ts';

export type DiskStatsSnapshot = Pick<
  DiskInfo,
  'counters' | 'inFlight' | 'blocks' | 'errorBlocks' | 'latencyUs' | 'grid'
>;

/**
 * Everything DiskStats knows besides requests in flight: what a recording's keyframe holds.
 * lastTime is wall-clock ms, as in CellInfo.
 */
export interface DiskModel {
  states: BlockStateExport;
  errorMark: Uint8Array;
  reads: Uint32Array;
  writes: Uint32Array;
  lastOp: Uint8Array;
  lastTime: Float64Array;
  counters: Record<Op, OpCounter>;
  /** Latency window, oldest first, and how many latencies were seen in all. */
  latencies: Float64Array;
  latencyCount: number;
}

/**
 * What changed since the previous keyframe (a recording's delta keyframe): the changed cells,
 * ascending, with their values and the states of their blocks.
 */
export interface DiskChanges {
  cells: Uint32Array;
  errorMark: Uint8Array;
  lastOp: Uint8Array;
  reads: Uint32Array;
  writes: Uint32Array;
  lastTime: Float64Array;
  /** Per changed cell: the BlockState all its blocks share, or MIXED_CELL (its states are in `mixed`). */
  state: Uint8Array;
  /** The block states of the MIXED_CELL cells, one byte per block, in cell order. */
  mixed: Uint8Array;
  /** Per changed cell: how many bytes of `mixed` are its (0 unless MIXED_CELL). */
  mixedLength: Uint32Array;
  counters: Record<Op, OpCounter>;
  latencies: Float64Array;
  latencyCount: number;
}

export const MIXED_CELL = 0xff;

/** Changes naming `cells`, their values zero, for the caller to fill in. */
export function newChanges(
  cells: Uint32Array,
  counted: Pick<DiskChanges, 'counters' | 'latencies' | 'latencyCount'>,
): DiskChanges {
  const n = cells.length;
  return {
    cells,
    errorMark: new Uint8Array(n),
    lastOp: new Uint8Array(n),
    reads: new Uint32Array(n),
    writes: new Uint32Array(n),
    lastTime: new Float64Array(n),
    state: new Uint8Array(n),
    mixed: new Uint8Array(0),
    mixedLength: new Uint32Array(n),
    ...counted,
  };
}

/** Most pending ranges sent per frame; more are merged into their neighbours. */
const MAX_PENDING_RANGES = 256;
const LATENCY_WINDOW = 1024;
/** One counter per op, indexed by opIndex(). */
function emptyCounters(): OpCounter[] {
  return OPS.map(() => ({ count: 0, bytes: 0, errors: 0, cancelled: 0 }));
}

export class DiskStats {
  readonly geometry: GridGeometry;
  readonly states: BlockStateMap;
  /** The picture: BlockState | CELL_ERROR per cell, as of the last frame cut. */
  readonly cells: Uint8Array;
  private readonly errorMark: Uint8Array;
  private readonly reads: Uint32Array;
  private readonly writes: Uint32Array;
  private readonly lastOp: Uint8Array; // opIndex + 1, 0 = none
  private readonly lastTime: Float64Array;
  private readonly dirty: CellSet;
  private readonly readNow: CellSet;
  private readonly writeNow: CellSet;
  /** Scratch marks for cutFrame (cells whose picture value changed this frame). */
  private readonly changedMark: Uint8Array;
  private readonly pending = new Set<RequestEvent>();
  private counters = emptyCounters();
  private inFlight = 0;
  private errorCells = 0;
  private latencies = new Float64Array(LATENCY_WINDOW);
  private latencyCount = 0;
  /** Bumped on clear(): a subscriber then needs a full picture. */
  epoch = 0;
  /** Cells changed since the last keyframe (markKeyframe, takeChangedCells), for delta keyframes; null before one. */
  private changedSinceKeyframe: CellStamps | null = null;
  /** The epoch of the last whole keyframe: a clear() since then needs a whole keyframe. */
  private keyframeEpoch = -1;
  /** True when something changed since the last frame cut (counters included). */
  private changed = true;
  private readonly unsubscribe: () => void;
  /** Wall-clock ms at event time 0 (lastTime = this + endUs / 1000); live: the process's time origin. */
  wallOffsetMs = performance.timeOrigin;
  /** Called after clear() (the recorder notes it). */
  readonly clearListeners = new Set<() => void>();
  /**
   * Called before anything changes the values of cells [first, last] (a request completing, a
   * clear): a recorder's checkpoint still copying the model copies those cells first.
   */
  beforeChange: ((first: number, last: number) => void) | null = null;

  constructor(
    readonly diskNumber: number,
    readonly size: bigint,
    bus: EventBus,
  ) {
    this.geometry = geometryFor(size);
    const n = this.geometry.cells;
    this.states = new BlockStateMap(this.geometry.blocks);
    this.cells = new Uint8Array(n);
    this.errorMark = new Uint8Array(n);
    this.reads = new Uint32Array(n);
    this.writes = new Uint32Array(n);
    this.lastOp = new Uint8Array(n);
    this.lastTime = new Float64Array(n);
    this.dirty = new CellSet(n);
    this.readNow = new CellSet(n);
    this.writeNow = new CellSet(n);
    this.changedMark = new Uint8Array(n);
    this.unsubscribe = bus.subscribe((phase, ev) => this.onEvent(phase, ev));
  }

  dispose(): void {
    this.unsubscribe();
  }

  /** The cells [first, last] a request touches (inclusive), clipped to the disk. */
  private cellSpan(ev: RequestEvent): [number, number] | null {
    const blocks = this.blocksOf(ev);
    return blocks && this.cellsOf(blocks[0], blocks[1]);
  }

  /** The blocks a request touches, null for flushes and empty requests. */
  private blocksOf(ev: RequestEvent): [number, number] | null {
    return ev.op === 'flush' || ev.length === 0 ? null : blockRange(ev.offset, ev.length);
  }

  private cellsOf(fb: number, eb: number): [number, number] | null {
    const g = this.geometry;
    if (fb >= g.blocks) return null;
    const k = g.blocksPerCell;
    return [Math.floor(fb / k), Math.floor((Math.min(eb, g.blocks) - 1) / k)];
  }

  private onEvent(phase: RequestPhase, ev: RequestEvent): void {
    this.changed = true;
    if (phase === 'start') {
      this.inFlight++;
      this.pending.add(ev);
      return;
    }
    if (this.pending.delete(ev)) this.inFlight--;
    const op = opIndex(ev.op);
    const c = this.counters[op];
    c.count++;
    // Throughput is what moved: a failed request counts as a request and an error, not as bytes.
    if (!ev.error) c.bytes += ev.length;
    if (ev.cancelled) {
      // Its client went away: not an error any client saw, no latency, no mark on the grid.
      c.cancelled++;
      return;
    }
    if (ev.endUs > 0 && ev.startUs > 0) {
      this.latencies[this.latencyCount % LATENCY_WINDOW] = ev.endUs - ev.startUs;
      this.latencyCount++;
    }
    const blocks = this.blocksOf(ev);
    const span = blocks && this.cellsOf(blocks[0], blocks[1]);
    if (ev.error) {
      c.errors++;
      if (span) {
        this.beforeChange?.(span[0], span[1]);
        for (let i = span[0]; i <= span[1]; i++) {
          if (!this.errorMark[i]) {
            this.errorMark[i] = 1;
            this.errorCells++;
          }
        }
        this.dirty.addRange(span[0], span[1]);
        this.changedSinceKeyframe?.mark(span[0], span[1]);
      }
      return;
    }
    if (!span) return;
    const [a, b] = span;
    this.beforeChange?.(a, b);
    this.changedSinceKeyframe?.mark(a, b);
    const now = this.wallOffsetMs + ev.endUs / 1000;
    for (let i = a; i <= b; i++) {
      this.lastOp[i] = op + 1;
      this.lastTime[i] = now;
    }
    switch (ev.op) {
      case 'read':
        for (let i = a; i <= b; i++) this.reads[i]++;
        this.readNow.addRange(a, b);
        return;
      case 'write':
      case 'trim':
      case 'zero': {
        const state =
          ev.op === 'write' ? BlockState.WRITTEN : ev.op === 'trim' ? BlockState.TRIMMED : BlockState.ZEROED;
        this.states.set(blocks![0], blocks![1], state);
        for (let i = a; i <= b; i++) {
          if (ev.op === 'write') this.writes[i]++;
          if (this.errorMark[i]) {
            this.errorMark[i] = 0;
            this.errorCells--;
          }
        }
        this.dirty.addRange(a, b);
        this.writeNow.addRange(a, b);
        return;
      }
      default:
        return;
    }
  }

  /** Recompute dirty cells from the exact block states; returns the changed cells and values. */
  private refreshDirty(): { idx: Uint32Array; val: Uint8Array } {
    const idx = this.dirty.take();
    const val = new Uint8Array(idx.length);
    this.states.maxStates(idx, this.geometry.blocksPerCell, val);
    let n = 0;
    for (let i = 0; i < idx.length; i++) {
      const cell = idx[i];
      const v = val[i] | (this.errorMark[cell] ? CELL_ERROR : 0);
      if (v !== this.cells[cell]) {
        this.cells[cell] = v;
        idx[n] = cell;
        val[n] = v;
        n++;
      }
    }
    return { idx: idx.subarray(0, n), val: val.subarray(0, n) };
  }

  /** In-flight requests as [startCell, count] pairs, merged down to a bounded number. */
  private pendingRanges(): Uint32Array {
    const spans: Array<[number, number]> = [];
    for (const ev of this.pending) {
      const s = this.cellSpan(ev);
      if (s) spans.push(s);
    }
    spans.sort((x, y) => x[0] - y[0]);
    const merged: Array<[number, number]> = [];
    for (const s of spans) {
      const last = merged[merged.length - 1];
      if (last && s[0] <= last[1] + 1) last[1] = Math.max(last[1], s[1]);
      else merged.push([s[0], s[1]]);
    }
    while (merged.length > MAX_PENDING_RANGES) {
      // Merge the pair with the smallest gap until it fits.
      let best = 0;
      for (let i = 1; i < merged.length - 1; i++) {
        if (merged[i + 1][0] - merged[i][1] < merged[best + 1][0] - merged[best][1]) best = i;
      }
      merged[best][1] = merged[best + 1][1];
      merged.splice(best + 1, 1);
    }
    const out = new Uint32Array(merged.length * 2);
    merged.forEach(([a, b], i) => {
      out[2 * i] = a;
      out[2 * i + 1] = b - a + 1;
    });
    return out;
  }

  private latency(): { p50: number; p99: number } {
    const n = Math.min(this.latencyCount, LATENCY_WINDOW);
    if (n === 0) return { p50: 0, p99: 0 };
    const sorted = this.latencies.slice(0, n).sort();
    const at = (q: number) => Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]);
    return { p50: at(0.5), p99: at(0.99) };
  }

  private countersCopy(): Record<Op, OpCounter> {
    return Object.fromEntries(OPS.map((op, i) => [op, { ...this.counters[i] }])) as Record<Op, OpCounter>;
  }

  /**
   * Cut this disk's frame: cells changed since the last cut, cells read, what is in flight and
   * the counters. null when nothing happened. `fullThreshold`: past this many changed cells a
   * full snapshot is cheaper than the list.
   */
  cutFrame(fullThreshold = this.geometry.cells / 4, forceFull = false): DiskFrame | null {
    if (!this.changed && this.pending.size === 0 && !forceFull) return null;
    this.changed = false;
    const { idx, val } = this.refreshDirty();
    const full = forceFull || idx.length > fullThreshold ? this.cells.slice() : null;
    return {
      writes: this.rewrites(idx),
      disk: this.diskNumber,
      full,
      cellIdx: full ? new Uint32Array(0) : idx,
      cellVal: full ? new Uint8Array(0) : val,
      reads: this.readNow.take(),
      pending: this.pendingRanges(),
      counters: this.countersCopy(),
      inFlight: this.inFlight,
      latencyUs: this.latency(),
    };
  }

  /** Cells written this frame whose picture did not change (the UI blinks them): rewrites. */
  private rewrites(changed: Uint32Array): Uint32Array {
    const touched = this.writeNow.take();
    if (!touched.length) return touched;
    for (let i = 0; i < changed.length; i++) this.changedMark[changed[i]] = 1;
    let n = 0;
    for (let i = 0; i < touched.length; i++) if (!this.changedMark[touched[i]]) touched[n++] = touched[i];
    for (let i = 0; i < changed.length; i++) this.changedMark[changed[i]] = 0;
    return touched.subarray(0, n);
  }

  /** A full picture for a new (or lagging) subscriber; does not consume the dirty set. */
  fullFrame(): DiskFrame {
    return {
      disk: this.diskNumber,
      full: this.cells.slice(),
      cellIdx: new Uint32Array(0),
      cellVal: new Uint8Array(0),
      reads: new Uint32Array(0),
      writes: new Uint32Array(0),
      pending: this.pendingRanges(),
      counters: this.countersCopy(),
      inFlight: this.inFlight,
      latencyUs: this.latency(),
    };
  }

  snapshot(): DiskStatsSnapshot {
    const blocks = Object.fromEntries(
      BLOCK_STATE_NAMES.map((name, s) => [name, this.states.count(s as BlockState)]),
    ) as DiskStatsSnapshot['blocks'];
    return {
      counters: this.countersCopy(),
      inFlight: this.inFlight,
      blocks,
      errorBlocks: Math.min(this.geometry.blocks, this.errorCells * this.geometry.blocksPerCell),
      latencyUs: this.latency(),
      grid: { ...this.geometry },
    };
  }

  /**
   * What `count` cells from `cell` hold (one texel of a merged display): the highest state, any
   * failure, summed reads and writes, and the latest operation.
   */
  inspectCell(cell: number, count = 1): CellInfo {
    const g = this.geometry;
    if (!Number.isInteger(cell) || cell < 0 || cell >= g.cells)
      throw new Error(`cell ${cell} is outside 0..${g.cells - 1}`);
    if (!Number.isInteger(count) || count < 1) throw new Error(`count must be a positive integer, got ${count}`);
    const endCell = Math.min(g.cells, cell + count);
    const firstBlock = cell * g.blocksPerCell;
    const blockCount = Math.min(g.blocksPerCell * (endCell - cell), g.blocks - firstBlock);
    const start = cellStartByte(g, cell);
    const end = start + BigInt(blockCount) * BigInt(BLOCK_SIZE);
    let reads = 0;
    let writes = 0;
    let error = false;
    let last = 0;
    let lastTime = 0;
    for (let c = cell; c < endCell; c++) {
      reads += this.reads[c];
      writes += this.writes[c];
      error ||= this.errorMark[c] === 1;
      if (this.lastOp[c] && this.lastTime[c] >= lastTime) {
        last = this.lastOp[c];
        lastTime = this.lastTime[c];
      }
    }
    return {
      disk: this.diskNumber,
      cell,
      firstBlock,
      blockCount,
      byteStart: start.toString(),
      byteEnd: (end > this.size ? this.size : end).toString(),
      state: BLOCK_STATE_NAMES[this.states.maxState(firstBlock, firstBlock + blockCount)],
      error,
      reads,
      writes,
      lastOp: last ? OPS[last - 1] : null,
      lastTime: last ? lastTime : null,
    };
  }

  /** A copy of the per-cell error marks (1 = the last request touching the cell failed). */
  errorMarks(): Uint8Array {
    return this.errorMark.slice();
  }

  /** Requests in flight now (started, not completed). */
  pendingRequests(): Iterable<RequestEvent> {
    return this.pending;
  }

  /** The latency window, oldest first. */
  private latencyWindow(): Float64Array {
    const n = Math.min(this.latencyCount, LATENCY_WINDOW);
    const latencies = new Float64Array(n);
    for (let i = 0; i < n; i++) latencies[i] = this.latencies[(this.latencyCount - n + i) % LATENCY_WINDOW];
    return latencies;
  }

  /**
   * The live per-cell arrays, for a recorder's checkpoint that copies them over several turns:
   * read a cell only while no event can change it, or from beforeChange.
   */
  liveCells(): Pick<DiskModel, 'errorMark' | 'reads' | 'writes' | 'lastOp' | 'lastTime'> {
    return {
      errorMark: this.errorMark,
      reads: this.reads,
      writes: this.writes,
      lastOp: this.lastOp,
      lastTime: this.lastTime,
    };
  }

  /** Copies of the counters and the latency window (a keyframe's head). */
  counted(): Pick<DiskModel, 'counters' | 'latencies' | 'latencyCount'> {
    return { counters: this.countersCopy(), latencies: this.latencyWindow(), latencyCount: this.latencyCount };
  }

  /** A whole keyframe is taken now: changes are counted from here on. */
  markKeyframe(): void {
    this.changedSinceKeyframe ??= new CellStamps(this.geometry.cells);
    this.changedSinceKeyframe.take();
    this.keyframeEpoch = this.epoch;
  }

  /**
   * The cells changed since the previous markKeyframe() or takeChangedCells(), ascending (a delta
   * keyframe names them); null when only a whole keyframe will do: none was taken yet, the
   * picture was cleared since, or the disk is so big (past 64 TiB) that one cell spans several
   * block-map pages.
   */
  takeChangedCells(): Uint32Array | null {
    const possible =
      this.changedSinceKeyframe !== null &&
      this.keyframeEpoch === this.epoch &&
      this.geometry.blocksPerCell <= PAGE_BLOCKS;
    return possible ? this.changedSinceKeyframe!.takeSorted() : null;
  }

  /** Apply a delta keyframe on top of the keyframe before it; nothing is in flight afterwards. */
  importChanges(ch: DiskChanges): void {
    this.beforeChange?.(0, this.geometry.cells - 1);
    const g = this.geometry;
    const k = g.blocksPerCell;
    let m = 0;
    // Neighbouring cells in one state are one set() (a sequential write names thousands).
    let runFrom = 0;
    let runTo = 0;
    let runState = -1;
    const flush = () => {
      if (runState >= 0) this.states.set(runFrom, runTo, runState as BlockState);
      runState = -1;
    };
    for (let i = 0; i < ch.cells.length; i++) {
      const c = ch.cells[i];
      if (c >= g.cells) throw new Error(`delta keyframe for disk ${this.diskNumber} names cell ${c} of ${g.cells}`);
      if (this.errorMark[c] !== ch.errorMark[i]) this.errorCells += ch.errorMark[i] ? 1 : -1;
      this.errorMark[c] = ch.errorMark[i];
      this.lastOp[c] = ch.lastOp[i];
      this.lastTime[c] = ch.lastTime[i];
      this.reads[c] = ch.reads[i];
      this.writes[c] = ch.writes[i];
      const fb = c * k;
      const eb = Math.min(fb + k, g.blocks);
      const state = ch.state[i];
      if (state !== MIXED_CELL) {
        if (state === runState && fb === runTo) runTo = eb;
        else {
          flush();
          runFrom = fb;
          runTo = eb;
          runState = state;
        }
      } else {
        flush();
        if (ch.mixedLength[i] !== eb - fb || m + eb - fb > ch.mixed.length)
          throw new Error(`delta keyframe for disk ${this.diskNumber}: cell ${c} has the wrong number of block states`);
        // Runs of equal states, one set() each.
        for (let b = fb; b < eb;) {
          const s = ch.mixed[m + b - fb];
          let e = b + 1;
          while (e < eb && ch.mixed[m + e - fb] === s) e++;
          this.states.set(b, e, s as BlockState);
          b = e;
        }
        m += eb - fb;
      }
      this.dirty.addRange(c, c);
    }
    flush();
    this.importCounters(ch);
    this.pending.clear();
    this.inFlight = 0;
    this.changed = true;
  }

  /** Replace the model (seek to a keyframe); nothing is in flight afterwards. */
  importModel(m: DiskModel): void {
    const n = this.geometry.cells;
    this.beforeChange?.(0, n - 1);
    for (const a of [m.errorMark, m.reads, m.writes, m.lastOp, m.lastTime])
      if (a.length !== n) throw new Error(`keyframe for disk ${this.diskNumber} has ${a.length} cells, expected ${n}`);
    this.states.importState(m.states);
    this.errorMark.set(m.errorMark);
    this.errorCells = m.errorMark.reduce((k, v) => k + (v ? 1 : 0), 0);
    this.reads.set(m.reads);
    this.writes.set(m.writes);
    this.lastOp.set(m.lastOp);
    this.lastTime.set(m.lastTime);
    this.importCounters(m);
    this.pending.clear();
    this.inFlight = 0;
    this.readNow.take();
    this.dirty.take();
    this.dirty.addRange(0, n - 1);
    this.epoch++;
    this.changed = true;
  }

  private importCounters(m: Pick<DiskModel, 'counters' | 'latencies' | 'latencyCount'>): void {
    this.counters = OPS.map((op) => ({ ...m.counters[op] }));
    this.latencyCount = m.latencyCount;
    const k = Math.min(m.latencies.length, LATENCY_WINDOW);
    for (let i = 0; i < k; i++) this.latencies[(m.latencyCount - k + i) % LATENCY_WINDOW] = m.latencies[i];
  }

  /** Clear the picture and the counters (data on the disk is untouched). */
  clear(): void {
    this.beforeChange?.(0, this.geometry.cells - 1);
    this.states.clear();
    this.cells.fill(0);
    this.errorMark.fill(0);
    this.errorCells = 0;
    this.reads.fill(0);
    this.writes.fill(0);
    this.lastOp.fill(0);
    this.lastTime.fill(0);
    this.dirty.take();
    this.readNow.take();
    this.writeNow.take();
    this.counters = emptyCounters();
    this.latencyCount = 0;
    this.epoch++;
    this.changed = true;
    for (const l of this.clearListeners) l();
  }
}
