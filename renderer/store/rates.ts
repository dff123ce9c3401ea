// Rates that a person can read: per-operation requests/s and bytes/s averaged over a sliding
// window of cumulative counter samples (a per-half-second rate drops to 0 between bursts, so
// after mkfs everything read 0). Pure; the controller feeds it the counters of each frame.

import { OPS, type Op, type OpCounter, type TimelineStatus } from '../../server/shared/types.ts';

/** The averaging window. */
export const RATE_WINDOW_MS = 5000;

export interface Rates {
  ops: Record<Op, number>;
  bytesPerSec: Record<Op, number>;
}

const zeros = () => Object.fromEntries(OPS.map((op) => [op, 0])) as Record<Op, number>;

/** Rates from two cumulative counter snapshots `dtMs` apart. */
export function computeRates(prev: Record<Op, OpCounter>, next: Record<Op, OpCounter>, dtMs: number): Rates {
  const ops = zeros();
  const bytesPerSec = zeros();
  const dt = Math.max(dtMs, 1) / 1000;
  for (const op of Object.keys(next) as Op[]) {
    ops[op] = Math.max(0, (next[op].count - (prev[op]?.count ?? 0)) / dt);
    bytesPerSec[op] = Math.max(0, (next[op].bytes - (prev[op]?.bytes ?? 0)) / dt);
  }
  return { ops, bytesPerSec };
}

export class RateWindow {
  private samples: Array<{ at: number; c: Record<Op, OpCounter> }> = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  /** Add the counters as of `now` (ms), every few hundred ms whether or not anything happened. */
  add(now: number, c: Record<Op, OpCounter>): void {
    const last = this.samples[this.samples.length - 1];
    // Counters that went down (a Clear) restart the window.
    if (last && OPS.some((op) => (c[op]?.count ?? 0) < (last.c[op]?.count ?? 0))) this.samples = [];
    this.samples.push({ at: now, c });
    while (this.samples.length > 1 && now - this.samples[0].at > this.windowMs) this.samples.shift();
  }

  /** Averages over the window: idle samples count, so a burst fades out over the window. */
  rates(): Rates {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || first === last) return { ops: zeros(), bytesPerSec: zeros() };
    return computeRates(first.c, last.c, last.at - first.at);
  }
}

/**
 * Whether the time machine moved the picture between two of its statuses `dtMs` apart: to or
 * from Live, or a seek (a position other than where playing or standing still would have put it).
 * The counters jump then, to those of another moment, and a jump is no burst of the last seconds.
 */
export function timelineJumped(prev: TimelineStatus | null, next: TimelineStatus | null, dtMs: number): boolean {
  if (!prev || !next) return false;
  if (prev.following !== next.following) return true;
  if (next.following) return false;
  const expected = prev.positionSec + (prev.playing ? (prev.speed * dtMs) / 1000 : 0);
  // Pushes come about once a second: a little slack for their timing.
  return Math.abs(next.positionSec - expected) > 0.5 + 0.25 * Math.abs(expected - prev.positionSec);
}
