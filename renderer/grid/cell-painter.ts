// Turns decoded frames into pixels for one disk: the engine's cell values, and an RGBA buffer
// with one texel per display texel (DisplayGeometry: the row width the layout chose, and
// `merge` cells per texel when the screen has fewer pixels than the disk has cells), plus the
// span of rows that changed, so the texture upload can be partial. Pure: no Pixi, no React,
// no store — unit-tested under Node.
//
// A merged texel shows the highest state among its cells (failed wins), so one written block
// never disappears. Reads flash (the palette's read colour, fading back over `flashMs`);
// writes that do not change a texel's colour (rewrites of written blocks) flash briefly too;
// texels under in-flight requests are tinted "pending" until their request completes.

import type { DiskFrame, GridGeometry } from '../../server/shared/types.ts';
import { displayGeometry, type DisplayGeometry } from './display-geometry.ts';
import { cellRestColor, mixColor, packPalette, type Palette, type PackedPalette } from './palette.ts';

/** How strongly the pending tint covers a texel. */
const PENDING_MIX = 0.55;
/** Rewrite flashes are shorter than read flashes: a blink, not a fade. */
const REWRITE_SHARE = 0.6;
const FLASH_READ = 1;
const FLASH_REWRITE = 2;

export class CellPainter {
  readonly cells: Uint8Array;
  display: DisplayGeometry;
  rgba: Uint8Array;
  px: Uint32Array;
  /** ms timestamp of each texel's last flash (0 = none) and its kind. */
  private flashAt: Float64Array;
  private flashKind: Uint8Array;
  private flashing = new Set<number>();
  private pendingNow = new Set<number>();
  private palette: PackedPalette;
  /** Changed rows since the last takeDirtyRows(); -1 when clean. */
  private dirtyLo = -1;
  private dirtyHi = -1;
  /** Bumped whenever pixels change (repaint only disks whose version moved). */
  version = 0;

  constructor(
    readonly geometry: GridGeometry,
    palette: Palette,
    public flashMs = 300,
    display: DisplayGeometry = displayGeometry(geometry.cells, 1, geometry.width),
  ) {
    this.cells = new Uint8Array(geometry.cells);
    this.palette = packPalette(palette);
    this.display = display;
    this.rgba = this.px = null as never;
    this.flashAt = null as never;
    this.flashKind = null as never;
    this.allocate(display);
  }

  private allocate(d: DisplayGeometry): void {
    this.display = d;
    this.rgba = new Uint8Array(d.width * d.height * 4);
    this.px = new Uint32Array(this.rgba.buffer);
    this.flashAt = new Float64Array(d.texels);
    this.flashKind = new Uint8Array(d.texels);
    this.flashing.clear();
    this.pendingNow.clear();
    this.repaintAll();
  }

  /** Re-arrange the texels (the layout changed); true when it did. */
  setDisplay(d: DisplayGeometry): boolean {
    const o = this.display;
    if (o.merge === d.merge && o.width === d.width && o.height === d.height) return false;
    this.allocate(d);
    return true;
  }

  setPalette(p: Palette): void {
    this.palette = packPalette(p);
    this.repaintAll();
  }

  private markRow(texel: number): void {
    const row = Math.floor(texel / this.display.width);
    if (this.dirtyLo < 0 || row < this.dirtyLo) this.dirtyLo = row;
    if (row > this.dirtyHi) this.dirtyHi = row;
  }

  /** The texel's value: its cells merged (highest state; the error flag if any failed). */
  private texelValue(t: number): number {
    const k = this.display.merge;
    if (k === 1) return this.cells[t];
    const end = Math.min(this.cells.length, (t + 1) * k);
    let state = 0;
    let flags = 0;
    for (let c = t * k; c < end; c++) {
      const v = this.cells[c];
      flags |= v & ~3;
      if ((v & 3) > state) state = v & 3;
    }
    return state | flags;
  }

  private restColor(t: number): number {
    return cellRestColor(this.palette, this.texelValue(t));
  }

