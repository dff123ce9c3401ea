// The live structure service of one engine: decodes every served disk, and decodes again only
// when a completed write, zero or trim touched a block some answer was read from. Off the data
// path: the per-request work is a counter, a ring store and, while the answers are current, one
// binary search. Decodes share the event loop with I/O, so while requests keep completing they
// run at most once every few seconds (≤ 5 % of the time; labels lag under a flood), and as soon
// as the disks go quiet they run at once (the labels catch up within a debounce + one decode).
//
//   write ──► bus 'end' ──► hits a dependency? ──► dirty ──► (debounce / busy throttle) ──► decode
//                                                                 ▲                      │
//                                            writes during decode └──── hit new deps ◄───┘

import type { Engine } from '../engine.ts';
import { monotonicUs } from '../events/event-bus.ts';
import type { RequestEvent, RequestPhase } from '../shared/types.ts';
import type { StructureStatus } from '../shared/structure.ts';
import { RecentRequests, summarise } from './activity.ts';
import { BackendSource } from './backend-source.ts';
import type { DecodeOptions } from './decode.ts';
import type { StructureSnapshot } from './snapshot.ts';
import { dropPages, type PageCache } from './source.ts';

export interface StructureServiceOptions extends DecodeOptions {
  /** Quiet time after the first relevant write before decoding. */
  debounceMs?: number;
  /** While I/O continues, least time between two decodes (at least 20× the last decode's duration). */
  busyGapMs?: number;
}

type Runs = Array<[number, number]>;

/** Does [a, b) meet any of the sorted, disjoint runs? */
function hits(runs: Runs | undefined, a: number, b: number): boolean {
  if (!runs || !runs.length) return false;
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid][1] <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo < runs.length && runs[lo][0] < b;
}

/** A hash of every leaf's range and words: a new version is announced only when it changes. */
function answersHash(snap: StructureSnapshot): number {
  let h = 0x811c9dc5;
  const mix = (text: string) => {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  };
  for (const [n, d] of snap.disks) {
    mix(`#${n}`);
    for (const l of d.leaves) mix(`${l.start}-${l.end}${l.kind}${l.chain.at(-1)?.label ?? ''}`);
  }
  return h >>> 0;
}

export class StructureService {
  private snap: StructureSnapshot | null = null;
  private version = 0;
  private signature = 0;
  private deps = new Map<number, Runs>();
  private dirty = true;
  private decoding = false;
  private timer: NodeJS.Timeout | null = null;
  private lastEnd = 0;
  private lastMs = 0;
  private decodes = 0;
  /** Writes completed while a decode ran: checked against the new answers' dependencies. */
  private duringDecode: Array<[number, number, number]> | null = null;
  private overflowDuringDecode = false;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly rings = new Map<number, RecentRequests>();
  /** Per disk: metadata pages read by earlier decodes and not written since. */
  private readonly caches = new Map<number, PageCache>();
  /** Per disk: page runs written since the last decode started ('all': too many to list). */
  private readonly written = new Map<number, Array<[number, number]> | 'all'>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly debounceMs: number;
  private readonly busyGapMs: number;
  /** Requests completed (any op): tells a busy disk set from a quiet one. */
  private events = 0;
  private eventsWhenArmed = 0;

  constructor(
    private readonly engine: Engine,
    private readonly o: StructureServiceOptions = {},
  ) {
    this.debounceMs = o.debounceMs ?? 150;
    this.busyGapMs = o.busyGapMs ?? 3000;
    this.unsubscribe.push(engine.onChange(() => this.attach()));
    this.attach();
  }

  /** Follow the engine's current disks. */
  private attach(): void {
    while (this.unsubscribe.length > 1) this.unsubscribe.pop()!();
    this.rings.clear();
    this.caches.clear();
    this.written.clear();
    for (const disk of this.engine.disks) {
      const ring = new RecentRequests();
      const cache: PageCache = new Map();
      this.rings.set(disk.number, ring);
      this.caches.set(disk.number, cache);
      const n = disk.number;
      this.unsubscribe.push(disk.bus.subscribe((phase, ev) => this.onEvent(n, ring, cache, phase, ev)));
    }
    this.invalidate();
  }

