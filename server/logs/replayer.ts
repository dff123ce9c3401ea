// Plays finished logs (one disk per file) with their original timing, scaled by `speed`, and
// lets the UI pause, step (one request at a time), seek and change speed. Files are streamed,
// never loaded whole: the streams are merged by timestamp, and a seek restarts them and
// fast-forwards to the target time without waiting.

import { open as openFile } from 'node:fs/promises';
import type { Disk } from '../disk.ts';
import type { ReplayControl } from '../engine.ts';
import type { ReplayStatus } from '../shared/types.ts';
import { LogCorrelator } from './correlator.ts';
import { readLogLines } from './lines.ts';
import { readLine, type LogLine } from './parser.ts';
import { UnreadableLines } from './unreadable.ts';

interface Stream {
  disk: Disk;
  correlator: LogCorrelator;
  lines: AsyncIterator<string | null>;
  unreadable: UnreadableLines;
  lineNo: number;
  next: LogLine | null;
  done: boolean;
}

const TICK_MS = 20;
/** How far back from a log's end its last timestamp is looked for (bounded memory). */
const MAX_TAIL_SCAN = 16 << 20;
/** Playback speeds accepted (CLI and API alike). */
export const MIN_SPEED = 0.01;
export const MAX_SPEED = 1000;

export class Replayer implements ReplayControl {
  private streams: Stream[] = [];
  private playing = true;
  private finished = false;
  private startUs: number | null = null;
  /** Log time (µs) reached. */
  private positionUs = 0;
  private stepping = false;
  private wake: (() => void) | null = null;
  private generation = 0;
  private seekTo: number | null = null;
  /** Log length (µs), from the first and last timestamps; null until known. */
  private durationUs: number | null = null;
  /** Callers waiting for a seek or a step to finish. */
  private seekWaiters: Array<() => void> = [];
  private stepWaiters: Array<() => void> = [];
  requests = 0;

  constructor(
    private readonly disks: Disk[],
    private readonly paths: string[],
    public speed: number,
    /** Keep running after the end (the UI may seek back); stop() ends it. */
    private readonly keepAlive = false,
  ) {}

  private stopped = false;

  stop(): void {
    this.stopped = true;
    this.settle();
    this.poke();
  }

  /** Wake everyone waiting for a seek or step (done, or stopped). */
  private settle(kind: 'seek' | 'step' | 'all' = 'all'): void {
    if (kind !== 'step') for (const w of this.seekWaiters.splice(0)) w();
    if (kind !== 'seek') for (const w of this.stepWaiters.splice(0)) w();
  }

  status(): ReplayStatus {
    return {
      playing: this.playing,
      speed: this.speed,
      positionSec: this.positionUs / 1e6,
      durationSec: this.durationUs === null ? null : this.durationUs / 1e6,
      finished: this.finished,
      requests: this.requests,
    };
  }

