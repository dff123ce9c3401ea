// What the Structure overlay paints, texel for texel: a translucent tint per region kind
// (partition table, superblock, bitmaps, inode tables, journal, directories, file data, parity …)
// so the four I/O colours still show through; a picked object's blocks (and the parity covering
// them) nearly opaque, the rest dimmed. Pure (no Pixi, no DOM): unit-tested under Node.

import { NO_KIND, REGION_KINDS, type RegionKind } from '../../server/shared/structure.ts';
import type { DisplayGeometry } from './display-geometry.ts';

/** Tint per kind: [r, g, b, alpha 0–255]. Free space is not tinted; file data lightly. */
export const KIND_COLOURS: Record<RegionKind, [number, number, number, number]> = {
  container: [84, 110, 122, 90],
  free: [0, 0, 0, 0],
  reserved: [158, 158, 158, 110],
  file: [0, 200, 83, 90],
  directory: [29, 233, 182, 150],
  'file-map': [161, 136, 127, 170],
  journal: [255, 64, 129, 150],
  'inode-table': [41, 121, 255, 150],
  bitmap: [118, 255, 3, 170],
  fat: [255, 109, 0, 160],
  'group-descriptors': [255, 145, 0, 170],
  'volume-metadata': [101, 31, 255, 170],
  'md-superblock': [255, 215, 64, 180],
  superblock: [255, 234, 0, 190],
  parity: [213, 0, 249, 140],
  'partition-table': [0, 229, 255, 190],
};

/** A picked object's blocks: opaque gold (white would vanish on zeroed blocks), its parity magenta. */
export const HIGHLIGHT: [number, number, number, number] = [255, 196, 0, 255];
export const HIGHLIGHT_PARITY: [number, number, number, number] = [255, 0, 255, 255];

export const cssColour = (k: RegionKind) => {
  const [r, g, b] = KIND_COLOURS[k];
  return `rgb(${r}, ${g}, ${b})`;
};

export interface OverlayInput {
  display: DisplayGeometry;
  /** One kind index per engine cell. */
  cells: Uint8Array;
  blocksPerCell: number;
  /** Block runs [first, end) of the picked object on this disk, and of the parity covering it. */
  highlight?: { runs: Array<[number, number]>; parityRuns: Array<[number, number]> } | null;
  /** Something is picked (maybe on another disk): dim the tints here. */
  dim?: boolean;
}

/** Mark the texels a block run touches. */
function markRuns(mark: Uint8Array, runs: Array<[number, number]>, value: number, blocksPerTexel: number): void {
  for (const [a, b] of runs) {
    const first = Math.floor(a / blocksPerTexel);
    const last = Math.min(mark.length - 1, Math.floor((b - 1) / blocksPerTexel));
    for (let t = first; t <= last; t++) mark[t] = Math.max(mark[t], value);
  }
}

/** RGBA (display.width × display.height) for one disk's overlay. Pure: unit-tested. */
export function overlayRgba(o: OverlayInput): Uint8ClampedArray<ArrayBuffer> {
  const { display, cells } = o;
  const out = new Uint8ClampedArray(display.width * display.height * 4);
  const mark = new Uint8Array(display.texels);
  if (o.highlight) {
    const bpt = o.blocksPerCell * display.merge;
    markRuns(mark, o.highlight.parityRuns, 1, bpt);
    markRuns(mark, o.highlight.runs, 2, bpt);
  }
  const dim = o.dim ? 0.35 : 1;
  for (let t = 0; t < display.texels; t++) {
    let colour: readonly number[] | null = null;
    if (mark[t] === 2) colour = HIGHLIGHT;
    else if (mark[t] === 1) colour = HIGHLIGHT_PARITY;
    else {
      // The texel shows the highest-priority kind of the cells it merges.
      let k = NO_KIND;
      const first = t * display.merge;
      const end = Math.min(cells.length, first + display.merge);
      for (let c = first; c < end; c++) if (cells[c] !== NO_KIND && (k === NO_KIND || cells[c] > k)) k = cells[c];
      if (k !== NO_KIND && k < REGION_KINDS.length) {
        const [r, g, b, a] = KIND_COLOURS[REGION_KINDS[k]];
        colour = [r, g, b, a * dim];
      }
    }
    if (!colour) continue;
    out.set(colour, t * 4);
  }
  return out;
}
