// The delay sliders' scale: logarithmic from 1 ms to 10 s (or to the current value when the
// command line set more), with 0 at the far left. One step is small (about 1 %), so arrow keys
// fine-tune and a drag covers four decades.

export const SLIDER_STEPS = 1000;
export const DEFAULT_MAX_MS = 10_000;

/** Round to two significant digits: 37.4 → 37, 1234 → 1200. */
function nice(ms: number): number {
  if (ms < 10) return Math.round(ms);
  const p = 10 ** (Math.floor(Math.log10(ms)) - 1);
  return Math.round(ms / p) * p;
}

export function maxMsFor(current: number): number {
  return Math.max(DEFAULT_MAX_MS, current);
}

export function msToPos(ms: number, maxMs = DEFAULT_MAX_MS): number {
  if (ms <= 0) return 0;
  const t = Math.log(Math.min(ms, maxMs)) / Math.log(maxMs);
  return Math.max(1, Math.min(SLIDER_STEPS, Math.round(1 + t * (SLIDER_STEPS - 1))));
}

export function posToMs(pos: number, maxMs = DEFAULT_MAX_MS): number {
  if (pos <= 0) return 0;
  if (pos >= SLIDER_STEPS) return maxMs;
  return Math.max(1, nice(maxMs ** ((pos - 1) / (SLIDER_STEPS - 1))));
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  return `${Math.round(ms)} ms`;
}
