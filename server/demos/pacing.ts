// The pace of a demo on stage. guestfish runs the whole script by itself, so between two steps
// the script waits at a gate (a host command that polls for a file) and the driver opens the
// gate when the next step may start: once the caption has been on screen long enough to be
// read, or, in step mode, when the presenter asks for the next step (a key or click in the page,
// Enter in the terminal, or POST /api/demo {"action": "next"}).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How long a caption stays up at least, by default: long enough to read it aloud. */
export function readingTimeMs(text: string): number {
  const words = text.split(/\s+/).filter(Boolean).length;
  return Math.max(3000, words * 250);
}

export interface PacerOptions {
  /** Wait for the presenter between steps. */
  stepMode: boolean;
  /** Minimum on-screen time of a step's caption (ms); ignored in step mode. */
  minCaptionMs: (step: number) => number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class StepPacer {
  private shownAt = new Map<number, number>();
  /** Advances asked for before the step had finished (a presenter's early click counts). */
  private pendingAdvances = 0;
  private wake: (() => void) | null = null;
  private closed = false;
  /** The gate now waiting for the presenter, if any. */
  waitingFor: number | null = null;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly dir: string,
    private readonly o: PacerOptions,
  ) {
    this.now = o.now ?? (() => performance.now());
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get stepMode(): boolean {
    return this.o.stepMode;
  }

  /** The guestfish line that holds the script until step `next` may start. */
  gateCommand(next: number): string {
    return `! while [ ! -e ${join(this.dir, `go-${next}`)} ]; do sleep 0.05; done`;
  }

  /** The caption of `step` went up now. */
  shown(step: number): void {
    this.shownAt.set(step, this.now());
  }

  /** The presenter asks for the next step. */
  advance(): void {
    if (!this.o.stepMode) return;
    this.pendingAdvances = Math.min(1, this.pendingAdvances + 1);
    this.wake?.();
  }

  /**
   * Step `next - 1` has finished its commands: open gate `next` when the caption has been read
   * (or the presenter says so). `onWaiting` is called when the presenter is being waited for.
   */
  async release(next: number, onWaiting?: () => void): Promise<void> {
    if (this.o.stepMode) {
      if (this.pendingAdvances === 0 && !this.closed) {
        this.waitingFor = next;
        onWaiting?.();
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        this.waitingFor = null;
      }
      this.pendingAdvances = 0;
    } else {
      const since = this.shownAt.get(next - 1);
      const left = since === undefined ? 0 : since + this.o.minCaptionMs(next - 1) - this.now();
      if (left > 0 && !this.closed) await this.sleep(left);
    }
    this.open(next);
  }

  private open(next: number): void {
    writeFileSync(join(this.dir, `go-${next}`), '');
  }

  /** Stop waiting for anyone (the demo is being torn down). */
  close(): void {
    this.closed = true;
    this.wake?.();
  }
}
