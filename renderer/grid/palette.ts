// Colours of the grid. Two palettes: 'laptop' (dark UI) and 'projector' (high contrast: the
// original viewer's pale trim colour washed out on a conference projector).
// Colours are packed as little-endian RGBA in a Uint32 (0xAABBGGRR), what a Uint32Array view
// of an rgba8unorm texture buffer wants.

import { BlockState, CELL_ERROR } from '../../server/shared/types.ts';

export type PaletteName = 'laptop' | 'projector';

export interface Palette {
  name: PaletteName;
  label: string;
  /** Indexed by BlockState. */
  states: [untouched: string, trimmed: string, zeroed: string, written: string];
  error: string;
  read: string;
  pending: string;
  background: string;
}

export const PALETTES: Record<PaletteName, Palette> = {
  laptop: {
    name: 'laptop',
    label: 'Laptop',
    states: ['#3b4150', '#c9a7ff', '#f5f5f5', '#e5383b'],
    error: '#ffb000',
    read: '#000000',
    pending: '#33b5e5',
    background: '#16181d',
  },
  projector: {
    name: 'projector',
    label: 'Projector (high contrast)',
    states: ['#8c8c8c', '#4b2bff', '#ffffff', '#ff0000'],
    error: '#ffe000',
    read: '#000000',
    pending: '#00c8ff',
    background: '#000000',
  },
};

/** '#rrggbb' → 0xAABBGGRR with alpha 255. */
export function packColor(hex: string): number {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`bad colour '${hex}'`);
  const v = parseInt(m[1], 16);
  const r = (v >> 16) & 255;
  const g = (v >> 8) & 255;
  const b = v & 255;
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export function unpackColor(c: number): [number, number, number, number] {
  return [c & 255, (c >>> 8) & 255, (c >>> 16) & 255, c >>> 24];
}

/** Linear mix of two packed colours; t = 0 → a, 1 → b. */
export function mixColor(a: number, b: number, t: number): number {
  const [ar, ag, ab] = unpackColor(a);
  const [br, bg, bb] = unpackColor(b);
  const r = Math.round(ar + (br - ar) * t);
  const g = Math.round(ag + (bg - ag) * t);
  const bl = Math.round(ab + (bb - ab) * t);
  return ((255 << 24) | (bl << 16) | (g << 8) | r) >>> 0;
}

export interface PackedPalette {
  states: Uint32Array;
  error: number;
  read: number;
  pending: number;
}

export function packPalette(p: Palette): PackedPalette {
  return {
    states: Uint32Array.from(p.states.map(packColor)),
    error: packColor(p.error),
    read: packColor(p.read),
    pending: packColor(p.pending),
  };
}

/** The colour of a cell byte (BlockState | CELL_ERROR) at rest. */
export function cellRestColor(p: PackedPalette, cell: number): number {
  if (cell & CELL_ERROR) return p.error;
  return p.states[cell & 3] ?? p.states[BlockState.UNTOUCHED];
}
