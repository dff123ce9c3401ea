// Wires the transport to the pixels and the store: one frame loop (requestAnimationFrame)
// drains received batches into the per-disk painters, advances read flashes, uploads what
// changed, and refreshes the counters a few times a second. User actions go back through the
// transport to the engine's control API.

import { decodeBatch } from '../server/shared/batch.ts';
import { cellStartByte } from '../server/shared/geometry.ts';
import type {
  DiskInfo,
  GridGeometry,
  Op,
  OpCounter,
  PresetName,
  ReplayAction,
  ServerPush,
} from '../server/shared/types.ts';
import { BlockGrid } from './grid/BlockGrid.ts';
import { CellPainter } from './grid/cell-painter.ts';
import { PALETTES, type PaletteName } from './grid/palette.ts';
import { computeRates, setUi, store, type DiskRates } from './store/store.ts';
import type { Transport } from './transport/transport.ts';

const RATE_INTERVAL_MS = 500;
const sameGeometry = (a: GridGeometry, b: GridGeometry) =>
  a.blocks === b.blocks && a.blocksPerCell === b.blocksPerCell && a.width === b.width && a.height === b.height;

export class Controller {
  readonly grid = new BlockGrid();
  private queue: ArrayBuffer[] = [];
  private counters = new Map<
    number,
    { at: number; c: Record<Op, OpCounter>; inFlight: number; latency: { p50: number; p99: number } }
  >();
  private lastCounters = new Map<number, { at: number; c: Record<Op, OpCounter> }>();
  private lastRates = 0;
  private frameTimes: number[] = [];
  private rafCount = 0;
  private started = false;
  /** When the last batch arrived and when its pixels were uploaded (request-to-pixel latency). */
  readonly timing = { lastBatchAt: 0, lastPaintAt: 0 };

  constructor(readonly transport: Transport) {}

