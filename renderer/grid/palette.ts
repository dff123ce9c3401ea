// Colours of the grid. Three palettes (names in server/shared/ui-settings.ts):
//   laptop     — the dark UI's colours, the original viewer's meanings
//   projector  — high contrast for a projector (the original pale trim colour washes out)
//   cvd        — colour-blind safe: stays distinguishable under protanopia, deuteranopia and
//                tritanopia (checked with a simulator in palette.test.ts)
// Every palette is checked for: a read flash that contrasts with every state, and states (and
// the failed colour) that stay apart on a washed-out projector.
// Colours are packed as little-endian RGBA in a Uint32 (0xAABBGGRR), what a Uint32Array view
// of an rgba8unorm texture buffer wants.

import { BlockState, CELL_ERROR } from '../../server/shared/types.ts';
import type { PaletteName } from '../../server/shared/ui-settings.ts';

export type { PaletteName };

export interface Palette {
  name: PaletteName;
  label: string;
  /** Indexed by BlockState. */
  states: [untouched: string, trimmed: string, zeroed: string, written: string];
  error: string;
  read: string;
  /** The blink of a write that changes nothing visible (a rewrite of written blocks). */
  rewrite: string;
  pending: string;
  /** Behind and around the grids (CSS). */
  background: string;
}

export const PALETTES: Record<PaletteName, Palette> = {
  laptop: {
    name: 'laptop',
    label: 'Laptop',
    states: ['#5c6474', '#c9a7ff', '#f5f5f5', '#e5383b'],
    error: '#ffb000',
    read: '#000000',
    rewrite: '#fff3b8',
    pending: '#33b5e5',
    background: '#16181d',
  },
  projector: {
    name: 'projector',
    label: 'Projector',
    states: ['#8c8c8c', '#4b2bff', '#ffffff', '#ff0000'],
    error: '#ffe000',
    read: '#000000',
    rewrite: '#ffd0ff',
    pending: '#00c8ff',
    background: '#000000',
  },
  cvd: {
    name: 'cvd',
    label: 'Colour-blind safe',
    states: ['#5c6068', '#9b8cff', '#ffffff', '#d55e00'],
    error: '#ffd700',
    read: '#000000',
    rewrite: '#ffe9d6',
    pending: '#3fa9f5',
    background: '#14161a',
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
  rewrite: number;
  pending: number;
}

export function packPalette(p: Palette): PackedPalette {
  return {
    states: Uint32Array.from(p.states.map(packColor)),
    error: packColor(p.error),
    read: packColor(p.read),
    rewrite: packColor(p.rewrite),
    pending: packColor(p.pending),
  };
}

/** The colour of a cell byte (BlockState | CELL_ERROR) at rest. */
export function cellRestColor(p: PackedPalette, cell: number): number {
  if (cell & CELL_ERROR) return p.error;
  return p.states[cell & 3] ?? p.states[BlockState.UNTOUCHED];
}

/** The legend, in one place for the footer and presentation mode. */
export function legendOf(p: Palette): Array<{ label: string; color: string; flash?: boolean }> {
  return [
    { label: 'untouched', color: p.states[BlockState.UNTOUCHED] },
    { label: 'written', color: p.states[BlockState.WRITTEN] },
    { label: 'read (flash)', color: p.read, flash: true },
    { label: 'trimmed', color: p.states[BlockState.TRIMMED] },
    { label: 'zeroed', color: p.states[BlockState.ZEROED] },
    { label: 'failed', color: p.error },
    { label: 'in flight', color: p.pending },
  ];
}
