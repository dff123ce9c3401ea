// A keyframe: one disk's whole DiskStats model at an instant (block states, error marks,
// per-cell hover counters, op counters, latency window) plus the requests in flight, so that
// playback resumes from it exactly as the live run went on. Stored raw inside a CHECKPOINT
// block, which is deflated as a whole (typed arrays of small numbers compress well, and
// deflate runs on libuv's thread pool, off the event loop).

import type { DiskModel } from '../events/disk-stats.ts';
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

const typed = (w: ByteWriter, a: ArrayBufferView) => w.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

/** `wallStartMs`: the session's wall clock at time 0 (lastTime is stored relative to it, in ms). */
export function writeKeyframe(w: ByteWriter, k: Keyframe, wallStartMs: number): void {
  const m = k.model;
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
  w.uv(m.states.starts.length);
  for (let i = 0; i < m.states.starts.length; i++) {
    w.uv(m.states.starts[i]);
    w.u8(m.states.states[i]);
  }
  w.uv(m.states.detail.length);
  for (const [page, d] of m.states.detail) {
    w.uv(page);
    w.uv(d.length);
    w.bytes(d);
  }
  const cells = m.errorMark.length;
  w.uv(cells);
  w.bytes(m.errorMark);
  w.bytes(m.lastOp);
  typed(w, m.reads);
  typed(w, m.writes);
  const rel = new Int32Array(cells);
  for (let i = 0; i < cells; i++) {
    if (m.lastOp[i]) rel[i] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(m.lastTime[i] - wallStartMs)));
  }
  typed(w, rel);
  w.uv(k.pending.length);
  for (const p of k.pending) {
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

/** Copy `n` elements of a typed array out of the reader (alignment-safe). */
function readTyped<T extends Uint32Array | Int32Array>(r: ByteReader, n: number, Ctor: { new (n: number): T }): T {
  const out = new Ctor(n);
  new Uint8Array(out.buffer).set(r.bytes(n * 4));
  return out;
}

export function readKeyframe(r: ByteReader, wallStartMs: number): Keyframe {
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
  const runs = r.uv();
  const starts: number[] = [];
  const states: number[] = [];
  for (let i = 0; i < runs; i++) {
    starts.push(r.uv());
    const s = r.u8();
    if (s > 3) throw new FormatError(`bad block state ${s} in a keyframe`);
    states.push(s);
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
  return {
    disk,
    nextStart,
    nextRecord,
    pending,
    model: {
      states: { starts, states, detail },
      errorMark,
      reads,
      writes,
      lastOp,
      lastTime,
      counters,
      latencies,
      latencyCount,
    },
  };
}
