// One disk's request events as a compact byte stream (the payload of an EVENTS block), and the
// running summary that goes into the block's header (what the scrubber and the plots draw
// without decoding events).
//
// Record = tag byte, then varint fields. Times are integer µs since the session start,
// delta-coded within the block (the first record against the block's base time).
//   START  tag 0x00–0x3f: bits 0–2 op index (OPS), 0x08 flags follow, 0x10 connection follows,
//          0x20 offset is absolute (bigint varint) instead of a delta
//          · dt · offset (zigzag delta against the previous start's end, or absolute) · length
//          · [flags] · [connection]
//   END    tag 0x40–0x4f: bits 0–3 error (0 = ok, n = ERRNOS[n-1])
//          · dt · back-reference (starts since this request's start, 0 = the latest start)
//   CLEAR  tag 0x50 · dt          (the picture and counters were cleared)
// Blocks are self-contained except END back-references, which may point at a start in an
// earlier block (resolved through the player's table of requests in flight).

import { ERRNOS, OPS, opIndex, type Errno, type RequestEvent } from '../shared/types.ts';
import { ByteReader, ByteWriter, FormatError } from './bytes.ts';

export const TAG_END = 0x40;
export const TAG_CLEAR = 0x50;
/** END code for a request cancelled because its client went away (ESHUTDOWN, not an error any client saw). */
export const END_CANCELLED = 0x0f;
const F_FLAGS = 0x08;
const F_CONN = 0x10;
const F_BIG = 0x20;
/** Offsets below this take the Number path: their zigzag deltas stay below 2^53. */
const SAFE = 2 ** 52;
const SAFE_BIG = BigInt(SAFE);

const ERRNO_INDEX = Object.fromEntries(ERRNOS.map((e, i) => [e, i + 1])) as Record<Errno, number>;

/** Latency histogram buckets: half octaves of µs, the last one open-ended (≥ ~1 s). */
export const LATENCY_BUCKETS = 40;
export function latencyBucket(us: number): number {
  return us <= 0 ? 0 : Math.min(LATENCY_BUCKETS - 1, Math.floor(2 * Math.log2(us + 1)));
}
/** Lower bound of a latency bucket in µs. */
export function bucketFloorUs(b: number): number {
  return Math.max(0, 2 ** (b / 2) - 1);
}

/** Operations the summaries count separately; everything else (flush, extents, cache) is 'other'. */
export const SUMMARY_OPS = ['read', 'write', 'trim', 'zero', 'other'] as const;
export type SummaryOp = (typeof SUMMARY_OPS)[number];
export const summaryIndex = (opIndex: number) => (opIndex < 4 ? opIndex : 4);

/** What one EVENTS block holds, in numbers (written in the block, read back for the index). */
export interface EventSummary {
  /** Completed requests per SUMMARY_OPS entry. */
  count: number[];
  bytes: number[];
  errors: number[];
  latency: number[];
  /** Most requests in flight at once, and the integral of in-flight over time (µs·requests). */
  maxInFlight: number;
  inFlightUs: number;
}

export function emptySummary(): EventSummary {
  return {
    count: [0, 0, 0, 0, 0],
    bytes: [0, 0, 0, 0, 0],
    errors: [0, 0, 0, 0, 0],
    latency: new Array<number>(LATENCY_BUCKETS).fill(0),
    maxInFlight: 0,
    inFlightUs: 0,
  };
}

export function writeSummary(w: ByteWriter, s: EventSummary): void {
  for (let i = 0; i < 5; i++) {
    w.uv(s.count[i]);
    w.uv(s.bytes[i]);
    w.uv(s.errors[i]);
  }
  let last = LATENCY_BUCKETS;
  while (last > 0 && s.latency[last - 1] === 0) last--;
  w.uv(last);
  for (let i = 0; i < last; i++) w.uv(s.latency[i]);
  w.uv(s.maxInFlight);
  w.uv(Math.round(s.inFlightUs));
}

export function readSummary(r: ByteReader): EventSummary {
  const s = emptySummary();
  for (let i = 0; i < 5; i++) {
    s.count[i] = r.uv();
    s.bytes[i] = r.uv();
    s.errors[i] = r.uv();
  }
  const n = r.uv();
  if (n > LATENCY_BUCKETS) throw new FormatError('bad latency histogram in a block summary');
  for (let i = 0; i < n; i++) s.latency[i] = r.uv();
  s.maxInFlight = r.uv();
  s.inFlightUs = r.uv();
  return s;
}

/** Appends one disk's events; sealed into blocks by the recorder. Allocation-free per event. */
export class EventEncoder {
  readonly w = new ByteWriter(64 * 1024);
  summary = emptySummary();
  firstTimeUs = 0;
  lastTimeUs = 0;
  records = 0;
  requests = 0;
  /** Per-disk index of the next START record (never reset: END records refer back by it). */
  nextStart = 0;
  /** Per-disk index of the next record (never reset). */
  nextRecord = 0;
  firstRecord = 0;
  firstStart = 0;
  private prevEnd = 0;
  private prevConn = 1;
  private inFlight = 0;