  pause(): void {
    this.playing = false;
  }
  /** Play on; at the end, play again from the start. */
  resume(): void {
    if (this.finished) void this.seek(0);
    this.playing = true;
    this.poke();
  }
  /** Play until the next request completes, then pause; resolves when it has. */
  step(): Promise<void> {
    this.playing = false;
    if (this.finished) return Promise.resolve();
    this.stepping = true;
    const done = new Promise<void>((r) => this.stepWaiters.push(r));
    this.poke();
    return done;
  }
  setSpeed(speed: number): void {
    if (!(speed >= MIN_SPEED && speed <= MAX_SPEED))
      throw new Error(`speed must be a number from ${MIN_SPEED} to ${MAX_SPEED}, got ${speed}`);
    this.speed = speed;
  }
  /**
   * Jump to `seconds` of log time (clamped to the log's length): restart from the top and
   * fast-forward. Resolves when the picture is at the new position.
   */
  seek(seconds: number): Promise<void> {
    if (!(seconds >= 0)) throw new Error(`seek: seconds must be ≥ 0, got ${seconds}`);
    const us = seconds * 1e6;
    this.seekTo = this.durationUs === null ? us : Math.min(us, this.durationUs);
    this.generation++;
    const done = new Promise<void>((r) => this.seekWaiters.push(r));
    this.poke();
    return done;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** The last timestamp in a log: read backwards from its end (logs may be huge), at most MAX_TAIL_SCAN bytes. */
  private static async lastTimestamp(path: string): Promise<number | null> {
    const f = await openFile(path, 'r');
    try {
      const size = (await f.stat()).size;
      for (let span = 64 * 1024; span <= MAX_TAIL_SCAN; span *= 4) {
        const start = Math.max(0, size - span);
        const buf = Buffer.alloc(size - start);
        await f.read(buf, 0, buf.length, start);
        const lines = buf.toString('utf8').split('\n');
        // The first line of a window may be cut: skip it unless the window is the whole file.
        for (let i = lines.length - 1; i >= (start > 0 ? 1 : 0); i--) {
          const t = readLine(lines[i]).line?.timeUs;
          if (t != null) return t;
        }
        if (start === 0) return null;
      }
      return null; // no timestamp near the end (a hostile log): the duration stays unknown
    } finally {
      await f.close();
    }
  }

  private async measure(): Promise<void> {
    const firsts = this.streams.map((s) => s.next?.timeUs).filter((t): t is number => t != null);
    const lasts = (await Promise.all(this.paths.map((p) => Replayer.lastTimestamp(p).catch(() => null)))).filter(
      (t): t is number => t != null,
    );
    if (firsts.length && lasts.length) this.durationUs = Math.max(0, Math.max(...lasts) - Math.min(...firsts));
  }

  private async open(): Promise<void> {
    // Close the previous pass's files (a seek reopens them).
    await Promise.all(this.streams.map((s) => s.lines.return?.(undefined)));
    this.streams = this.paths.map((path, i) => {
      const disk = this.disks[i];
      const correlator = new LogCorrelator(disk.number, disk.bus, 'log');
      // A new pass over the file counts its unreadable lines from zero.
      const unreadable = new UnreadableLines(disk, path, this.generation > 0);
      return { disk, correlator, lines: readLogLines(path), unreadable, lineNo: 0, next: null, done: false };
    });
    for (const s of this.streams) await this.advance(s);
  }

  /** Read the stream's next parseable line into `next` (counting unparsable ones). */
  private async advance(s: Stream): Promise<void> {
    s.next = null;
    while (!s.done) {
      const r = await s.lines.next();
      if (r.done) {
        s.done = true;
        return;
      }
      s.lineNo++;
      if (r.value === null) {
        s.unreadable.overlong(s.lineNo);
        continue;
      }
      if (!r.value) continue;
      const l = readLine(r.value);
      if (l.line) {
        s.next = l.line;
        return;
      }
      s.unreadable.note(s.lineNo, l.why);
    }
  }

  /** The stream whose next line comes first (lines without a timestamp go at once). */
  private earliest(): Stream | null {
    let best: Stream | null = null;
    for (const s of this.streams) {
      if (!s.next) continue;
      if (!best || (s.next.timeUs ?? -Infinity) < (best.next!.timeUs ?? -Infinity)) best = s;
    }
    return best;
  }

  async run(): Promise<void> {
    await this.open();
    await this.measure();
    let wallStart = performance.now();
    let logAtWallStart = 0;
    for (;;) {
      if (this.stopped) return this.settle();
      if (this.seekTo !== null) {
        // Restart everything and fast-forward.
        const target = this.seekTo;
        this.seekTo = null;
        for (const d of this.disks) d.stats.clear();
        this.requests = 0;
        this.positionUs = 0;
        this.startUs = null;
        this.finished = false;
        await this.open();
        const gen = this.generation;
        let reached = 0;
        for (let s = this.earliest(); s; s = this.earliest()) {
          const t = s.next!.timeUs;
          this.startUs ??= t;
          if (t !== null && this.startUs !== null && t - this.startUs > target) {
            reached = target;
            break;
          }
          if (t !== null && this.startUs !== null) reached = t - this.startUs;
          this.feed(s);
          await this.advance(s);
          if (gen !== this.generation) break;
        }
        // Past the end: the position is where the log ends, not where the user asked.
        this.positionUs = Math.min(target, reached);
        wallStart = performance.now();
        logAtWallStart = this.positionUs;
        if (gen === this.generation) this.settle('seek');
        continue;
      }
      const s = this.earliest();
      if (!s) {
        this.finished = true;
        this.playing = false;
        this.stepping = false;
        this.settle('step');
        if (!this.keepAlive) return this.settle();
        await this.sleep(1000);
        continue;
      }
      if (!this.playing && !this.stepping) {
        await this.sleep(1000);
        wallStart = performance.now();
        logAtWallStart = this.positionUs;
        continue;
      }
      const t = s.next!.timeUs;
      this.startUs ??= t;
      if (!this.stepping && t !== null && this.startUs !== null) {
        const due = t - this.startUs;
        const now = logAtWallStart + (performance.now() - wallStart) * 1000 * this.speed;
        if (due > now) {
          this.positionUs = now;
          await this.sleep(Math.min(TICK_MS, (due - now) / 1000 / this.speed));
          continue;
        }
        this.positionUs = due;
      } else if (t !== null && this.startUs !== null) this.positionUs = t - this.startUs;
      const completed = this.feed(s);
      await this.advance(s);
      if (this.stepping && completed) {
        this.stepping = false;
        this.settle('step');
        wallStart = performance.now();
        logAtWallStart = this.positionUs;
      }
    }
  }

  /** Feed one line; true when it completed a request. */
  private feed(s: Stream): boolean {
    const before = s.correlator.requests;
    s.correlator.feed(s.next!);
    const done = s.correlator.requests > before;
    if (done) this.requests++;
    return done;
  }
}
