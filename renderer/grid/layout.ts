// Where each disk goes on the stage: how many columns, how much chrome (title, controls,
// counters) around each grid, and how big the grid itself is drawn. The goal is the largest
// grids that fit, re-computed on every resize; chrome heights are fixed per density so the
// panels never overflow. Pure: the React panels and the Pixi sprites both follow its answer.

import { fitDisplay, type DisplayFit } from './display-geometry.ts';

/**
 * How much of each disk panel is chrome:
 *   full     — title + URI, then scale, block totals, per-op counters, delays, footer
 *   compact  — one title row with the Error toggle and a Details button, one counters line
 *   present  — presentation mode: a large title row only
 */
export type Density = 'full' | 'compact' | 'present';

export interface ChromeSpec {
  /** Pixels above the grid slot (inside the panel padding). */
  top: number;
  /** Pixels below the grid slot. */
  bottom: number;
  /** Narrowest panel whose chrome still fits without clipping. */
  minWidth: number;
  /** Panel padding on every side. */
  pad: number;
}

export const CHROME: Record<Density, ChromeSpec> = {
  full: { top: 50, bottom: 232, minWidth: 236, pad: 8 },
  compact: { top: 30, bottom: 36, minWidth: 116, pad: 6 },
  // 112: five disks in one row at 640 px (browser zoom 200 %), where the title row sets the
  // name smaller (styles.css) and the grids get a third more than in two rows of three.
  present: { top: 40, bottom: 0, minWidth: 112, pad: 6 },
};

/**
 * Compact panels narrower than this (five disks at 640 px: browser zoom 200 %) have no room for
 * the counters on one line ("0 fai…"): they get a taller bottom and put them on two.
 */
export const COMPACT_NARROW = 200;

/** The chrome of a panel `width` pixels wide. */
export function chromeFor(density: Density, width: number): ChromeSpec {
  const c = CHROME[density];
  return density === 'compact' && width < COMPACT_NARROW ? { ...c, bottom: 52 } : c;
}

/** Space between panels. */
export const GAP = 8;

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DiskPlacement {
  number: number;
  density: Density;
  /** The panel (chrome + slot), in stage coordinates. */
  panel: Rect;
  /** Where the grid may draw. */
  slot: Rect;
  fit: DisplayFit;
}

export interface LayoutInput {
  /** Stage size in CSS pixels. */
  width: number;
  height: number;
  disks: Array<{ number: number; cells: number }>;
  mode: 'normal' | 'present';
  /** A disk shown large, the others in a column beside it. */
  enlarged: number | null;
}

export interface Layout {
  columns: number;
  placements: DiskPlacement[];
}

interface Arranged {
  columns: number;
  placements: DiskPlacement[];
  /** Screen area covered by grid texels. */
  area: number;
  /** Every panel is at least its chrome's minimum width. */
  fits: boolean;
}

function arrangeWith(rect: Rect, disks: LayoutInput['disks'], density: Density, columns: number): Arranged {
  const n = disks.length;
  const rows = Math.ceil(n / columns);
  const cw = Math.floor((rect.w - (columns - 1) * GAP) / columns);
  const c = chromeFor(density, cw);
  const ch = Math.floor((rect.h - (rows - 1) * GAP) / rows);
  const slotW = Math.max(0, cw - 2 * c.pad);
  const slotH = Math.max(0, ch - 2 * c.pad - c.top - c.bottom);
  let area = 0;
  const placements = disks.map((d, i): DiskPlacement => {
    const col = i % columns;
    const row = Math.floor(i / columns);
    const panel = { x: rect.x + col * (cw + GAP), y: rect.y + row * (ch + GAP), w: cw, h: ch };
    const slot = { x: panel.x + c.pad, y: panel.y + c.pad + c.top, w: slotW, h: slotH };
    const fit = fitDisplay(d.cells, slotW, slotH);
    if (slotW >= 8 && slotH >= 8) area += fit.display.texels * fit.scale * fit.scale;
    return { number: d.number, density, panel, slot, fit };
  });
  return { columns, placements, area, fits: cw >= c.minWidth && slotH >= 8 };
}

/** The column count that gives the grids the most area (panels that fit their chrome first). */
function arrange(rect: Rect, disks: LayoutInput['disks'], density: Density): Arranged {
  let best: Arranged | null = null;
  for (let columns = 1; columns <= Math.max(1, disks.length); columns++) {
    const a = arrangeWith(rect, disks, density, columns);
    if (!best || (a.fits && !best.fits) || (a.fits === best.fits && a.area > best.area)) best = a;
  }
  return best!;
}

/** Full chrome unless compact chrome gives the grids much more room (or full does not fit). */
function arrangeAuto(rect: Rect, disks: LayoutInput['disks']): Arranged {
  const full = arrange(rect, disks, 'full');
  const compact = arrange(rect, disks, 'compact');
  if (full.fits && full.area >= 0.5 * compact.area) return full;
  return compact;
}

export function computeLayout(input: LayoutInput): Layout {
  const stage: Rect = { x: 0, y: 0, w: Math.max(0, input.width), h: Math.max(0, input.height) };
  if (!input.disks.length) return { columns: 0, placements: [] };
  const main = input.mode === 'present' ? 'present' : null;
  const big = input.enlarged !== null ? input.disks.find((d) => d.number === input.enlarged) : undefined;
  if (big && input.disks.length > 1) {
    const sideW = Math.round(Math.min(360, Math.max(160, stage.w * 0.2)));
    const mainRect = { ...stage, w: stage.w - sideW - GAP };
    const sideRect = { x: stage.x + mainRect.w + GAP, y: stage.y, w: sideW, h: stage.h };
    const a = main ? arrange(mainRect, [big], main) : arrangeAuto(mainRect, [big]);
    const others = input.disks.filter((d) => d !== big);
    const b = arrange(sideRect, others, main ?? 'compact');
    const placements = [...a.placements, ...b.placements].sort((x, y) => x.number - y.number);
    return { columns: 1, placements };
  }
  const a = main ? arrange(stage, input.disks, main) : arrangeAuto(stage, input.disks);
  return { columns: a.columns, placements: a.placements };
}

/** Where the texels of a placement are drawn: centred in its slot. */
export function gridRect(p: DiskPlacement): Rect {
  const w = p.fit.display.width * p.fit.scale;
  const h = p.fit.display.height * p.fit.scale;
  return { x: p.slot.x + (p.slot.w - w) / 2, y: p.slot.y + (p.slot.h - h) / 2, w, h };
}
