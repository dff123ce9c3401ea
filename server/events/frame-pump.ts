// The coalescer's clock: while anyone watches, cut one frame for all changed disks every
// interval and hand the same encoded ArrayBuffer to every subscriber. However many requests
// arrive, a frame carries at most one entry per cell (or one full snapshot), so its size is
// bounded by the grid, not by the request rate. A busy subscriber (a slow WebSocket) skips
// frames and gets a full snapshot when it catches up: nothing blocks the NBD sockets.

import type { Engine } from '../engine.ts';
import { encodeBatch } from '../shared/batch.ts';
import type { DiskFrame } from '../shared/types.ts';
import { monotonicUs } from './event-bus.ts';

export type FrameListener = (buf: ArrayBuffer) => void;

interface Subscriber {
  send: FrameListener;
  isBusy: () => boolean;
  needsFull: boolean;
}

export class FramePump {
  private subs = new Set<Subscriber>();
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private epochs = new Map<number, { stats: object; epoch: number }>();
  private readonly offChange: () => void;
  /** Frames cut and bytes sent, for the benchmarks. */
  readonly stats = { frames: 0, maxBytes: 0, totalBytes: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly intervalMs = 16,
  ) {
    this.offChange = engine.onChange(() => {
      for (const s of this.subs) s.needsFull = true;
    });
    engine.framePumps.add(this);
  }

  /** How many are watching (the demo driver waits for a viewer before it starts). */
  get subscribers(): number {
    return this.subs.size;
  }

  subscribe(send: FrameListener, opts: { isBusy?: () => boolean } = {}): () => void {
    const sub: Subscriber = { send, isBusy: opts.isBusy ?? (() => false), needsFull: true };
    this.subs.add(sub);
    if (!this.timer) this.timer = setInterval(() => this.tick(), this.intervalMs);
    return () => {
      this.subs.delete(sub);
      if (this.subs.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** Cut and deliver one frame now (the timer calls this; tests call it directly). */
  tick(): void {
    const cut: DiskFrame[] = [];
    const all: DiskFrame[] = [];
    for (const d of this.engine.disks) {
      // The time machine may swap what a disk shows: a new source, like a clear, needs a full frame.
      const stats = d.shown();
      const seen = this.epochs.get(d.number);
      const cleared = !seen || seen.stats !== stats || seen.epoch !== stats.epoch;
      this.epochs.set(d.number, { stats, epoch: stats.epoch });
      const f = stats.cutFrame(undefined, cleared);
      if (f) cut.push(f);
      all.push(f ?? stats.fullFrame());
    }
    const timeUs = monotonicUs();
    let shared: ArrayBuffer | null = null;
    let fullBuf: ArrayBuffer | null = null;
    for (const s of this.subs) {
      if (s.isBusy()) {
        s.needsFull = true;
        continue;
      }
      let buf: ArrayBuffer;
      if (s.needsFull) {
        fullBuf ??= encodeBatch({
          seq: ++this.seq,
          timeUs,
          disks: all.map((f, i) => ({
            ...f,
            full: f.full ?? this.engine.disks[i].shown().cells.slice(),
            cellIdx: new Uint32Array(0),
            cellVal: new Uint8Array(0),
          })),
        });
        buf = fullBuf;
        s.needsFull = false;
      } else {
        if (!cut.length) continue;
        shared ??= encodeBatch({ seq: ++this.seq, timeUs, disks: cut });
        buf = shared;
      }
      this.stats.frames++;
      this.stats.totalBytes += buf.byteLength;
      this.stats.maxBytes = Math.max(this.stats.maxBytes, buf.byteLength);
      try {
        s.send(buf);
      } catch (err) {
        console.error('blockscope: frame subscriber failed:', err);
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subs.clear();
    this.offChange();
    this.engine.framePumps.delete(this);
  }
}
