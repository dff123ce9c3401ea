// What the scrubber and the plots draw, computed from a session's index: activity density per
// disk and op (from the blocks' summaries, no decoding), and per-disk series over a range —
// throughput, IOPS, latency percentiles, queue depth and the offset-vs-time scatter — exact
// from the events when the range is small enough, from the summaries otherwise.

import { TAG_END, TAG_CLEAR, bucketFloorUs, LATENCY_BUCKETS, summaryIndex } from '../record/event-codec.ts';
import { BlockType } from '../record/format.ts';
import type { BlockEntry, SessionIndex } from '../record/session-index.ts';
import {
  ACTIVITY_OPS,
  type ActivityOp,
  type TimelineMark,
  type TimelineOverview,
  type TimelineSeries,
} from '../shared/types.ts';
import { decodeBlock } from './cursor.ts';
import type { Mark } from '../record/format.ts';

/** Decode events exactly when a range holds at most this many records. */
const EXACT_RECORDS = 400_000;

const perOp = (n: number) =>
  Object.fromEntries(ACTIVITY_OPS.map((op) => [op, new Array<number>(n).fill(0)])) as Record<ActivityOp, number[]>;

export const toSec = (us: number) => us / 1e6;

export function markToWire(m: Mark): TimelineMark {
  const { timeUs, ...rest } = m;
  return { ...rest, sec: toSec(timeUs) } as TimelineMark;
}

/** Spread `value` over the bins a block's [firstUs, lastUs] overlaps, in proportion. */
function spread(out: number[], from: number, binUs: number, a: number, b: number, value: number): void {
  const n = out.length;
  if (value === 0) return;
  if (b <= a) {
    const i = Math.floor((a - from) / binUs);
    if (i >= 0 && i < n) out[i] += value;
    return;
  }
  const i0 = Math.max(0, Math.floor((a - from) / binUs));
  const i1 = Math.min(n - 1, Math.floor((b - from) / binUs));
  for (let i = i0; i <= i1; i++) {
    const lo = Math.max(a, from + i * binUs);
    const hi = Math.min(b, from + (i + 1) * binUs);
    if (hi > lo) out[i] += (value * (hi - lo)) / (b - a);
  }
}

function eventBlocks(index: SessionIndex, disk: number | null, fromUs: number, toUs: number): BlockEntry[] {
  return index.entries.filter(
    (e) =>
      e.h.type === BlockType.EVENTS &&
      (disk === null || e.h.disk === disk) &&
      e.h.lastUs >= fromUs &&
      e.h.firstUs <= toUs,
  );
}

export function overview(index: SessionIndex, disks: number[], bins: number): TimelineOverview {
  const from = index.startUs;
  const to = Math.max(index.endUs, from + 1);
  const binUs = (to - from) / bins;
  const per = new Map(disks.map((d) => [d, perOp(bins)]));
  for (const e of eventBlocks(index, null, from, to)) {
    const counts = per.get(e.h.disk);
    if (!counts || !e.summary) continue;
    ACTIVITY_OPS.forEach((op, k) => spread(counts[op], from, binUs, e.h.firstUs, e.h.lastUs, e.summary!.count[k]));
  }
  return {
    startSec: toSec(from),
    endSec: toSec(to),
    bins,
    disks: disks.map((disk) => ({ disk, counts: per.get(disk)! })),
    marks: index.marks.filter((m) => m.timeUs >= from).map(markToWire),
  };
}

