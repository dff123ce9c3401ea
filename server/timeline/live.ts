// Records the engine's disks for as long as it runs (serve, attach, the desktop app): one
// recording per disk set. When the disk set changes (a preset, a demo) the recording starts
// over; a temporary one is discarded, one the user named is kept under a numbered name.

import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import type { Disk } from '../disk.ts';
import type { Engine } from '../engine.ts';
import { monotonicUs } from '../events/event-bus.ts';
import { describeFileError } from '../record/file-error.ts';
import { Recorder } from '../record/recorder.ts';
import { Timeline } from './timeline.ts';

/** Default size limit of a recording: a ring of 256 MiB. */
export const DEFAULT_RECORD_LIMIT = 256 * 1024 * 1024;

export interface LiveRecordOptions {
  /** The file; null = a temporary file, deleted at exit unless saved. */
  path: string | null;
  /** Size limit in bytes (0 = none). */
  limit: number;
  source?: 'serve' | 'attach';
  checkpointRequests?: number;
  /**
   * Where "recording stopped: …" goes besides the UI (default: one line on stderr): a recording
   * that stops while the disks go on serving must not stop unseen.
   */
  onStopped?: (message: string) => void;
}

export class LiveRecording {
  private chain: Promise<void> = Promise.resolve();
  private recordedDisks: readonly Disk[] = [];
  private tempDir: string | null = null;
  private readonly offChange: () => void;
  private readonly offPush: () => void;
  private readonly offMark: () => void;
  private closed = false;
  /** Until start() resolves, a failure is its caller's to report (it rejects). */
  private started = false;

  private constructor(
    private readonly engine: Engine,
    private readonly o: LiveRecordOptions,
  ) {
    this.offChange = engine.onChange(() => void this.sync());
    this.offPush = engine.onPush((m) => {
      const t = engine.timeline;
      if (m.event !== 'caption' || !t?.recorder || t.echo) return;
      t.recorder.mark({
        kind: 'caption',
        timeUs: t.recorder.nowUs(),
        step: m.step,
        total: m.total,
        title: m.title,
        text: m.text,
      });
    });
    this.offMark = engine.onMark((m) => engine.timeline?.recorder?.mark(m));
  }

  /** Starts recording the engine's disks; rejects when the first recording cannot start. */
  static async start(engine: Engine, o: LiveRecordOptions): Promise<LiveRecording> {
    const r = new LiveRecording(engine, o);
    try {
      await r.sync();
    } catch (err) {
      await r.close();
      throw err;
    }
    r.started = true;
    return r;
  }

  /** Say once, on stderr (or onStopped) and in the UI, that the recording stopped and why. */
  private stopped(message: string): void {
    const text = `recording stopped: ${message}`;
    this.engine.push({ event: 'status', level: 'error', message: text });
    if (this.o.onStopped) this.o.onStopped(text);
    else process.stderr.write(`blockscope: ${text}\n`);
  }

  get path(): string {
    if (this.o.path) return this.o.path;
    this.tempDir ??= mkdtempSync(join(tmpdir(), 'blockscope-rec-'));
    return join(this.tempDir, 'session.bsrec');
  }

  /** Follow the engine's disk set (serialized: changes arrive in bursts); rejects if it fails. */
  private sync(): Promise<void> {
    const step = this.chain.then(async () => {
      const disks = this.engine.disks.filter((d) => d.mode !== 'replay');
      const same = disks.length === this.recordedDisks.length && disks.every((d, i) => d === this.recordedDisks[i]);
      if (same || this.closed) return;
      await this.stopCurrent(true);
      this.recordedDisks = disks;
      if (!disks.length) return;
      const path = this.path;
      const recorder = await Recorder.start(disks, {
        path,
        capacity: this.o.limit,
        source: this.o.source ?? 'serve',
        t0Us: monotonicUs(),
        wallStartMs: Date.now(),
        live: true,
        onError: (err) => this.stopped(`${path}: ${describeFileError(err)}`),
        ...(this.o.checkpointRequests ? { checkpointRequests: this.o.checkpointRequests } : {}),
      }).catch((err: Error) => {
        throw new Error(`${path}: ${describeFileError(err)}`);
      });
      const w = recorder.writer;
      const timeline = new Timeline(
        this.engine,
        disks,
        { index: w.index, header: w.header, path: w.path, close: async () => {} },
        recorder,
      );
      timeline.temporary = this.o.path === null;
      this.engine.timeline = timeline;
    });
    this.chain = step.catch((err: Error) => {
      if (this.started) this.stopped(err.message);
    });
    this.engine.timelineSettled = this.chain;
    return step;
  }

  /** Close the current recording; when the disk set changes, keep a named one under a new name. */
  private async stopCurrent(rotate: boolean): Promise<void> {
    const t = this.engine.timeline;
    if (!t?.recorder) return;
    this.engine.timeline = null;
    const requests = t.recorder.requests;
    await t.close();
    if (!rotate) return;
    if (this.o.path && requests > 0) {
      const p = this.o.path;
      const ext = extname(p);
      let n = 1;
      let kept: string;
      do kept = join(dirname(p), `${basename(p, ext)}-${n++}${ext}`);
      while (existsSync(kept));
      renameSync(p, kept);
      this.engine.push({ event: 'status', level: 'info', message: `the disk set changed: recording kept as ${kept}` });
    }
  }

  /** Wait for the disk-set change in progress (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.offChange();
    this.offPush();
    this.offMark();
    await this.chain;
    await this.stopCurrent(false);
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
  }
}