  private onEvent(disk: number, ring: RecentRequests, cache: PageCache, phase: RequestPhase, ev: RequestEvent): void {
    if (phase !== 'end') return;
    this.events++;
    ring.push(ev.op, ev.offset, ev.length, ev.endUs);
    if (ev.op !== 'write' && ev.op !== 'zero' && ev.op !== 'trim') return;
    // Blocks touched, widened by one on each side: exact enough even where a Number rounds.
    const start = Number(ev.offset);
    const a = Math.floor(start / 4096) - 1;
    const b = Math.ceil((start + ev.length) / 4096) + 1;
    // Cached pages are dropped when the next decode starts, not here: O(1) on the data path.
    if (cache.size || this.decoding) {
      const w = this.written.get(disk);
      if (!w) this.written.set(disk, [[a, b]]);
      else if (w !== 'all') {
        if (w.length < 8192) w.push([a, b]);
        else this.written.set(disk, 'all');
      }
    }
    if (this.duringDecode) {
      if (this.duringDecode.length < 4096) this.duringDecode.push([disk, a, b]);
      else this.overflowDuringDecode = true;
    }
    if (ev.error) return;
    if (!this.dirty && hits(this.deps.get(disk), a, b)) this.invalidate();
  }

  /** Something changed the disks' data behind the bus (a reset, a new disk set): decode again. */
  invalidate(): void {
    for (const c of this.caches.values()) c.clear();
    this.written.clear();
    this.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.decoding || this.closed) return;
    this.eventsWhenArmed = this.events;
    this.timer = setTimeout(() => this.tick(), this.debounceMs);
    this.timer.unref?.();
  }

  /** Decode now if the disks were quiet since the timer was armed (or labels lagged long enough). */
  private tick(): void {
    this.timer = null;
    const busy = this.events !== this.eventsWhenArmed;
    const since = performance.now() - this.lastEnd;
    if (busy && since < Math.max(this.busyGapMs, 20 * this.lastMs)) return this.schedule();
    void this.decode();
  }

  private async decode(): Promise<void> {
    if (this.closed) return;
    this.decoding = true;
    this.decodes++;
    this.dirty = false;
    this.duringDecode = [];
    this.overflowDuringDecode = false;
    const t0 = performance.now();
    this.dropWrittenPages();
    const served = this.engine.disks.filter((d) => d.path);
    try {
      // Loaded on first use: the decoders stay off the engine's start-up path.
      const [{ decodeDisks }, { StructureSnapshot }] = await Promise.all([
        import('./decode.ts'),
        import('./snapshot.ts'),
      ]);
      const result = await decodeDisks(
        served.map((d) => ({
          disk: d.number,
          source: new BackendSource(d.path!),
          cache: this.caches.get(d.number),
        })),
        this.o,
      );
      if (this.closed) return;
      const snap = new StructureSnapshot(result, new Map(served.map((d) => [d.number, d.size])));
      this.deps = result.deps;
      const signature = answersHash(snap);
      this.snap = snap;
      if (signature !== this.signature) {
        this.signature = signature;
        this.version++;
        this.engine.push({ event: 'structure', version: this.version });
      }
      const missed = this.overflowDuringDecode || this.duringDecode.some(([d, a, b]) => hits(this.deps.get(d), a, b));
      if (missed) this.dirty = true;
    } catch (err) {
      // A decoder bug must not take the engine down; the next write tries again, from scratch.
      console.error('blockscope: structure decode failed:', err);
      for (const c of this.caches.values()) c.clear();
    } finally {
      this.lastMs = performance.now() - t0;
      this.lastEnd = performance.now();
      this.decoding = false;
      this.duringDecode = null;
      if (this.dirty) this.schedule();
      else this.wakeIdle();
    }
  }

  /**
   * Forget cached pages written since the last decode started. Writes that land while a decode
   * runs are applied at the next one (which they trigger if they touched what it read), so a
   * page read just before a write completed never outlives the next decode.
   */
  private dropWrittenPages(): void {
    for (const [disk, runs] of this.written) {
      const cache = this.caches.get(disk);
      if (!cache) continue;
      if (runs === 'all') cache.clear();
      else for (const [a, b] of runs) dropPages(cache, a, b);
    }
    this.written.clear();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once the answers are current (no relevant write since the last decode). */
  whenCurrent(): Promise<void> {
    if (!this.dirty && !this.decoding && !this.timer) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  get snapshot(): StructureSnapshot | null {
    return this.snap;
  }

  status(): StructureStatus {
    return {
      version: this.version,
      stale: this.dirty || this.decoding,
      lastDecodeMs: Math.round(this.lastMs * 10) / 10,
      decodes: this.decodes,
      truncated:
        (this.snap?.result.truncated ?? false) || [...(this.snap?.disks.values() ?? [])].some((d) => d.truncated),
      warnings: this.snap?.result.warnings ?? [],
    };
  }

  /** What the requests of the last `seconds` touched, in words (all disks, or one). */
  activity(disk?: number, seconds = 5) {
    const rings = [...this.rings].filter(([n]) => disk === undefined || n === disk);
    return summarise(rings, this.snap, monotonicUs() - seconds * 1_000_000);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const u of this.unsubscribe.splice(0)) u();
    this.wakeIdle();
  }
}