function percentileOf(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

function histPercentile(h: number[], q: number): number {
  const total = h.reduce((a, b) => a + b, 0);
  if (!total) return 0;
  let acc = 0;
  for (let b = 0; b < LATENCY_BUCKETS; b++) {
    acc += h[b];
    if (acc >= q * total) return Math.round(bucketFloorUs(b + 1));
  }
  return Math.round(bucketFloorUs(LATENCY_BUCKETS));
}

export interface SeriesRequest {
  disk: number;
  fromUs: number;
  toUs: number;
  bins: number;
  points: number;
}

export async function series(index: SessionIndex, q: SeriesRequest): Promise<TimelineSeries> {
  const { disk, bins } = q;
  const from = q.fromUs;
  const to = Math.max(q.toUs, from + 1);
  const binUs = (to - from) / bins;
  const blocks = eventBlocks(index, disk, from, to);
  const records = blocks.reduce((n, e) => n + e.h.records, 0);
  const out: TimelineSeries = {
    disk,
    fromSec: toSec(from),
    toSec: toSec(to),
    t: Array.from({ length: bins }, (_, i) => toSec(from + i * binUs)),
    bytesPerSec: perOp(bins),
    iops: perOp(bins),
    latencyP50Us: new Array<number>(bins).fill(0),
    latencyP99Us: new Array<number>(bins).fill(0),
    queueDepth: new Array<number>(bins).fill(0),
    scatter: { t: [], offset: [], op: [] },
    scatterComplete: false,
  };
  const perSec = 1e6 / binUs;
  const exact = records <= EXACT_RECORDS;
  // Blocks to decode: all of them (exact), or an even sample for the scatter.
  const stride = exact ? 1 : Math.ceil(records / EXACT_RECORDS);
  const decodeList = blocks.filter((_, i) => i % stride === 0);
  const bodies = decodeList.length ? await index.bodies(decodeList) : [];
  const starts: Array<{ t: number; offset: number; op: number }> = [];
  if (exact) {
    const lat: number[][] = Array.from({ length: bins }, () => []);
    const open = new Map<number, { t: number; op: number; len: number }>();
    let inFlight = 0;
    let lastT = from;
    const binOf = (t: number) => Math.min(bins - 1, Math.max(0, Math.floor((t - from) / binUs)));
    const integrate = (t: number) => {
      const a = Math.max(lastT, from);
      const b = Math.min(t, to);
      if (b > a && inFlight) spread(out.queueDepth, from, binUs, a, b, inFlight * (b - a));
      lastT = t;
    };
    decodeList.forEach((e, k) => {
      for (const r of decodeBlock(e, bodies[k])) {
        integrate(r.timeUs);
        if (r.kind === 0) {
          open.set(r.startIndex, { t: r.timeUs, op: r.op, len: r.length });
          inFlight++;
          if (r.timeUs >= from && r.timeUs <= to) starts.push({ t: r.timeUs, offset: Number(r.offset), op: r.op });
        } else if (r.kind === TAG_END) {
          const s = open.get(r.startIndex);
          if (inFlight > 0) inFlight--;
          if (!s) continue;
          open.delete(r.startIndex);
          if (r.timeUs < from || r.timeUs > to) continue;
          const i = binOf(r.timeUs);
          const op = ACTIVITY_OPS[summaryIndex(s.op)];
          out.iops[op][i] += perSec;
          out.bytesPerSec[op][i] += s.len * perSec;
          lat[i].push(r.timeUs - s.t);
        } else if (r.kind === TAG_CLEAR) continue;
      }
    });
    integrate(to);
    for (let i = 0; i < bins; i++) {
      out.queueDepth[i] /= binUs;
      const l = lat[i].sort((a, b) => a - b);
      out.latencyP50Us[i] = percentileOf(l, 0.5);
      out.latencyP99Us[i] = percentileOf(l, 0.99);
    }
  } else {
    const hist = Array.from({ length: bins }, () => new Array<number>(LATENCY_BUCKETS).fill(0));
    for (const e of blocks) {
      const s = e.summary!;
      const a = e.h.firstUs;
      const b = e.h.lastUs;
      ACTIVITY_OPS.forEach((op, k) => {
        spread(out.iops[op], from, binUs, a, b, s.count[k] * perSec);
        spread(out.bytesPerSec[op], from, binUs, a, b, s.bytes[k] * perSec);
      });
      spread(out.queueDepth, from, binUs, a, b, s.inFlightUs / binUs);
      const i = Math.min(bins - 1, Math.max(0, Math.floor(((a + b) / 2 - from) / binUs)));
      for (let k = 0; k < LATENCY_BUCKETS; k++) hist[i][k] += s.latency[k];
    }
    for (let i = 0; i < bins; i++) {
      out.latencyP50Us[i] = histPercentile(hist[i], 0.5);
      out.latencyP99Us[i] = histPercentile(hist[i], 0.99);
    }
    decodeList.forEach((e, k) => {
      for (const r of decodeBlock(e, bodies[k]))
        if (r.kind === 0 && r.timeUs >= from && r.timeUs <= to)
          starts.push({ t: r.timeUs, offset: Number(r.offset), op: r.op });
    });
  }
  const step = Math.max(1, Math.ceil(starts.length / q.points));
  out.scatterComplete = exact && step === 1;
  for (let i = 0; i < starts.length; i += step) {
    out.scatter.t.push(toSec(starts[i].t));
    out.scatter.offset.push(starts[i].offset);
    out.scatter.op.push(starts[i].op);
  }
  return out;
}
