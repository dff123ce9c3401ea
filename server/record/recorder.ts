// Records every request of a disk set into a session file: per-disk event blocks (sealed a
// few times a second or when 64 KiB fill up), a checkpoint of every disk's keyframe every
// 8192 requests (at most 4 a second unless 32768 came) or 30 s (the seek bound), and markers.
// On the request path it only appends a few varints to a buffer; sealing, compressing and
// writing happen off it (timers, the thread pool, queued async writes). Most checkpoints are
// deltas (what changed since the one before); at least every 8th is whole, so a seek applies at
// most 7 deltas.

import { deflateRaw, deflateRawSync } from 'node:zlib';
import type { Disk } from '../disk.ts';
import { opIndex, type RequestEvent, type RequestPhase } from '../shared/types.ts';
import { ByteWriter } from './bytes.ts';
import { EventEncoder, writeSummary } from './event-codec.ts';
import { BlockType, type Mark, type SessionMeta } from './format.ts';
import type { PendingRequest } from './keyframe.ts';
import { DeltaExport, WholeExport, type KeyframeExport } from './keyframe-export.ts';
import { SessionWriter, type AppendBlock } from './session-writer.ts';

const BLOCK_BYTES = 64 * 1024;
/**
 * Requests between checkpoints: a seek replays up to this many events. 16384 was tried to cut
 * the recording's cost under a flood and did not measurably (docs/performance.md): under a
 * random-write flood the deltas then name twice the cells, so whole keyframes came as often.
 */
const CHECKPOINT_REQUESTS = 8192;
/**
 * ...but not more often than this, unless 4 × CHECKPOINT_REQUESTS came since: a flood of 80,000
 * requests a second made ten checkpoints a second, about half of what recording cost the engine
 * thread. A seek then replays up to 32768 events (the bench's "seek in a recorded flood").
 */
const CHECKPOINT_MIN_MS = 250;
/**
 * A live checkpoint's keyframes are written this many ms per turn of the engine thread, the
 * rest in later turns (copy on write: keyframe-export.ts), so that a checkpoint of a big disk
 * under a flood is not one long turn (docs/performance.md).
 */
const CHECKPOINT_SLICE_MS = 1;
/** Stop recording events (and say so) when this much waits for the disk. */
const MAX_QUEUED = 64 * 1024 * 1024;

export interface RecorderOptions {
  path: string;
  /** Size limit of the file in bytes (a ring: the oldest data is dropped); 0 = none. */
  capacity: number;
  source: SessionMeta['source'];
  files?: string[];
  /** Event time (the events' clock, µs) of session time 0, and the wall clock then (ms). */
  t0Us: number;
  wallStartMs: number;
  /** Live: seal on a timer and compress on the thread pool. Offline (import, synthetic): by hand. */
  live: boolean;
  flushMs?: number;
  /** A checkpoint after this many requests if checkpointMinMs passed since the last, or after checkpointMaxRequests. */
  checkpointRequests?: number;
  checkpointMinMs?: number;
  checkpointMaxRequests?: number;
  /** A checkpoint after this much time with any activity (live). */
  checkpointMs?: number;
  /** Every how many checkpoints one is whole (the others are deltas); 1 = all whole. */
  wholeEvery?: number;
  /** Live: ms of keyframe writing per turn (at least one slice a turn; 0 = one slice). */
  checkpointSliceMs?: number;
  /** Told once when writing fails (the disk full …): recording stops there, close() then succeeds. */
  onError?: (err: Error) => void;
}

interface DiskRecorder {
  disk: Disk;
  enc: EventEncoder;
  off: () => void;
  /** A delta export's marks of the cells it has still to write, one byte a cell, kept. */
  waiting: Uint8Array | null;
}

export interface RecorderStatus {
  path: string;
  bytes: number;
  capacity: number;
  droppedBytes: number;
  /** Session µs before which the ring dropped the data (0 = nothing dropped). */
  droppedUntilUs: number;
  requests: number;
  /** Events not recorded because writing fell behind (the timeline is inexact from there). */
  lost: number;
  error: string | null;
}

