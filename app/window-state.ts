// Window position and size, remembered between runs (JSON in the user data folder).
import { readFileSync, writeFileSync } from 'node:fs';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW: WindowState = { width: 1400, height: 900, maximized: false };

const int = (v: unknown, min: number, max: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Parse saved state; anything odd falls back to the defaults (never a crash at start-up). */
export function parseWindowState(text: string | null): WindowState {
  if (!text) return { ...DEFAULT_WINDOW };
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return { ...DEFAULT_WINDOW };
  }
  if (!v || typeof v !== 'object') return { ...DEFAULT_WINDOW };
  const s: WindowState = {
    width: int(v.width, 400, 10000) ? (v.width as number) : DEFAULT_WINDOW.width,
    height: int(v.height, 300, 10000) ? (v.height as number) : DEFAULT_WINDOW.height,
    maximized: v.maximized === true,
  };
  if (int(v.x, -10000, 10000) && int(v.y, -10000, 10000)) {
    s.x = v.x as number;
    s.y = v.y as number;
  }
  return s;
}

export function loadWindowState(path: string): WindowState {
  try {
    return parseWindowState(readFileSync(path, 'utf8'));
  } catch {
    return { ...DEFAULT_WINDOW };
  }
}

export function saveWindowState(path: string, s: WindowState): void {
  try {
    writeFileSync(path, JSON.stringify(s));
  } catch {
    // Not worth failing over.
  }
}