  /** Clock a record: integer µs, never before the previous record of this disk. */
  private time(t: number): number {
    let us = Math.floor(t);
    if (this.records === 0) {
      this.firstTimeUs = us;
      this.firstRecord = this.nextRecord;
      this.firstStart = this.nextStart;
      this.lastTimeUs = us;
    } else if (us < this.lastTimeUs) us = this.lastTimeUs;
    this.summary.inFlightUs += this.inFlight * (us - this.lastTimeUs);
    this.w.uv(us - this.lastTimeUs);
    this.lastTimeUs = us;
    this.records++;
    this.nextRecord++;
    return us;
  }

  /** Returns the start index the matching end() must pass back. */
  start(ev: RequestEvent, timeUs: number): number {
    const op = opIndex(ev.op);
    const big = !(this.prevEnd < SAFE) || ev.offset >= SAFE_BIG;
    const conn = ev.connection !== this.prevConn;
    this.w.u8(op | (ev.flags ? F_FLAGS : 0) | (conn ? F_CONN : 0) | (big ? F_BIG : 0));
    this.time(timeUs);
    if (big) {
      this.w.uvBig(ev.offset);
      const end = ev.offset + BigInt(ev.length);
      this.prevEnd = end < SAFE_BIG ? Number(end) : NaN;
    } else {
      const off = Number(ev.offset);
      this.w.sv(off - this.prevEnd);
      this.prevEnd = off + ev.length;
    }
    this.w.uv(ev.length);
    if (ev.flags) this.w.uv(ev.flags);
    if (conn) {
      this.w.uv(ev.connection);
      this.prevConn = ev.connection;
    }
    this.inFlight++;
    if (this.inFlight > this.summary.maxInFlight) this.summary.maxInFlight = this.inFlight;
    return this.nextStart++;
  }

  end(ev: RequestEvent, timeUs: number, startIndex: number): void {
    this.w.u8(TAG_END | (ev.cancelled ? END_CANCELLED : ev.error ? ERRNO_INDEX[ev.error] : 0));
    const t = this.time(timeUs);
    this.w.uv(this.nextStart - 1 - startIndex);
    if (this.inFlight > 0) this.inFlight--;
    const s = this.summary;
    const k = summaryIndex(opIndex(ev.op));
    s.count[k]++;
    s.bytes[k] += ev.length;
    if (ev.error) s.errors[k]++;
    s.latency[latencyBucket(t - Math.floor(ev.startUs))]++;
    this.requests++;
  }

  clear(timeUs: number): void {
    this.w.u8(TAG_CLEAR);
    this.time(timeUs);
  }

  /** Start a new block (after sealing the bytes). */
  resetBlock(): void {
    this.w.reset();
    this.summary = emptySummary();
    this.records = 0;
    this.requests = 0;
    this.prevEnd = 0;
    this.prevConn = 1;
  }
}

/** Receives decoded records in order. Offsets come as a Number when < 2^53, else as a bigint. */
export interface EventVisitor {
  start(
    timeUs: number,
    startIndex: number,
    op: number,
    offset: number,
    offsetBig: bigint | null,
    length: number,
    flags: number,
    connection: number,
  ): void;
  end(timeUs: number, startIndex: number, error: Errno | null, cancelled: boolean): void;
  clear(timeUs: number): void;
}

export interface BlockPosition {
  firstTimeUs: number;
  /** Index of the block's first START record on its disk. */
  firstStart: number;
}

/**
 * Decode a block's records; `stopAfterUs`: stop before the first record later than this.
 * Returns the number of records visited.
 */
export function decodeEvents(payload: Uint8Array, at: BlockPosition, v: EventVisitor, stopAfterUs = Infinity): number {
  const r = new ByteReader(payload, 'events block');
  let t = at.firstTimeUs;
  let prevEnd = 0;
  let prevConn = 1;
  let nextStart = at.firstStart;
  let n = 0;
  while (!r.done) {
    const tag = r.u8();
    const dt = r.uv();
    if (t + dt > stopAfterUs) break;
    t += dt;
    n++;
    if (tag < TAG_END) {
      const op = tag & 7;
      if (op >= OPS.length) throw new FormatError(`bad op ${op} in an events block`);
      let offset = 0;
      let big: bigint | null = null;
      if (tag & F_BIG) {
        big = r.uvBig();
        if (big < SAFE_BIG) {
          offset = Number(big);
          big = null;
        }
      } else offset = prevEnd + r.sv();
      const length = r.uv();
      const flags = tag & F_FLAGS ? r.uv() : 0;
      if (tag & F_CONN) prevConn = r.uv();
      if (big === null) prevEnd = offset + length;
      else {
        const e = big + BigInt(length);
        prevEnd = e < SAFE_BIG ? Number(e) : NaN;
      }
      v.start(t, nextStart++, op, offset, big, length, flags, prevConn);
    } else if (tag < TAG_CLEAR) {
      const code = tag & 0x0f;
      if (code > ERRNOS.length && code !== END_CANCELLED)
        throw new FormatError(`bad error code ${code} in an events block`);
      const ref = r.uv();
      const cancelled = code === END_CANCELLED;
      v.end(t, nextStart - 1 - ref, cancelled ? 'ESHUTDOWN' : code ? ERRNOS[code - 1] : null, cancelled);
    } else if (tag === TAG_CLEAR) v.clear(t);
    else throw new FormatError(`bad record tag 0x${tag.toString(16)} in an events block`);
  }
  return n;
}
