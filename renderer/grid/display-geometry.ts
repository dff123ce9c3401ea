// How a disk's cells become texels on screen. The engine numbers cells (one per 4 KiB block,
// or 2^k blocks on very big disks); how they are arranged on screen is the renderer's choice:
// the row width is picked to fill the space the layout gives the disk, and when there are more
// cells than screen pixels, `merge` consecutive cells share one texel (it shows the highest
// state among them, so a single written block never disappears) and the UI says so.
// Pure: no Pixi, no DOM.

export interface DisplayGeometry {
  /** Engine cells per texel (a power of two; 1 = one texel per cell). */
  merge: number;
  /** Texels in use: ceil(cells / merge). */
  texels: number;
  /** Texels per row and rows. */
  width: number;
  height: number;
}

export interface DisplayFit {
  display: DisplayGeometry;
  /** CSS pixels per texel (fractional: nearest-neighbour keeps them crisp). */
  scale: number;
}

export function displayGeometry(cells: number, merge: number, width: number): DisplayGeometry {
  const texels = Math.max(1, Math.ceil(cells / merge));
  const w = Math.max(1, Math.min(width, texels));
  return { merge, texels, width: w, height: Math.ceil(texels / w) };
}

/** The largest scale at which `texels` fit a w × h box with rows of `width` texels. */
function scaleFor(texels: number, width: number, w: number, h: number): number {
  return Math.min(w / width, h / Math.ceil(texels / width));
}

const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

/**
 * The row width (texels) that lets `texels` fill a w × h box best. Widths are multiples of 8
 * (32 KiB at one block per texel) so aligned structures keep lining up in columns; a power of
 * two is preferred when it is within 3 % of the best scale.
 */
export function bestWidth(texels: number, w: number, h: number): { width: number; scale: number } {
  if (texels <= 8 || w <= 0 || h <= 0) return { width: texels, scale: Math.max(0, scaleFor(texels, texels, w, h)) };
  const ideal = Math.sqrt((texels * w) / h);
  const candidates = new Set<number>();
  const step = 8;
  for (let k = -4; k <= 4; k++) {
    const c = Math.round(ideal / step + k) * step;
    if (c >= step) candidates.add(Math.min(c, Math.ceil(texels / step) * step));
  }
  // The row count decides the scale as much as the width: try the widths that make rows fit exactly.
  const idealRows = Math.max(1, Math.round(texels / ideal));
  for (let r = Math.max(1, idealRows - 3); r <= idealRows + 3; r++) {
    candidates.add(Math.max(step, Math.ceil(texels / r / step) * step));
  }
  for (let p = 1; p <= texels * 2; p *= 2) if (p >= ideal / 4 && p <= ideal * 4) candidates.add(p);
  let best = { width: texels, scale: scaleFor(texels, texels, w, h) };
  let bestPow2 = { width: 0, scale: 0 };
  for (const c of candidates) {
    const width = Math.min(c, texels);
    const scale = scaleFor(texels, width, w, h);
    if (scale > best.scale) best = { width, scale };
    if (isPowerOfTwo(width) && scale > bestPow2.scale) bestPow2 = { width, scale };
  }
  return bestPow2.scale >= best.scale * 0.97 ? bestPow2 : best;
}

/**
 * Fit `cells` into a w × h box: the smallest merge factor at which every texel gets at least
 * `minPx` CSS pixels, with the row width that fills the box best.
 */
export function fitDisplay(cells: number, w: number, h: number, minPx = 1): DisplayFit {
  for (let merge = 1; ; merge *= 2) {
    const texels = Math.max(1, Math.ceil(cells / merge));
    const { width, scale } = bestWidth(texels, w, h);
    if (scale >= minPx || texels === 1) return { display: displayGeometry(cells, merge, width), scale };
  }
}

/** The engine cells [first, end) one texel shows. */
export function cellsOfTexel(d: DisplayGeometry, cells: number, texel: number): [number, number] {
  const first = texel * d.merge;
  return [first, Math.min(cells, first + d.merge)];
}