export class Recorder {
  private readonly disks: DiskRecorder[];
  private timer: NodeJS.Timeout | null = null;
  private marks: Mark[] = [];
  private sinceCheckpoint = 0;
  /** Bytes appended since the last whole checkpoint (a ring keeps one within its last quarter). */
  private bytesSinceWhole = 0;
  /** Deltas written since the last whole checkpoint; starts "due" so that the first is whole. */
  private deltasSinceWhole = Infinity;
  /** Changed cells the deltas since the last whole checkpoint named, and all the disks' cells. */
  private cellsSinceWhole = 0;
  private readonly totalCells: number;
  private lastCheckpointUs = 0;
  /** While a checkpoint compresses, sealed blocks wait so that the file stays in time order. */
  private held: AppendBlock[] | null = null;
  private checkpointing: Promise<void> | null = null;
  /** The keyframe encoder's buffer, kept between checkpoints (a whole one is ~15 bytes a cell). */
  private spareBody: ByteWriter | null = null;
  private checkpointSoon = false;
  private closed = false;
  requests = 0;
  lost = 0;
  private readonly o: Required<Omit<RecorderOptions, 'files' | 'onError'>> & Pick<RecorderOptions, 'files'>;

  private constructor(
    readonly writer: SessionWriter,
    disks: readonly Disk[],
    o: RecorderOptions,
  ) {
    const checkpointRequests = o.checkpointRequests ?? CHECKPOINT_REQUESTS;
    this.o = {
      flushMs: 250,
      checkpointRequests,
      checkpointMinMs: CHECKPOINT_MIN_MS,
      checkpointMaxRequests: 4 * checkpointRequests,
      checkpointMs: 30_000,
      wholeEvery: 8,
      checkpointSliceMs: CHECKPOINT_SLICE_MS,
      ...o,
    };
    this.totalCells = disks.reduce((n, d) => n + d.stats.geometry.cells, 0);
    this.disks = disks.map((disk) => {
      const rd: DiskRecorder = { disk, enc: new EventEncoder(), off: () => {}, waiting: null };
      const offBus = disk.bus.subscribe((phase, ev) => this.onEvent(rd, phase, ev));
      const onClear = () => this.onClear(rd);
      disk.stats.clearListeners.add(onClear);
      rd.off = () => {
        offBus();
        disk.stats.clearListeners.delete(onClear);
      };
      return rd;
    });
  }

  static async start(disks: readonly Disk[], o: RecorderOptions): Promise<Recorder> {
    const meta: SessionMeta = {
      disks: disks.map((d) => ({ number: d.number, name: `disk${d.number}`, size: d.size.toString(), mode: d.mode })),
      source: o.source,
      created: new Date(o.wallStartMs).toISOString(),
      ...(o.files ? { files: o.files } : {}),
    };
    const writer = await SessionWriter.create(o.path, o.capacity, meta, o.wallStartMs);
    writer.onError = o.onError ?? null;
    const r = new Recorder(writer, disks, o);
    // Requests already in flight get start indexes now (their END records refer to them).
    for (const rd of r.disks) for (const ev of rd.disk.stats.pendingRequests()) ev.recordStart = rd.enc.nextStart++;
    r.checkpoint(o.live ? r.nowUs() : 0);
    if (o.live) {
      r.timer = setInterval(() => r.tick(), r.o.flushMs);
      r.timer.unref();
    }
    return r;
  }

  /** Session time now (live clock). */
  nowUs(): number {
    return this.timeOf(performance.now() * 1000);
  }

  /** A monotonic instant (µs, as events carry them) in this recording's time. */
  timeOf(monotonicUs: number): number {
    return Math.max(0, Math.floor(monotonicUs - this.o.t0Us));
  }

  private onEvent(rd: DiskRecorder, phase: RequestPhase, ev: RequestEvent): void {
    if (this.closed) return;
    // Live only: offline producers (import, synthetic) wait for flush() instead of losing events.
    if ((this.o.live && this.writer.queuedBytes > MAX_QUEUED) || this.writer.error) {
      this.lost++;
      // A reused event object must not keep an index from its previous life.
      if (phase === 'start') ev.recordStart = -1;
      return;
    }
    const t0 = this.o.t0Us;
    let timeUs: number;
    if (phase === 'start') {
      timeUs = ev.startUs - t0;
      ev.recordStart = rd.enc.start(ev, timeUs);
    } else {
      timeUs = ev.endUs - t0;
      let si = ev.recordStart ?? -1;
      // Its START was not recorded (lost while writing lagged): record both now.
      if (si < 0) si = rd.enc.start(ev, ev.startUs - t0);
      rd.enc.end(ev, timeUs, si);
      this.requests++;
      this.sinceCheckpoint++;
    }
    // Blocks stay small in bytes and in time (the scrubber and the plots read their summaries).
    if (rd.enc.w.pos >= BLOCK_BYTES || rd.enc.lastTimeUs - rd.enc.firstTimeUs > this.o.flushMs * 1000)
      this.sealDisk(rd);
    if (
      this.sinceCheckpoint >= this.o.checkpointRequests &&
      (this.sinceCheckpoint >= this.o.checkpointMaxRequests ||
        timeUs - this.lastCheckpointUs >= this.o.checkpointMinMs * 1000) &&
      !this.checkpointing &&
      !this.checkpointSoon
    ) {
      if (this.o.live) {
        // Once: more requests arrive before setImmediate runs.
        this.checkpointSoon = true;
        setImmediate(() => {
          this.checkpointSoon = false;
          this.checkpoint(this.nowUs());
        });
      } else this.checkpoint(Math.floor(timeUs));
    }
  }

