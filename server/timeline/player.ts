// Plays a session (a recording being written, a recording file, or imported logs) into
// DiskStats objects: seek = restore the nearest checkpoint's keyframes and apply the events
// since (at most one checkpoint interval), play = apply events up to a clock that runs at
// `speed`, step = up to the next completed request. Every operation runs one at a time.

import type { DiskStats } from '../events/disk-stats.ts';
import type { EventBus } from '../events/event-bus.ts';
import { ByteReader } from '../record/bytes.ts';
import { TAG_CLEAR, TAG_END } from '../record/event-codec.ts';
import { BlockType, type FileHeader, type Mark } from '../record/format.ts';
import { readKeyframe, readKeyframeDelta } from '../record/keyframe.ts';
import type { BlockEntry, SessionIndex } from '../record/session-index.ts';
import { OPS, type RequestEvent } from '../shared/types.ts';
import { DiskCursor, type Rec } from './cursor.ts';

export interface PlaybackTarget {
  disk: number;
  bus: EventBus;
  stats: DiskStats;
}

export const MIN_SPEED = 0.1;
export const MAX_SPEED = 100;
const TICK_MS = 16;

export interface PlayerHooks {
  /** Called before reading the index (a live recorder seals its open blocks). */
  beforeRead?: () => void;
  /** The caption in force changed (null: none). */
  onCaption?: (m: Extract<Mark, { kind: 'caption' }> | null) => void;
  /** Playing reached the end of what is recorded. */
  onEnd?: () => void;
}

export class Player {
  positionUs = 0;
  playing = false;
  speed = 1;
  private cursors = new Map<number, DiskCursor>();
  private inFlight = new Map<number, Map<number, RequestEvent>>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private wallAt = 0;
  private caption: Mark | null = null;
  private ready = false;

  constructor(
    readonly index: SessionIndex,
    readonly header: FileHeader,
    readonly targets: Map<number, PlaybackTarget>,
    private readonly hooks: PlayerHooks = {},
  ) {
    for (const t of targets.values()) t.stats.wallOffsetMs = header.startWallMs;
  }

  get startUs(): number {
    return this.index.startUs;
  }
  get endUs(): number {
    return Math.max(this.index.endUs, this.startUs);
  }

  /** Run `fn` after every operation queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  /** The index lost entries (a recording stopped by a write error): the next seek restores from scratch. */
  forget(): void {
    this.ready = false;
  }

  seek(us: number): Promise<void> {
    return this.serial(() => this.seekNow(us));
  }

  private async seekNow(us: number): Promise<void> {
    this.hooks.beforeRead?.();
    const target = Math.max(this.startUs, Math.min(us, this.endUs));
    const cp = this.index.checkpointBefore(target);
    if (cp < 0) throw new Error('nothing recorded to seek in');
    // Play forward from here when no checkpoint lies between: fewer events to apply.
    const cpUs = this.index.entries[cp].h.firstUs;
    if (!this.ready || target < this.positionUs || cpUs > this.positionUs) await this.restore(cp);
    await this.advance(target);
    this.wallAt = performance.now();
  }

  /** Rebuild checkpoint `cpIndex`: its whole keyframe, then the deltas up to it. */
  private async restore(cpIndex: number): Promise<void> {
    const chain = this.index.restoreChain(cpIndex);
    const bodies = await this.index.bodies(chain);
    chain.forEach((cp, c) => {
      const whole = cp.h.type === BlockType.CHECKPOINT;
      const r = new ByteReader(bodies[c], whole ? 'checkpoint' : 'delta checkpoint');
      for (let i = 0; i < (cp.checkpoint?.length ?? 0); i++) {
        const k = whole ? readKeyframe(r, this.header.startWallMs) : readKeyframeDelta(r, this.header.startWallMs);
        const t = this.targets.get(k.disk);
        if (!t) continue;
        if ('model' in k) t.stats.importModel(k.model);
        else t.stats.importChanges(k.changes);
        // Only the last checkpoint's requests in flight and event position count.
        if (c < chain.length - 1) continue;
        const flying = new Map<number, RequestEvent>();
        for (const p of k.pending)
          this.start(t, flying, k.disk, p.startIndex, p.id, p.connection, p.op, p.offset, p.length, p.flags, p.startUs);
        this.inFlight.set(k.disk, flying);
        this.cursors.set(k.disk, new DiskCursor(this.index, k.disk, k.nextRecord, cpIndex));
      }
    });
    this.positionUs = this.index.entries[cpIndex].h.firstUs;
    this.ready = true;
  }

  /** Apply every record up to `us` (inclusive). */
  private async advance(us: number): Promise<void> {
    const needed = new Set<BlockEntry>();
    for (const c of this.cursors.values()) for (const e of c.neededBlocks(us)) needed.add(e);
    const list = this.index.entries.filter((e) => needed.has(e));
    const bodies = new Map<BlockEntry, Uint8Array>();
    if (list.length) (await this.index.bodies(list)).forEach((b, i) => bodies.set(list[i], b));
    for (const [disk, c] of this.cursors) {
      for (let r = c.next(us, bodies); r; r = c.next(us, bodies)) this.apply(disk, r);
    }
    this.positionUs = Math.max(this.positionUs, us);
    this.updateCaption();
  }