  /** Subscribe at once (messages may arrive before the renderer is ready), then start drawing. */
  async start(host: HTMLElement): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.transport.onStatus((status) => setUi({ status }));
    this.transport.onPush((m) => this.onPush(m));
    this.transport.onBatch((b) => {
      this.queue.push(b);
      this.timing.lastBatchAt = performance.now();
    });
    await this.grid.init(host, PALETTES[store.getState().palette].background);
    const loop = (now: number) => {
      this.frame(now);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  private onPush(m: ServerPush): void {
    if (m.event === 'disks') this.setDisks(m.disks);
    else if (m.event === 'caption')
      setUi({ caption: m.text ? { step: m.step, total: m.total, title: m.title, text: m.text } : null });
    else if (m.event === 'status') setUi({ message: { text: m.message, level: m.level } });
  }

  private setDisks(disks: DiskInfo[]): void {
    const palette = PALETTES[store.getState().palette];
    const keep = new Set(disks.map((d) => d.number));
    for (const d of disks) {
      const p = this.grid.painter(d.number);
      if (!p || !sameGeometry(p.geometry, d.grid))
        this.grid.setDisk(d.number, new CellPainter(d.grid, palette, store.getState().flashMs));
    }
    for (const n of [...this.lastCounters.keys()]) if (!keep.has(n)) this.lastCounters.delete(n);
    for (const old of store.getState().disks) if (!keep.has(old.number)) this.grid.removeDisk(old.number);
    setUi({ disks });
  }

  private frame(now: number): void {
    this.rafCount++;
    this.frameTimes.push(now);
    while (this.frameTimes.length && now - this.frameTimes[0] > 1000) this.frameTimes.shift();
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
        this.grid.painter(f.disk)?.apply(f, now);
        this.counters.set(f.disk, { at: now, c: f.counters, inFlight: f.inFlight, latency: f.latencyUs });
      }
    }
    const state = store.getState();
    for (const d of state.disks) this.grid.painter(d.number)?.tick(now);
    this.grid.render(state.paused);
    if (batches.length) this.timing.lastPaintAt = performance.now();
    if (now - this.lastRates >= RATE_INTERVAL_MS) {
      this.lastRates = now;
      this.updateRates(now);
    }
  }

  private updateRates(now: number): void {
    const rates: Record<number, DiskRates> = {};
    for (const [disk, cur] of this.counters) {
      const prev = this.lastCounters.get(disk);
      const r = prev ? computeRates(prev.c, cur.c, now - prev.at) : computeRates(cur.c, cur.c, 1);
      const errors = Object.values(cur.c).reduce((n, c) => n + c.errors, 0);
      const cancelled = Object.values(cur.c).reduce((n, c) => n + c.cancelled, 0);
      rates[disk] = { ...r, inFlight: cur.inFlight, errors, cancelled, latencyUs: cur.latency };
      this.lastCounters.set(disk, { at: now, c: cur.c });
    }
    setUi({ rates: { ...store.getState().rates, ...rates }, frames: this.rafCount });
    if (store.getState().disks.some((d) => d.mode === 'replay')) void this.replay('status');
  }

  async replay(action: ReplayAction, extra: { seconds?: number; speed?: number } = {}): Promise<void> {
    const status = await this.transport.call('replay', { action, ...extra }).catch(() => null);
    if (status) setUi({ replay: status });
  }

  fps(): number {
    return this.frameTimes.length;
  }

  // ---- Actions -------------------------------------------------------------------------

  private async run<T>(p: Promise<T>): Promise<T | undefined> {
    try {
      return await p;
    } catch (err) {
      setUi({ message: { text: (err as Error).message, level: 'error' } });
      return undefined;
    }
  }

  private replaceDisk(info: DiskInfo | undefined): void {
    if (!info) return;
    setUi({ disks: store.getState().disks.map((d) => (d.number === info.number ? info : d)) });
  }

  async setErrors(disk: number, on: boolean): Promise<void> {
    // Optimistic: the checkbox follows the click at once; the engine's answer then confirms it.
    const before = store.getState().disks.find((d) => d.number === disk);
    if (before) this.replaceDisk({ ...before, errorsOn: on });
    const after = await this.run(this.transport.call('setErrors', { disk, on }));
    this.replaceDisk(after ?? before);
  }

  async setDelay(disk: number, key: 'rdelay' | 'wdelay', ms: number): Promise<void> {
    const params = { [key]: `${Math.round(ms)}ms` };
    this.replaceDisk(await this.run(this.transport.call('setFilterParams', { disk, filter: 'delay', params })));
  }

  async applyPreset(preset: PresetName, disks?: number): Promise<void> {
    const list = await this.run(this.transport.call('applyPreset', { preset, disks }));
    if (list) this.setDisks(list);
    const cmds = await this.run(this.transport.call('presetCommands', {}));
    if (cmds && store.getState().commands) setUi({ commands: cmds.commands });
  }

  async showCommands(): Promise<void> {
    const cmds = await this.run(this.transport.call('presetCommands', {}));
    if (cmds) setUi({ commands: cmds.commands });
  }

  async clearPicture(disk: number): Promise<void> {
    this.grid.painter(disk)?.clear();
    this.replaceDisk(await this.run(this.transport.call('clearPicture', { disk })));
  }

  async resetDisk(disk: number): Promise<void> {
    this.grid.painter(disk)?.clear();
    this.replaceDisk(await this.run(this.transport.call('resetDisk', { disk })));
  }

  async inspect(disk: number, cell: number, x: number, y: number): Promise<void> {
    const info = await this.transport.call('inspectCell', { disk, cell }).catch(() => null);
    if (info) setUi({ hover: { info, x, y } });
  }

  setPalette(name: PaletteName): void {
    const p = PALETTES[name];
    for (const d of store.getState().disks) this.grid.painter(d.number)?.setPalette(p);
    this.grid.setBackground(p.background);
    setUi({ palette: name });
  }

  setFlashMs(ms: number): void {
    for (const d of store.getState().disks) {
      const p = this.grid.painter(d.number);
      if (p) p.flashMs = ms;
    }
    setUi({ flashMs: ms });
  }

  /** Test hooks for e2e and benchmarks (read-only views of what is on screen). */
  exposeTestHooks(): void {
    const hooks = {
      fps: () => this.fps(),
      frames: () => this.rafCount,
      uploads: () => this.grid.uploads,
      timing: () => ({ ...this.timing }),
      geometry: (disk: number) => this.grid.painter(disk)?.geometry ?? null,
      cellOfOffset: (disk: number, offset: number) => {
        const g = this.grid.painter(disk)?.geometry;
        return g ? Math.floor(offset / 4096 / g.blocksPerCell) : -1;
      },
      cellStart: (disk: number, cell: number) => {
        const g = this.grid.painter(disk)?.geometry;
        return g ? cellStartByte(g, cell).toString() : null;
      },
      cellColor: (disk: number, cell: number) => {
        const p = this.grid.painter(disk);
        return p ? Array.from(p.rgba.subarray(cell * 4, cell * 4 + 4)) : null;
      },
      cellCenter: (disk: number, cell: number) => this.grid.cellCenter(disk, cell),
      canvasPixel: (disk: number, cell: number) => {
        const c = this.grid.cellCenter(disk, cell);
        return c ? this.grid.canvasPixel(c.x, c.y) : null;
      },
    };
    (window as unknown as { __blockscope: typeof hooks }).__blockscope = hooks;
  }
}