  private onClear(rd: DiskRecorder): void {
    if (!this.closed) rd.enc.clear(this.nowUs());
  }

  /** A marker at session time `timeUs` (default: now). */
  mark(m: Mark): void {
    if (!this.closed) this.marks.push(m);
  }

  private tick(): void {
    this.seal();
    const now = this.nowUs();
    const cap = this.writer.header.capacity;
    const due =
      (this.sinceCheckpoint > 0 && now - this.lastCheckpointUs >= this.o.checkpointMs * 1000) ||
      (cap > 0 && this.bytesSinceWhole > cap / 4);
    if (due && !this.checkpointing) this.checkpoint(now);
  }

  private append(b: AppendBlock): void {
    if (this.held) {
      this.held.push(b);
      return;
    }
    this.bytesSinceWhole += b.body.length + b.prefix.length;
    if (!this.writer.append(b)) this.lost += b.records;
  }

  private sealDisk(rd: DiskRecorder): void {
    const e = rd.enc;
    if (e.records === 0) return;
    const prefix = new ByteWriter(256);
    prefix.uv(e.firstRecord);
    prefix.uv(e.firstStart);
    prefix.uv(e.requests);
    writeSummary(prefix, e.summary);
    this.append({
      type: BlockType.EVENTS,
      disk: rd.disk.number,
      firstUs: e.firstTimeUs,
      lastUs: e.lastTimeUs,
      records: e.records,
      prefix: prefix.view(),
      // The encoder's buffer is reused; append() copies it into the block at once, unless the
      // block has to wait for a checkpoint being compressed.
      body: this.held ? e.w.view().slice() : e.w.view(),
      deflated: false,
    });
    e.resetBlock();
  }

  /** Seal every open block and the pending markers (the timeline calls this before a seek). */
  seal(): void {
    for (const rd of this.disks) this.sealDisk(rd);
    if (this.marks.length) {
      const marks = this.marks.sort((a, b) => a.timeUs - b.timeUs);
      this.marks = [];
      this.append({
        type: BlockType.MARKS,
        disk: 0,
        firstUs: marks[0].timeUs,
        lastUs: marks[marks.length - 1].timeUs,
        records: marks.length,
        prefix: new Uint8Array(0),
        body: new TextEncoder().encode(JSON.stringify(marks)),
        deflated: false,
      });
    }
  }

