// Pictures of the grids for export: the current view as one image (disk names, the caption,
// the legend; each cell a square of whole pixels, so the image is exact) and one raw image
// per disk (one pixel per cell). Data states only: read flashes and the in-flight tint are
// moments, not states. Pure canvas 2D, no Pixi: the same code runs for PNG and WebM frames.

import type { GridGeometry } from '../../server/shared/types.ts';
import { cellRestColor, legendOf, packPalette, PALETTES, unpackColor } from '../grid/palette.ts';
import type { Caption } from '../store/store.ts';

export interface ExportDisk {
  number: number;
  name: string;
  sizeLabel: string;
  geometry: GridGeometry;
  /** Engine cell values (BlockState | CELL_ERROR), geometry.cells of them. */
  cells: Uint8Array;
}

export interface ExportScene {
  disks: ExportDisk[];
  palette: keyof typeof PALETTES;
  caption: Caption | null;
  title: string;
}

/** Where a disk's grid landed in the composed image (for tests and tools). */
export interface GridRect {
  disk: number;
  x: number;
  y: number;
  /** Pixels per cell side. */
  cellPx: number;
  gridWidth: number;
  gridHeight: number;
}

export interface Composition {
  width: number;
  height: number;
  grids: GridRect[];
}

const PAD = 16;
const LABEL = 22;
const LEGEND = 30;
/** A 1× grid is about this wide (a 128-wide grid: 2 px per cell). */
const BASE_GRID_PX = 256;

/** The pixels of a disk's grid, one per cell, in the palette's rest colours. */
export function gridImage(d: ExportDisk, palette: keyof typeof PALETTES): ImageData {
  const g = d.geometry;
  const img = new ImageData(g.width, g.height);
  const px = new Uint32Array(img.data.buffer);
  const p = packPalette(PALETTES[palette]);
  for (let c = 0; c < g.cells; c++) px[c] = cellRestColor(p, d.cells[c]);
  return img;
}

export function cellPxFor(g: GridGeometry, scale: number): number {
  return Math.max(1, Math.floor(BASE_GRID_PX / g.width)) * scale;
}

/** Lay out and draw the scene at `scale` (1, 2, 4) into `canvas` (resized to fit). */
export function composeScene(canvas: HTMLCanvasElement, scene: ExportScene, scale: number): Composition {
  const pal = PALETTES[scene.palette];
  const n = scene.disks.length;
  const columns = n <= 3 ? Math.max(1, n) : Math.ceil(n / 2);
  const s = scale;
  const sizes = scene.disks.map((d) => {
    const cellPx = cellPxFor(d.geometry, s);
    return { cellPx, w: d.geometry.width * cellPx, h: d.geometry.height * cellPx };
  });
  const colW = Math.max(...sizes.map((z) => z.w), 120 * s);
  const rowH = Math.max(...sizes.map((z) => z.h)) + LABEL * s;
  const rows = Math.ceil(n / columns);
  // Always room for a caption: a video keeps one size whether a caption shows or not.
  const captionH = 56 * s;
  const width = (PAD * 2 + columns * colW + (columns - 1) * PAD) * 1;
  const height = PAD + captionH + rows * rowH + (rows - 1) * PAD + LEGEND * s + PAD;
  // Resize only when needed: resizing (even to the same size) disturbs a canvas being captured.
  if (canvas.width !== width + (width % 2)) canvas.width = width + (width % 2);
  if (canvas.height !== height + (height % 2)) canvas.height = height + (height % 2);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = pal.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#ffffff';
  ctx.textBaseline = 'top';
  ctx.font = `bold ${16 * s}px sans-serif`;
  const head = scene.caption ? `${scene.caption.title}` : scene.title;
  ctx.fillText(head, PAD, PAD, width - 2 * PAD);
  if (scene.caption) {
    ctx.font = `${12 * s}px sans-serif`;
    ctx.fillText(scene.caption.text, PAD, PAD + 22 * s, width - 2 * PAD);
  }
  const grids: GridRect[] = [];
  const tmp = document.createElement('canvas');
  scene.disks.forEach((d, i) => {
    const col = i % columns;
    const row = Math.floor(i / columns);
    const x = PAD + col * (colW + PAD);
    const y = PAD + captionH + row * (rowH + PAD);
    ctx.fillStyle = '#ffffff';
    ctx.font = `bold ${13 * s}px sans-serif`;
    ctx.fillText(`${d.name} · ${d.sizeLabel}`, x, y, colW);
    const { cellPx } = sizes[i];
    tmp.width = d.geometry.width;
    tmp.height = d.geometry.height;
    tmp.getContext('2d')!.putImageData(gridImage(d, scene.palette), 0, 0);
    const gy = y + LABEL * s;
    // Whole pixels per cell, no smoothing: every cell is an exact square of its colour.
    ctx.drawImage(
      tmp,
      0,
      0,
      d.geometry.width,
      d.geometry.height,
      x,
      gy,
      d.geometry.width * cellPx,
      d.geometry.height * cellPx,
    );
    grids.push({ disk: d.number, x, y: gy, cellPx, gridWidth: d.geometry.width, gridHeight: d.geometry.height });
  });
  // Legend.
  let lx = PAD;
  const ly = height - PAD - LEGEND * s + 8 * s;
  ctx.font = `${12 * s}px sans-serif`;
  for (const item of legendOf(pal)) {
    ctx.fillStyle = item.color;
    ctx.fillRect(lx, ly, 12 * s, 12 * s);
    ctx.fillStyle = '#ffffff';
    ctx.fillText(item.label, lx + 16 * s, ly, 200 * s);
    lx += 16 * s + ctx.measureText(item.label).width + 18 * s;
  }
  return { width: canvas.width, height: canvas.height, grids };
}

/** Write `value` (16 bits) as black/white squares in the bottom-left corner (video frame numbers). */
export function stampFrame(canvas: HTMLCanvasElement, value: number, square = 8): void {
  const ctx = canvas.getContext('2d')!;
  const y = canvas.height - square - 2;
  for (let b = 0; b < 16; b++) {
    ctx.fillStyle = (value >> b) & 1 ? '#ffffff' : '#000000';
    ctx.fillRect(2 + b * square, y, square, square);
  }
}

export { unpackColor };
