// Zoom and pan of one disk's grid, as a pure transform: the grid's fitted rectangle (from the
// layout) times the user's zoom, moved by the user's pan. Zooming keeps the texel under the
// pointer where it is; panning never loses the grid out of its slot.

import type { Rect } from './layout.ts';

export interface View {
  zoom: number;
  panX: number;
  panY: number;
}

export const MAX_ZOOM = 64;
export const IDENTITY: View = { zoom: 1, panX: 0, panY: 0 };

/** Where the grid is drawn: its fitted rect `fit` (zoom 1) under the view. */
export function viewRect(fit: Rect, v: View): Rect {
  return { x: fit.x + v.panX, y: fit.y + v.panY, w: fit.w * v.zoom, h: fit.h * v.zoom };
}

/** Keep a zoomed grid covering its slot (no empty margin dragged in); zoom 1 has no pan. */
export function clampView(fit: Rect, slot: Rect, v: View): View {
  if (v.zoom <= 1) return { ...IDENTITY };
  const r = viewRect(fit, v);
  const clampAxis = (pos: number, size: number, lo: number, len: number) => {
    if (size <= len) return lo + (len - size) / 2; // smaller than the slot: centred
    return Math.min(lo, Math.max(lo + len - size, pos));
  };
  const x = clampAxis(r.x, r.w, slot.x, slot.w);
  const y = clampAxis(r.y, r.h, slot.y, slot.h);
  return { zoom: v.zoom, panX: x - fit.x, panY: y - fit.y };
}

/** Zoom by `factor` about the point (px, py) (stage coordinates). */
export function zoomAt(fit: Rect, slot: Rect, v: View, factor: number, px: number, py: number): View {
  const zoom = Math.min(MAX_ZOOM, Math.max(1, v.zoom * factor));
  if (zoom === v.zoom) return v;
  const r = viewRect(fit, v);
  // The texel-space point under the pointer stays under it.
  const u = (px - r.x) / v.zoom;
  const w = (py - r.y) / v.zoom;
  const x = px - u * zoom;
  const y = py - w * zoom;
  return clampView(fit, slot, { zoom, panX: x - fit.x, panY: y - fit.y });
}

export function panBy(fit: Rect, slot: Rect, v: View, dx: number, dy: number): View {
  if (v.zoom <= 1) return v;
  return clampView(fit, slot, { zoom: v.zoom, panX: v.panX + dx, panY: v.panY + dy });
}

/** Pan so that the point (px, py) of the zoomed grid is visible (keyboard cursor). */
export function revealPoint(fit: Rect, slot: Rect, v: View, px: number, py: number, margin: number): View {
  if (v.zoom <= 1) return v;
  let dx = 0;
  let dy = 0;
  if (px < slot.x + margin) dx = slot.x + margin - px;
  else if (px > slot.x + slot.w - margin) dx = slot.x + slot.w - margin - px;
  if (py < slot.y + margin) dy = slot.y + margin - py;
  else if (py > slot.y + slot.h - margin) dy = slot.y + slot.h - margin - py;
  return dx || dy ? panBy(fit, slot, v, dx, dy) : v;
}