  private paintTexel(t: number, now: number): void {
    let c = this.restColor(t);
    if (this.pendingNow.has(t)) c = mixColor(c, this.palette.pending, PENDING_MIX);
    const at = this.flashAt[t];
    if (at > 0) {
      const kind = this.flashKind[t];
      const span = kind === FLASH_REWRITE ? this.flashMs * REWRITE_SHARE : this.flashMs;
      const p = (now - at) / span;
      if (p >= 1 || p < 0) {
        this.flashAt[t] = 0;
        this.flashing.delete(t);
      } else {
        const flash = kind === FLASH_REWRITE ? this.palette.rewrite : this.palette.read;
        c = mixColor(flash, c, p);
      }
    }
    if (this.px[t] !== c) {
      this.px[t] = c;
      this.markRow(t);
    }
  }

  repaintAll(now = performance.now()): void {
    for (let t = 0; t < this.display.texels; t++) this.paintTexel(t, now);
    this.dirtyLo = 0;
    this.dirtyHi = this.display.height - 1;
    this.version++;
  }

  private flash(t: number, kind: number, now: number): void {
    this.flashAt[t] = now;
    this.flashKind[t] = kind;
    this.flashing.add(t);
  }

  /** Apply one frame. */
  apply(frame: DiskFrame, now = performance.now()): void {
    const k = this.display.merge;
    const n = this.cells.length;
    const texel = (c: number) => (k === 1 ? c : Math.floor(c / k));
    if (frame.full) {
      this.cells.set(frame.full.subarray(0, n));
      for (let t = 0; t < this.display.texels; t++) this.paintTexel(t, now);
    }
    const changed = new Set<number>();
    for (let i = 0; i < frame.cellIdx.length; i++) {
      const c = frame.cellIdx[i];
      if (c >= n) continue;
      const t = texel(c);
      const before = this.restColor(t);
      this.cells[c] = frame.cellVal[i];
      if (this.restColor(t) !== before) changed.add(t);
      this.paintTexel(t, now);
    }
    // Writes that changed nothing on screen (a rewrite of red) blink, so they are seen.
    const writes = frame.writes;
    for (let i = 0; i < writes.length; i++) {
      const c = writes[i];
      if (c >= n) continue;
      const t = texel(c);
      if (changed.has(t)) continue;
      this.flash(t, FLASH_REWRITE, now);
      this.paintTexel(t, now);
    }
    for (let i = 0; i < frame.reads.length; i++) {
      const c = frame.reads[i];
      if (c >= n) continue;
      const t = texel(c);
      this.flash(t, FLASH_READ, now);
      this.paintTexel(t, now);
    }
    const pending = new Set<number>();
    for (let i = 0; i + 1 < frame.pending.length; i += 2) {
      const first = frame.pending[i];
      const end = Math.min(first + frame.pending[i + 1], n);
      for (let c = first; c < end; c += k) pending.add(texel(c));
      if (end > first) pending.add(texel(end - 1));
    }
    const before = this.pendingNow;
    this.pendingNow = pending;
    for (const t of before) if (!pending.has(t)) this.paintTexel(t, now);
    for (const t of pending) if (!before.has(t)) this.paintTexel(t, now);
    this.version++;
  }

  /** Advance flashes to `now`. */
  tick(now = performance.now()): void {
    if (!this.flashing.size) return;
    for (const t of [...this.flashing]) this.paintTexel(t, now);
    this.version++;
  }

  /** Rows changed since the last call, as [firstRow, lastRow], or null. */
  takeDirtyRows(): [number, number] | null {
    if (this.dirtyLo < 0) return null;
    const r: [number, number] = [this.dirtyLo, this.dirtyHi];
    this.dirtyLo = this.dirtyHi = -1;
    return r;
  }

  /** Forget the picture (Clear): everything untouched again. */
  clear(): void {
    this.cells.fill(0);
    this.flashAt.fill(0);
    this.flashing.clear();
    this.pendingNow.clear();
    this.repaintAll();
  }

  /** The texel showing engine cell `cell`. */
  texelOf(cell: number): number {
    return Math.floor(cell / this.display.merge);
  }

  get isFlashing(): boolean {
    return this.flashing.size > 0;
  }
}
