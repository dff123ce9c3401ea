// A keyframe: one disk's whole DiskStats model at an instant (block states, error marks,
// per-cell hover counters, op counters, latency window) plus the requests in flight, so that
// playback resumes from it exactly as the live run went on. Stored raw inside a CHECKPOINT
// block, which is deflated as a whole (typed arrays of small numbers compress well, and
// deflate runs on libuv's thread pool, off the event loop).
//
// A delta keyframe (in a DELTA block) holds only what changed since the checkpoint before it:
// the changed cells with their values and block states, plus the counters, the latency window
// and the requests in flight. Under a 4 KiB random-write flood on a 256 MiB disk it is about a
// tenth of a whole keyframe, which was most of what recording cost (docs/performance.md).
//
// This file reads both and writes their common parts; keyframe-export.ts writes them, over
// several turns of the engine thread.

import { MIXED_CELL, newChanges, type DiskChanges, type DiskModel } from '../events/disk-stats.ts';
import { OPS, type Op, type OpCounter } from '../shared/types.ts';
import { type ByteReader, type ByteWriter, FormatError } from './bytes.ts';

/** A request in flight at the keyframe's instant. */
export interface PendingRequest {
  startIndex: number;
  /** µs since the session start (may be negative: started before recording began). */
  startUs: number;
  op: number;
  offset: bigint;
  length: number;
  flags: number;
  connection: number;
  id: number;
}

export interface Keyframe {
  disk: number;
  /** The disk's next START and next record index at this instant. */
  nextStart: number;
  nextRecord: number;
  model: DiskModel;
  pending: PendingRequest[];
}

export interface KeyframeDelta extends Omit<Keyframe, 'model'> {
  changes: DiskChanges;
}

type Counted = Pick<DiskModel, 'counters' | 'latencies' | 'latencyCount'>;

/** What both kinds of keyframe start with: where the disk's events continue, its counters. */
export function writeHead(w: ByteWriter, k: Omit<Keyframe, 'model'>, m: Counted): void {
  w.uv(k.disk);
  w.uv(k.nextStart);
  w.uv(k.nextRecord);
  for (const op of OPS) {
    w.uv(m.counters[op].count);
    w.uv(m.counters[op].bytes);
    w.uv(m.counters[op].errors);
    w.uv(m.counters[op].cancelled);
  }
  w.uv(m.latencyCount);
  w.uv(m.latencies.length);
  for (const l of m.latencies) w.uv(Math.max(0, Math.round(l)));
}

function readHead(r: ByteReader): { disk: number; nextStart: number; nextRecord: number } & Counted {
  const disk = r.uv();
  const nextStart = r.uv();
  const nextRecord = r.uv();
  const counters = {} as Record<Op, OpCounter>;
  for (const op of OPS) counters[op] = { count: r.uv(), bytes: r.uv(), errors: r.uv(), cancelled: r.uv() };
  const latencyCount = r.uv();
  const nl = r.uv();
  if (nl > 1 << 20) throw new FormatError('keyframe latency window too large');
  const latencies = new Float64Array(nl);
  for (let i = 0; i < nl; i++) latencies[i] = r.uv();
  return { disk, nextStart, nextRecord, counters, latencies, latencyCount };
}

export function writePending(w: ByteWriter, pending: PendingRequest[]): void {
  w.uv(pending.length);
  for (const p of pending) {
    w.uv(p.startIndex);
    w.sv(p.startUs);
    w.u8(p.op);
    w.uvBig(p.offset);
    w.uv(p.length);
    w.uv(p.flags);
    w.uv(p.connection);
    w.uv(p.id);
  }
}

function readPending(r: ByteReader): PendingRequest[] {
  const np = r.uv();
  const pending: PendingRequest[] = [];
  for (let i = 0; i < np; i++) {
    pending.push({
      startIndex: r.uv(),
      startUs: r.sv(),
      op: r.u8(),
      offset: r.uvBig(),
      length: r.uv(),
      flags: r.uv(),
      connection: r.uv(),
      id: r.uv(),
    });
  }
  return pending;
}

/** A last-op time as stored: ms from the session's wall clock at time 0, within 32 bits. */
export const relMs = (t: number, wallStartMs: number) =>
  Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(t - wallStartMs)));

/** Copy `n` elements of a typed array out of the reader (alignment-safe). */
function readTyped<T extends Uint32Array | Int32Array>(r: ByteReader, n: number, Ctor: { new (n: number): T }): T {
  const out = new Ctor(n);
  new Uint8Array(out.buffer).set(r.bytes(n * 4));
  return out;
}

const readState = (r: ByteReader, what: string) => {
  const s = r.u8();
  if (s > 3) throw new FormatError(`bad block state ${s} in a ${what}`);
  return s;
};

export function readKeyframe(r: ByteReader, wallStartMs: number): Keyframe {
  const { disk, nextStart, nextRecord, ...counted } = readHead(r);
  const runs = r.uv();
  const starts: number[] = [];
  const states: number[] = [];
  for (let i = 0; i < runs; i++) {
    starts.push(r.uv());
    states.push(readState(r, 'keyframe'));
  }
  const nd = r.uv();
  const detail: Array<[number, Uint8Array]> = [];
  for (let i = 0; i < nd; i++) {
    const page = r.uv();
    detail.push([page, r.bytes(r.uv()).slice()]);
  }
  const cells = r.uv();
  const errorMark = r.bytes(cells).slice();
  const lastOp = r.bytes(cells).slice();
  const reads = readTyped(r, cells, Uint32Array);
  const writes = readTyped(r, cells, Uint32Array);
  const rel = readTyped(r, cells, Int32Array);
  const lastTime = new Float64Array(cells);
  for (let i = 0; i < cells; i++) if (lastOp[i]) lastTime[i] = wallStartMs + rel[i];
  const pending = readPending(r);
  return {
    disk,
    nextStart,
    nextRecord,
    pending,
    model: { states: { starts, states, detail }, errorMark, reads, writes, lastOp, lastTime, ...counted },
  };
}

export function readKeyframeDelta(r: ByteReader, wallStartMs: number): KeyframeDelta {
  const { disk, nextStart, nextRecord, ...counted } = readHead(r);
  const n = r.uv();
  if (n > 1 << 24) throw new FormatError('delta keyframe names too many cells');
  const ch = newChanges(new Uint32Array(n), counted);
  const mixed: Uint8Array[] = [];
  let cell = 0;
  for (let i = 0; i < n; i++) {
    cell += r.uv();
    ch.cells[i] = cell;
    ch.errorMark[i] = r.u8();
    ch.lastOp[i] = r.u8();
    ch.reads[i] = r.uv();
    ch.writes[i] = r.uv();
    if (ch.lastOp[i]) ch.lastTime[i] = wallStartMs + r.sv();
    const s = r.u8();
    if (s === MIXED_CELL) {
      const len = r.uv();
      ch.mixedLength[i] = len;
      const states = r.bytes(len);
      for (const b of states) if (b > 3) throw new FormatError(`bad block state ${b} in a delta keyframe`);
      mixed.push(states);
    } else if (s > 3) throw new FormatError(`bad block state ${s} in a delta keyframe`);
    ch.state[i] = s;
  }
  if (mixed.length) ch.mixed = Buffer.concat(mixed);
  return { disk, nextStart, nextRecord, changes: ch, pending: readPending(r) };
}
