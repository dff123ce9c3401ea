// Wires the transport to the pixels and the store: one frame loop (requestAnimationFrame)
// drains received batches into the per-disk painters, advances flashes, uploads what changed,
// and refreshes counters and the tooltip a few times a second (not while the view is paused).
// It also owns the layout: the stage's size, the disks and the mode go in, each disk's slot and
// display geometry come out (grid/layout.ts) for both the React panels and the Pixi sprites.
// Calls to the engine (toggles, delays, presets) live in engine-calls.ts.

import { decodeBatch } from '../server/shared/batch.ts';
import { cellStartByte } from '../server/shared/geometry.ts';
import type { DiskInfo, GridGeometry, ServerPush } from '../server/shared/types.ts';
import type { UiSettings } from '../server/shared/ui-settings.ts';
import { BlockGrid } from './grid/BlockGrid.ts';
import { CellPainter } from './grid/cell-painter.ts';
import { cellsOfTexel } from './grid/display-geometry.ts';
import { FrameSchedule } from './grid/frame-schedule.ts';
import { computeLayout } from './grid/layout.ts';
import { PALETTES } from './grid/palette.ts';
import { loadSettings, saveSettings } from './store/settings.ts';
import {
  RateWindow,
  getUi,
  setUi,
  store,
  subscribeUi,
  timelineJumped,
  type DiskStatsView,
  type UiState,
} from './store/store.ts';
import type { Transport } from './transport/transport.ts';

const STATS_INTERVAL_MS = 500;
const sameGeometry = (a: GridGeometry, b: GridGeometry) =>
  a.blocks === b.blocks && a.blocksPerCell === b.blocksPerCell && a.cells === b.cells;

interface LiveCounters {
  c: DiskStatsView['totals'];
  inFlight: number;
  latency: { p50: number; p99: number };
}

export class Controller {
  readonly grid = new BlockGrid();
  private queue: ArrayBuffer[] = [];
  private live = new Map<number, LiveCounters>();
  private windows = new Map<number, RateWindow>();
  /** Disks whose next full frame starts their rate window again: the time machine moved them. */
  private restartRatesOnFull = new Set<number>();
  /** When the last time machine status came (timelineJumped measures a move against it). */
  private timelineAt = 0;
  private lastStats = 0;
  /** When the picture was brought up to date, over the last second (fps()). */
  private frameTimes: number[] = [];
  private readonly schedule = new FrameSchedule();
  /** Batches applied to the painters but not drawn yet (request-to-pixel timing). */
  private undrawnBatches = false;
  private rafCount = 0;
  private started = false;
  private stage: HTMLElement | null = null;
  /** Runs a named UI action (set by the action registry; the app menu uses it). */
  runAction: (name: string) => boolean = () => false;
  /** When the last batch arrived and when its pixels were uploaded (request-to-pixel latency). */
  readonly timing = { lastBatchAt: 0, lastPaintAt: 0 };

  constructor(readonly transport: Transport) {
    const { settings, errors } = loadSettings(location.search, window.localStorage ?? null);
    setUi({ settings });
    if (errors.length) setUi({ message: { text: errors.join('; '), level: 'warn' } });
  }

