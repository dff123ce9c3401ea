// The plots' value axes: ticks in the quantity's own units ("48 MiB", "1.2 ms", "3.4k"), a tick
// at the peak (the top of a burst is what people read off a plot, and uPlot's round ticks
// stop short of it), and an axis wide enough for its longest tick label, so the axis title
// beside it never runs into the numbers (eight-digit byte offsets did, in a fixed 60 px).

import { count, human } from './format.ts';

export type PlotUnit = 'bytes/s' | 'req/s' | 'µs' | 'requests' | 'bytes';

/**
 * Tick steps for byte axes: 1, 2, 4 … 512 times a power of 1024, so that the ticks fall on
 * whole KiB, MiB, GiB ("16 MiB", "32 MiB"), not on 50,000,000 ("47.7 MiB").
 */
export const BYTE_INCRS: number[] = [0, 1, 2, 3, 4, 5, 6].flatMap((k) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k),
);

/** "16 MiB", "1.5 KiB", "512 B" (human() without a trailing ".0"). */
const bytes = (v: number) => human(v).replace(/\.0 /, ' ');

/** A tick label: short, in the unit's own words. */
export function axisValue(v: number, unit: PlotUnit): string {
  if (v === 0) return '0';
  switch (unit) {
    case 'bytes':
      return bytes(v);
    case 'bytes/s':
      return `${bytes(v)}/s`;
    case 'µs':
      return v >= 1000 ? `${+(v / 1000).toPrecision(3)} ms` : `${+v.toPrecision(3)} µs`;
    default:
      return v < 10 && !Number.isInteger(v) ? String(+v.toPrecision(2)) : count(v);
  }
}

/** The largest finite value of the series (0 when there is none). */
export function peakOf(series: ReadonlyArray<ReadonlyArray<number | null>>): number {
  let peak = 0;
  for (const s of series) for (const v of s) if (v !== null && Number.isFinite(v) && v > peak) peak = v;
  return peak;
}

/**
 * The ticks to draw: uPlot's round ones up to the peak, and the peak itself. A round tick
 * closer to the peak than `minGapPx` goes (their labels would overlap); so do the ones above
 * the peak (the scale's headroom: nothing reached them).
 */
export function peakTicks(round: readonly number[], peak: number, pxPerUnit: number, minGapPx: number): number[] {
  if (!(peak > 0)) return [...round];
  const kept = round.filter((v) => v < peak && (peak - v) * pxPerUnit >= minGapPx);
  return [...kept, peak];
}

/**
 * The width an axis needs: its tick marks, the gap after them and its longest label, plus a
 * margin so the axis title (drawn beyond `size`) keeps clear of the numbers.
 */
export function axisSize(labels: readonly string[], measure: (s: string) => number, tick = 10, gap = 5): number {
  const widest = Math.max(0, ...labels.map(measure));
  return Math.ceil(tick + gap + widest + 6);
}