  private apply(disk: number, r: Rec): void {
    const t = this.targets.get(disk);
    if (!t) return;
    let flying = this.inFlight.get(disk);
    if (!flying) this.inFlight.set(disk, (flying = new Map()));
    if (r.kind === 0) {
      const si = r.startIndex;
      this.start(t, flying, disk, si, si + 1, r.connection, r.op, r.offset, r.length, r.flags, r.timeUs);
    } else if (r.kind === TAG_END) {
      const ev = flying.get(r.startIndex);
      if (!ev) return;
      flying.delete(r.startIndex);
      ev.endUs = r.timeUs;
      ev.error = r.error;
      if (r.cancelled) ev.cancelled = true;
      t.bus.emit('end', ev);
    } else if (r.kind === TAG_CLEAR) t.stats.clear();
  }

  /**
   * A recorded request starts again: in flight until its end record, on the target's bus.
   * Plain arguments, not a record object: a seek replays thousands of these (an object spread
   * per record was a fifth of a seek's time).
   */
  private start(
    t: PlaybackTarget,
    flying: Map<number, RequestEvent>,
    disk: number,
    startIndex: number,
    id: number,
    connection: number,
    op: number,
    offset: bigint,
    length: number,
    flags: number,
    startUs: number,
  ): void {
    const ev: RequestEvent = {
      disk,
      connection,
      id,
      op: OPS[op],
      offset,
      length,
      flags,
      startUs,
      endUs: 0,
      error: null,
      recordStart: -1,
    };
    flying.set(startIndex, ev);
    t.bus.emit('start', ev);
  }

  private updateCaption(): void {
    let cur: Mark | null = null;
    for (const m of this.index.marks) {
      if (m.timeUs > this.positionUs) break;
      if (m.kind === 'caption') cur = m.text ? m : null;
    }
    if (cur !== this.caption) {
      this.caption = cur;
      this.hooks.onCaption?.(cur as Extract<Mark, { kind: 'caption' }> | null);
    }
  }

  /** The error toggle of `disk` at the current position (from the recorded marks). */
  errorsAt(disk: number): boolean {
    let on = false;
    for (const m of this.index.marks) {
      if (m.timeUs > this.positionUs) break;
      if (m.kind === 'errors' && m.disk === disk) on = m.on;
    }
    return on;
  }

  play(): void {
    if (this.positionUs >= this.endUs && !this.hooks.onEnd) return;
    this.playing = true;
    this.wallAt = performance.now();
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  pause(): void {
    this.playing = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  setSpeed(speed: number): void {
    if (!(speed >= MIN_SPEED && speed <= MAX_SPEED))
      throw new Error(`speed must be from ${MIN_SPEED} to ${MAX_SPEED}, got ${speed}`);
    this.speed = speed;
  }

  private tick(): void {
    if (this.busy || !this.playing) return;
    this.busy = true;
    const now = performance.now();
    const target = this.positionUs + (now - this.wallAt) * 1000 * this.speed;
    this.wallAt = now;
    void this.serial(async () => {
      this.hooks.beforeRead?.();
      const end = this.endUs;
      if (target >= end) {
        await this.seekNow(end);
        this.pause();
        this.hooks.onEnd?.();
      } else await this.seekNow(target);
    }).finally(() => {
      this.busy = false;
    });
  }

  /** Pause, then go to the completion of the next request (on any disk). */
  step(): Promise<void> {
    this.pause();
    return this.serial(async () => {
      this.hooks.beforeRead?.();
      let best = Infinity;
      for (const c of this.cursors.values()) {
        // A throw-away cursor from the same record: looking ahead must not consume anything.
        const probe = new DiskCursor(this.index, c.disk, c.nextRecord, 0);
        const bodies = new Map<BlockEntry, Uint8Array>();
        for (let blocks = 0; blocks < 64;) {
          const r = probe.next(Infinity, bodies);
          if (r) {
            if (r.kind === TAG_END && r.timeUs > this.positionUs) {
              best = Math.min(best, r.timeUs);
              break;
            }
            continue;
          }
          const [e] = probe.neededBlocks(Infinity, 1);
          if (!e || bodies.has(e)) break;
          bodies.set(e, (await this.index.bodies([e]))[0]);
          blocks++;
        }
      }
      if (best < Infinity) await this.seekNow(best);
    });
  }

  /** Where the next burst of activity starts after the position (a quiet gap ≥ gapUs before it). */
  nextBurstUs(gapUs = 500_000): number | null {
    this.hooks.beforeRead?.();
    const blocks = this.index.entries
      .filter((e) => e.h.type === BlockType.EVENTS && e.requests > 0)
      .sort((a, b) => a.h.firstUs - b.h.firstUs);
    let activeUntil = -Infinity;
    for (const e of blocks) {
      if (e.h.firstUs > this.positionUs + 1 && e.h.firstUs - activeUntil >= gapUs) return e.h.firstUs;
      activeUntil = Math.max(activeUntil, e.h.lastUs);
    }
    return null;
  }

  async nextBurst(): Promise<void> {
    const t = this.nextBurstUs();
    await this.seek(t === null ? this.endUs : Math.max(this.startUs, t - 1));
  }

  close(): void {
    this.pause();
  }
}