  /** Subscribe at once (messages may arrive before the renderer is ready), then start drawing. */
  async start(stage: HTMLElement): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stage = stage;
    this.transport.onStatus((c) => {
      // Counters from before a disconnect are not a base for rates after it: whatever the disks
      // did meanwhile would read as a burst of the last few seconds. The first frame after the
      // reconnect (a full one) starts the counters and their rate windows again.
      if (c.status !== 'open') {
        this.live.clear();
        this.windows.clear();
      }
      const retry =
        c.attempt || c.retryAt ? { attempt: c.attempt ?? null, at: c.retryAt ?? null, inMs: c.retryInMs ?? 0 } : null;
      setUi({ status: c.status, refusal: c.why ?? null, retry });
    });
    this.transport.onPush((m) => this.onPush(m));
    this.transport.onBatch((b) => {
      this.queue.push(b);
      this.timing.lastBatchAt = performance.now();
    });
    new ResizeObserver(() => this.measureStage()).observe(stage);
    this.measureStage();
    subscribeUi((s, prev) => {
      if (s.timeline !== prev.timeline) this.onTimeline(s.timeline, prev.timeline);
      if (s.settings !== prev.settings) {
        saveSettings(s.settings, window.localStorage ?? null);
        if (s.settings.palette !== prev.settings.palette) this.applyPalette();
      }
      if (
        s.stage !== prev.stage ||
        s.disks !== prev.disks ||
        s.enlarged !== prev.enlarged ||
        s.settings.present !== prev.settings.present
      )
        this.relayout();
    });
    await this.grid.init(stage);
    this.applyPalette();
    this.relayout();
    const loop = (now: number) => {
      this.frame(now);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /**
   * The time machine moved the picture (Live, a seek, from this page or another): the counters
   * become another moment's, and the jump must not read as a burst of the last few seconds. The
   * windows start again now and, whichever comes first, at the disks' full frame of the new moment.
   */
  private onTimeline(next: UiState['timeline'], prev: UiState['timeline']): void {
    const now = performance.now();
    const jumped = timelineJumped(prev, next, now - this.timelineAt);
    this.timelineAt = now;
    if (!jumped) return;
    for (const d of getUi().disks) {
      this.windows.delete(d.number);
      this.restartRatesOnFull.add(d.number);
    }
  }

  private measureStage(): void {
    if (!this.stage) return;
    const r = this.stage.getBoundingClientRect();
    const cur = getUi().stage;
    if (Math.round(r.width) === cur.width && Math.round(r.height) === cur.height) return;
    this.grid.resize(r.width, r.height);
    setUi({ stage: { width: Math.round(r.width), height: Math.round(r.height) } });
  }

  /** What the layout depends on (the disk list is pushed every second: most pushes change nothing). */
  private layoutKey = '';

  /** Lay the disks out on the stage and tell the grid where each goes. */
  relayout(): void {
    const s = getUi();
    const key = [
      s.stage.width,
      s.stage.height,
      s.settings.present,
      s.enlarged,
      ...s.disks.map((d) => `${d.number}:${d.grid.cells}`),
    ].join(' ');
    if (key === this.layoutKey) return;
    this.layoutKey = key;
    const layout = computeLayout({
      width: s.stage.width,
      height: s.stage.height,
      disks: s.disks.map((d) => ({ number: d.number, cells: d.grid.cells })),
      mode: s.settings.present ? 'present' : 'normal',
      enlarged: s.enlarged,
    });
    for (const p of layout.placements) this.grid.place(p.number, { slot: p.slot, fit: p.fit });
    setUi({ layout });
  }

  private onPush(m: ServerPush): void {
    if (m.event === 'disks') this.setDisks(m.disks);
    else if (m.event === 'caption') {
      const keep = getUi().caption?.phase === 'done' && !m.text;
      if (!keep) setUi({ caption: m.text || m.phase === 'done' ? m : null });
    } else if (m.event === 'status') setUi({ message: { text: m.message, level: m.level } });
    else if (m.event === 'action') this.runAction(m.action);
  }

  private setDisks(disks: DiskInfo[]): void {
    const s = getUi();
    const palette = PALETTES[s.settings.palette];
    const keep = new Set(disks.map((d) => d.number));
    for (const d of disks) {
      const p = this.grid.painter(d.number);
      if (!p || !sameGeometry(p.geometry, d.grid))
        this.grid.setDisk(d.number, new CellPainter(d.grid, palette, s.settings.flashMs));
      this.grid.setFailed(d.number, d.errorsOn);
    }
    for (const n of [...this.windows.keys()]) if (!keep.has(n)) this.windows.delete(n);
    for (const old of s.disks) if (!keep.has(old.number)) this.grid.removeDisk(old.number);
    // Block totals come with the disk list; counters come with every frame.
    const stats = { ...s.stats };
    if (!s.paused) {
      for (const d of disks) {
        const cur = stats[d.number] ?? this.emptyStats(d);
        stats[d.number] = { ...cur, blocks: d.blocks, errorBlocks: d.errorBlocks };
      }
    }
    setUi({ disks, stats });
  }

  private emptyStats(d: DiskInfo): DiskStatsView {
    const r = new RateWindow().rates();
    return {
      ...r,
      totals: d.counters,
      inFlight: d.inFlight,
      errors: 0,
      latencyUs: d.latencyUs,
      blocks: d.blocks,
      errorBlocks: d.errorBlocks,
    };
  }

  private frame(now: number): void {
    this.rafCount++;
    const batches = this.queue.splice(0);
    for (const buf of batches) {
      let batch;
      try {
        batch = decodeBatch(buf);
      } catch (err) {
        console.error(err);
        continue;
      }
      for (const f of batch.disks) {
        if (f.full && this.restartRatesOnFull.delete(f.disk)) this.windows.delete(f.disk);
        this.grid.painter(f.disk)?.apply(f, now);
        this.live.set(f.disk, { c: f.counters, inFlight: f.inFlight, latency: f.latencyUs });
      }
      this.undrawnBatches = true;
    }
    // Batches are applied every frame (cheap); the picture is brought up to date at most
    // maxFps times a second, and drawn then only if something changed (BlockGrid.render).
    const state = store.getState();
    if (this.schedule.due(now, state.settings.maxFps)) {
      this.frameTimes.push(now);
      for (const d of state.disks) this.grid.painter(d.number)?.tick(now);
      this.grid.render(state.paused, now);
      if (this.undrawnBatches) this.timing.lastPaintAt = performance.now();
      this.undrawnBatches = false;
    }
    while (this.frameTimes.length && now - this.frameTimes[0] > 1000) this.frameTimes.shift();
    if (now - this.lastStats >= STATS_INTERVAL_MS) {
      this.lastStats = now;
      this.updateStats(now);
    }
  }

  /** Counters and rates, and a fresh tooltip: a few times a second, never while paused. */
  private updateStats(now: number): void {
    const s = getUi();
    if (s.paused) return;
    const stats: Record<number, DiskStatsView> = { ...s.stats };
    for (const d of s.disks) {
      const cur = this.live.get(d.number);
      if (!cur) continue;
      let w = this.windows.get(d.number);
      if (!w) this.windows.set(d.number, (w = new RateWindow()));
      w.add(now, cur.c);
      const errors = Object.values(cur.c).reduce((n, c) => n + c.errors, 0);
      const base = stats[d.number] ?? this.emptyStats(d);
      stats[d.number] = {
        ...base,
        ...w.rates(),
        totals: cur.c,
        inFlight: cur.inFlight,
        errors,
        latencyUs: cur.latency,
      };
    }
    setUi({ stats, frames: this.rafCount });
    if (s.hover) void this.inspect(s.hover.disk, s.hover.texel, s.hover.x, s.hover.y, s.hover.source);
    if (s.disks.some((d) => d.mode === 'replay')) void this.replayStatus();
  }

  private async replayStatus(): Promise<void> {
    const status = await this.transport.call('replay', { action: 'status' }).catch(() => null);
    if (status) setUi({ replay: status });
  }

  /** Times the picture was brought up to date in the last second (drawn, if anything changed). */
  fps(): number {
    return this.frameTimes.length;
  }

  /** Tooltip information for one texel (its cells merged when the display merges). */
  async inspect(disk: number, texel: number, x: number, y: number, source: 'pointer' | 'keyboard'): Promise<void> {
    const p = this.grid.painter(disk);
    if (!p || getUi().paused) return;
    const [cell, end] = cellsOfTexel(p.display, p.cells.length, texel);
    if (cell >= end) return;
    const info = await this.transport.call('inspectCell', { disk, cell, count: end - cell }).catch(() => null);
    // A late answer for a square the pointer or cursor has since left is dropped, and so is one
    // for the source the user has since stopped using: a refresh of the keyboard cursor's tooltip
    // (once a second, from the stats) must not take it back from the pointer that moved meanwhile.
    const want = source === 'pointer' ? this.pointerAt : getUi().cursor;
    if (info && source === this.tooltipFrom && want && want.disk === disk && want.texel === texel)
      setUi({ hover: { disk, texel, info, x, y, source } });
  }

  /** The square the pointer is over (what its tooltip should describe). */
  private pointerAt: { disk: number; texel: number } | null = null;
  /** What the tooltip follows: whichever of pointer and keyboard cursor moved last. */
  private tooltipFrom: 'pointer' | 'keyboard' = 'pointer';

  /** Pointer moved over a grid (or left it: texel -1). */
  hoverAt(disk: number, clientX: number, clientY: number): void {
    const texel = this.grid.texelAt(disk, clientX, clientY);
    if (texel < 0) {
      this.pointerAt = null;
      if (getUi().hover?.source === 'pointer') setUi({ hover: null });
      return;
    }
    this.pointerAt = { disk, texel };
    this.tooltipFrom = 'pointer';
    void this.inspect(disk, texel, clientX, clientY, 'pointer');
  }

  /** Move the keyboard cursor of a focused grid (from the first square if it has none yet). */
  moveCursor(disk: number, dx: number, dy: number): void {
    const p = this.grid.painter(disk);
    if (!p) return;
    const { width, texels } = p.display;
    const cur = getUi().cursor;
    const t = cur && cur.disk === disk ? cur.texel : 0;
    const x = Math.min(width - 1, Math.max(0, (t % width) + dx));
    const y = Math.max(0, Math.floor(t / width) + dy);
    this.setCursor(disk, Math.min(texels - 1, y * width + x));
  }

  setCursor(disk: number, texel: number | null): void {
    this.grid.setCursor(disk, texel);
    if (texel === null) {
      setUi({ cursor: null, hover: getUi().hover?.source === 'keyboard' ? null : getUi().hover });
      return;
    }
    setUi({ cursor: { disk, texel } });
    this.tooltipFrom = 'keyboard';
    // Render first so a pan that reveals the cursor is where the tooltip anchors.
    this.grid.render(true);
    const r = this.grid.texelClientRect(disk, texel);
    if (r) void this.inspect(disk, texel, r.x + r.w, r.y + r.h, 'keyboard');
  }

  updateSetting<K extends keyof UiSettings>(key: K, value: UiSettings[K]): void {
    setUi({ settings: { ...getUi().settings, [key]: value } });
    if (key === 'flashMs')
      for (const d of getUi().disks) {
        const p = this.grid.painter(d.number);
        if (p) p.flashMs = value as number;
      }
  }

  private applyPalette(): void {
    const p = PALETTES[getUi().settings.palette];
    for (const d of getUi().disks) this.grid.painter(d.number)?.setPalette(p);
    this.grid.setStripeColor(p.error);
  }

  /** Test hooks for e2e and benchmarks (read-only views of what is on screen). */
  exposeTestHooks(): void {
    const painter = (disk: number) => this.grid.painter(disk);
    const hooks = {
      fps: () => this.fps(),
      frames: () => this.rafCount,
      uploads: () => this.grid.uploads,
      draws: () => this.grid.draws,
      timing: () => ({ ...this.timing }),
      geometry: (disk: number) => painter(disk)?.geometry ?? null,
      display: (disk: number) => painter(disk)?.display ?? null,
      cellOfOffset: (disk: number, offset: number) => {
        const g = painter(disk)?.geometry;
        return g ? Math.floor(offset / 4096 / g.blocksPerCell) : -1;
      },
      cellStart: (disk: number, cell: number) => {
        const g = painter(disk)?.geometry;
        return g ? cellStartByte(g, cell).toString() : null;
      },
      cellCenter: (disk: number, cell: number) => this.grid.cellCenter(disk, cell),
      texelRect: (disk: number, cell: number) => {
        const p = painter(disk);
        return p ? this.grid.texelClientRect(disk, p.texelOf(cell)) : null;
      },
      gridRect: (disk: number) => this.grid.gridClientRect(disk),
      canvasPixel: (disk: number, cell: number) => {
        const c = this.grid.cellCenter(disk, cell);
        return c ? this.grid.canvasPixel(c.x, c.y) : null;
      },
    };
    (window as unknown as { __blockscope: typeof hooks }).__blockscope = hooks;
  }
}
