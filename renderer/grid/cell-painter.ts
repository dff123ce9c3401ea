// Turns decoded frames into pixels for one disk: an RGBA buffer (one texel per cell) plus the
// span of rows that changed, so the texture upload can be partial. Pure: no Pixi, no React,
// no store — unit-tested under Node.
//
// Reads flash black and fade back to the cell's colour over `flashMs`; cells under in-flight
// requests are tinted "pending" until their request completes.

import type { DiskFrame, GridGeometry } from '../../server/shared/types.ts';
import { cellRestColor, mixColor, packPalette, type Palette, type PackedPalette } from './palette.ts';

/** How strongly the pending tint covers a cell. */
const PENDING_MIX = 0.55;

export class CellPainter {
  readonly cells: Uint8Array;
  readonly rgba: Uint8Array;
  readonly px: Uint32Array;
  /** ms timestamp of each cell's last read flash (0 = none). */
  private readonly flashAt: Float64Array;
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
  ) {
    const texels = geometry.width * geometry.height;
    this.cells = new Uint8Array(geometry.cells);
    this.rgba = new Uint8Array(texels * 4);
    this.px = new Uint32Array(this.rgba.buffer);
    this.flashAt = new Float64Array(geometry.cells);
    this.palette = packPalette(palette);
    this.repaintAll();
  }

  setPalette(p: Palette): void {
    this.palette = packPalette(p);
    this.repaintAll();
  }

  private markRow(cell: number): void {
    const row = Math.floor(cell / this.geometry.width);
    if (this.dirtyLo < 0 || row < this.dirtyLo) this.dirtyLo = row;
    if (row > this.dirtyHi) this.dirtyHi = row;
  }

  private paintCell(cell: number, now: number): void {
    let c = cellRestColor(this.palette, this.cells[cell]);
    if (this.pendingNow.has(cell)) c = mixColor(c, this.palette.pending, PENDING_MIX);
    const at = this.flashAt[cell];
    if (at > 0) {
      const t = (now - at) / this.flashMs;
      if (t >= 1 || t < 0) {
        this.flashAt[cell] = 0;
        this.flashing.delete(cell);
      } else {
        c = mixColor(this.palette.read, c, t);
      }
    }
    if (this.px[cell] !== c) {
      this.px[cell] = c;
      this.markRow(cell);
    }
  }

  repaintAll(now = performance.now()): void {
    for (let i = 0; i < this.geometry.cells; i++) this.paintCell(i, now);
    this.dirtyLo = 0;
    this.dirtyHi = this.geometry.height - 1;
    this.version++;
  }

  /** Apply one frame; returns true when pixels changed. */
  apply(frame: DiskFrame, now = performance.now()): void {
    if (frame.full) {
      this.cells.set(frame.full.subarray(0, this.cells.length));
      for (let i = 0; i < this.cells.length; i++) this.paintCell(i, now);
    }
    for (let i = 0; i < frame.cellIdx.length; i++) {
      const c = frame.cellIdx[i];
      if (c < this.cells.length) {
        this.cells[c] = frame.cellVal[i];
        this.paintCell(c, now);
      }
    }
    for (let i = 0; i < frame.reads.length; i++) {
      const c = frame.reads[i];
      if (c < this.cells.length) {
        this.flashAt[c] = now;
        this.flashing.add(c);
        this.paintCell(c, now);
      }
    }
    const pending = new Set<number>();
    for (let i = 0; i + 1 < frame.pending.length; i += 2) {
      const end = Math.min(frame.pending[i] + frame.pending[i + 1], this.cells.length);
      for (let c = frame.pending[i]; c < end; c++) pending.add(c);
    }
    const before = this.pendingNow;
    this.pendingNow = pending;
    for (const c of before) if (!pending.has(c)) this.paintCell(c, now);
    for (const c of pending) if (!before.has(c)) this.paintCell(c, now);
    this.version++;
  }

  /** Advance read-flash fades to `now`. */
  tick(now = performance.now()): void {
    if (!this.flashing.size) return;
    for (const c of [...this.flashing]) this.paintCell(c, now);
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

  get isFlashing(): boolean {
    return this.flashing.size > 0;
  }
}
