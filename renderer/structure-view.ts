// The Structure overlay's side of the controller: while the overlay is on (key S) it fetches
// each disk's per-cell kinds, the object list and the RAID arrays, refetches when the engine
// says the structure changed, refreshes the activity line and arrays every second, fetches the
// hovered block's chain, and draws the tints (and a picked object's blocks) over the grids.

import { base64ToBytes } from '../server/shared/base64.ts';
import type { Controller } from './controller.ts';
import { StructureLayer } from './grid/structure-overlay.ts';
import { overlayRgba } from './grid/structure-palette.ts';
import { getUi, setUi, subscribeUi } from './store/store.ts';
import { getStructure, setStructure, subscribeStructure, type DiskOverlay } from './store/structure.ts';

const REFRESH_MS = 1000;

export class StructureView {
  private readonly layer = new StructureLayer();
  private timer: ReturnType<typeof setInterval> | null = null;
  private version = -1;
  private chainKey = '';

  constructor(private readonly c: Controller) {
    c.transport.onPush((m) => {
      if (m.event === 'structure' && getUi().structureOn) void this.refresh();
    });
    subscribeUi((s, prev) => {
      if (s.structureOn !== prev.structureOn) this.onToggle(s.structureOn);
      else if (s.structureOn && (s.layout !== prev.layout || s.disks !== prev.disks)) {
        if (s.disks.length !== prev.disks.length) void this.refresh();
        else this.draw();
      }
      if (s.structureOn && s.hover !== prev.hover) void this.fetchChain();
    });
    subscribeStructure((s, prev) => {
      if (s.overlays !== prev.overlays || s.highlight !== prev.highlight) this.draw();
    });
  }

  toggle(): void {
    setUi({ structureOn: !getUi().structureOn });
  }

  private onToggle(on: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!on) {
      this.layer.hideAll();
      this.c.grid.invalidate();
      return;
    }
    void this.refresh();
    this.timer = setInterval(() => void this.tick(), REFRESH_MS);
  }

  /** Everything the overlay shows, after a structure change (or when switched on). */
  async refresh(): Promise<void> {
    const status = await this.c.transport.call('structureStatus', {}).catch(() => null);
    if (!status) return;
    this.version = status.version;
    const disks = getUi().disks.filter((d) => d.mode === 'server');
    const answers = await Promise.all(
      disks.map((d) => this.c.transport.call('structureOverlay', { disk: d.number }).catch(() => null)),
    );
    const overlays: Record<number, DiskOverlay> = {};
    for (const o of answers)
      if (o) overlays[o.disk] = { cells: base64ToBytes(o.cells), kinds: o.kinds, version: o.version };
    const objects = (await this.c.transport.call('structureObjects', {}).catch(() => null)) ?? [];
    const selected = getStructure().selected;
    const keep = selected && objects.some((o) => o.id === selected) ? selected : null;
    setStructure({ status, overlays, objects, selected: keep, highlight: keep ? getStructure().highlight : null });
    if (keep) await this.select(keep);
    await this.tick();
  }

  /** Once a second while on: activity line, arrays (rebuild progress), and a missed version. */
  private async tick(): Promise<void> {
    const [activity, arrays, status] = await Promise.all([
      this.c.transport.call('structureActivity', {}).catch(() => null),
      this.c.transport.call('arrayStatus', {}).catch(() => null),
      this.c.transport.call('structureStatus', {}).catch(() => null),
    ]);
    setStructure({ activity: activity?.text ?? '', arrays: arrays ?? [], status: status ?? getStructure().status });
    if (status && status.version !== this.version) void this.refresh();
  }

  /** Pick an object in the panel (again, or null, to clear): its blocks light up on every disk. */
  async select(id: string | null): Promise<void> {
    if (!id) return setStructure({ selected: null, highlight: null });
    setStructure({ selected: id });
    const blocks = await this.c.transport.call('objectBlocks', { id }).catch(() => null);
    if (getStructure().selected === id) setStructure({ highlight: blocks });
  }

  private async fetchChain(): Promise<void> {
    const h = getUi().hover;
    if (!h) return;
    const key = `${h.info.disk}:${h.info.firstBlock}:${this.version}`;
    if (key === this.chainKey) return;
    this.chainKey = key;
    const chain = await this.c.transport
      .call('blockChain', { disk: h.info.disk, block: h.info.firstBlock })
      .catch(() => null);
    if (chain && this.chainKey === key) setStructure({ chain: { key, parts: chain.parts } });
  }

  /** Tint every disk's grid (and light up the picked object). */
  draw(): void {
    if (!getUi().structureOn) return;
    const { overlays, highlight } = getStructure();
    for (const d of getUi().disks) {
      const painter = this.c.grid.painter(d.number);
      const layer = this.c.grid.overlayLayer(d.number);
      const o = overlays[d.number];
      if (!painter || !layer || !o || o.cells.length !== painter.cells.length) {
        this.layer.hide(d.number);
        continue;
      }
      const mine = highlight?.disks.find((x) => x.disk === d.number) ?? null;
      const rgba = overlayRgba({
        display: painter.display,
        cells: o.cells,
        blocksPerCell: d.grid.blocksPerCell,
        highlight: mine,
        dim: !!highlight,
      });
      this.layer.show(d.number, layer, painter.display, rgba);
    }
  }
}

let view: StructureView | null = null;

/** Create the page's StructureView (main.tsx); components reach it with structureView(). */
export function installStructureView(c: Controller): StructureView {
  view = new StructureView(c);
  return view;
}

export function structureView(): StructureView | null {
  return view;
}