  /**
   * Keyframes of every disk at session time `timeUs`: whole ones, or what changed since the last.
   * Live, they are written over the next turns as the disks were now; the blocks sealed meanwhile
   * wait (this.held) and follow the checkpoint into the file.
   */
  checkpoint(timeUs: number): void {
    if (this.closed) return;
    if (this.checkpointing) {
      // One at a time, so that the file stays in time order: this one once that one is in.
      void this.checkpointing.then(() => this.checkpoint(this.nowUs()));
      return;
    }
    this.seal();
    const cap = this.writer.header.capacity;
    // Taking the changed cells starts the next delta's count whatever this checkpoint is.
    const lists = this.disks.map((rd) => rd.disk.stats.takeChangedCells());
    const changed = lists.reduce((n, c) => n + (c ? c.length : Infinity), 0);
    // A delta costs about ten times more per cell it names than a whole keyframe per cell it
    // holds (encoding varints against copying arrays): past an eighth of the cells, whole is
    // cheaper. So under a random-write flood of a small disk every checkpoint is whole.
    // Whole also when a disk was cleared since (or is too big for deltas), at least every
    // wholeEvery checkpoints, and when the deltas since the last whole one would name more than
    // half the cells: a seek applies them all, and cell by cell a delta is slower to apply than a
    // whole keyframe's arrays.
    const delta = !(
      this.deltasSinceWhole + 1 >= this.o.wholeEvery ||
      (cap > 0 && this.bytesSinceWhole > cap / 4) ||
      changed * 8 > this.totalCells ||
      this.cellsSinceWhole + changed > this.totalCells / 2
    );
    const prefix = new ByteWriter(64);
    // A checkpoint still being compressed keeps its buffer; this one then gets its own.
    const body = this.spareBody ?? new ByteWriter(64 * 1024);
    this.spareBody = null;
    body.reset();
    prefix.uv(this.disks.length);
    const exports: KeyframeExport[] = this.disks.map((rd, i) => {
      prefix.uv(rd.disk.number);
      prefix.uv(rd.enc.nextRecord);
      prefix.uv(rd.enc.nextStart);
      const head = {
        disk: rd.disk.number,
        nextStart: rd.enc.nextStart,
        nextRecord: rd.enc.nextRecord,
        pending: this.pendingOf(rd),
      };
      if (!delta) return new WholeExport(rd.disk.stats, head, body, this.o.wallStartMs);
      rd.waiting ??= new Uint8Array(rd.disk.stats.geometry.cells);
      return new DeltaExport(rd.disk.stats, head, lists[i]!, rd.waiting, this.o.wallStartMs);
    });
    this.sinceCheckpoint = 0;
    this.lastCheckpointUs = timeUs;
    if (delta) {
      this.deltasSinceWhole++;
      this.cellsSinceWhole += changed;
    } else {
      this.deltasSinceWhole = 0;
      this.bytesSinceWhole = 0;
      this.cellsSinceWhole = 0;
    }
    const block = (deflated: Uint8Array): AppendBlock => ({
      type: delta ? BlockType.DELTA : BlockType.CHECKPOINT,
      disk: 0,
      firstUs: timeUs,
      lastUs: timeUs,
      records: this.disks.length,
      prefix: prefix.view().slice(),
      body: deflated,
      deflated: true,
    });
    /** Write the keyframes up to `deadline`; true when all are written. */
    let d = 0;
    const write = (deadline: number): boolean => {
      while (d < exports.length && exports[d].step(body, deadline)) d++;
      return d === exports.length;
    };
    if (!this.o.live) {
      write(Infinity);
      this.append(block(deflateRawSync(body.view(), { level: 1 })));
      this.spareBody = body;
      return;
    }
    this.held = [];
    this.checkpointing = new Promise<void>((resolve) => {
      const deflate = () => {
        const raw = body.view();
        // One output chunk for the whole body: zlib's default 16 KiB chunks cost a round trip
        // through the engine thread each (about 60 for a whole keyframe of 64 Ki cells).
        deflateRaw(raw, { level: 1, chunkSize: Math.max(16 * 1024, raw.length) }, (err, out) => {
          this.spareBody = body;
          const held = this.held ?? [];
          this.held = null;
          this.checkpointing = null;
          if (err) this.writer.fail(err);
          else this.append(block(out));
          for (const b of held) this.append(b);
          resolve();
        });
      };
      const turn = () => {
        if (write(performance.now() + this.o.checkpointSliceMs)) deflate();
        else setImmediate(turn);
      };
      // The first slice in a turn of its own too: this one took the changed cells already.
      setImmediate(turn);
    });
  }

  /** A disk's requests in flight now, as a keyframe holds them. */
  private pendingOf(rd: DiskRecorder): PendingRequest[] {
    const pending: PendingRequest[] = [];
    for (const ev of rd.disk.stats.pendingRequests()) {
      const si = ev.recordStart ?? -1;
      if (si < 0) continue;
      pending.push({
        startIndex: si,
        startUs: Math.floor(ev.startUs - this.o.t0Us),
        op: opIndex(ev.op),
        offset: ev.offset,
        length: ev.length,
        flags: ev.flags,
        connection: ev.connection,
        id: ev.id,
      });
    }
    return pending;
  }

  /** A live checkpoint is being written or compressed (later blocks wait for it). */
  get writingCheckpoint(): boolean {
    return this.checkpointing !== null;
  }

  status(): RecorderStatus {
    const h = this.writer.header;
    return {
      path: this.writer.path,
      bytes: this.writer.fileBytes,
      capacity: h.capacity ? h.capacity + 4096 : 0,
      droppedBytes: h.droppedBytes,
      droppedUntilUs: h.droppedUntilUs,
      requests: this.requests,
      lost: this.lost,
      error: this.writer.error?.message ?? null,
    };
  }

  /** Seal, wait for the writes, stop listening. The file stays (delete it yourself if temporary). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.seal();
    while (this.checkpointing) await this.checkpointing;
    this.closed = true;
    for (const rd of this.disks) rd.off();
    await this.writer.close();
  }

  /** Bytes waiting for the disk (offline producers pause on this). */
  get queuedBytes(): number {
    return this.writer.queuedBytes;
  }

  /** Wait until everything so far is written (then the file can be copied or opened). */
  async flush(): Promise<void> {
    this.seal();
    while (this.checkpointing) await this.checkpointing;
    await this.writer.flush();
  }
}
