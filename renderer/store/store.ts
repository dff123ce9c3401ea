// The UI's state (zustand). Only this folder imports zustand; components use the hooks below.
// Pixels do not live here: per-disk CellPainters hold them (grid/), the store only bumps versions.

import { createStore, useStore } from 'zustand';
import type { CellInfo, DiskInfo, Op, OpCounter, ReplayStatus } from '../../server/shared/types.ts';
import type { PaletteName } from '../grid/palette.ts';
import type { ConnectionStatus } from '../transport/transport.ts';

export interface DiskRates {
  ops: Record<Op, number>;
  bytesPerSec: Record<Op, number>;
  inFlight: number;
  errors: number;
  /** Requests ended by their client going away (not errors any client saw). */
  cancelled: number;
  latencyUs: { p50: number; p99: number };
}

export interface Caption {
  step: number;
  total: number;
  title: string;
  text: string;
}

export interface UiState {
  status: ConnectionStatus;
  disks: DiskInfo[];
  rates: Record<number, DiskRates>;
  palette: PaletteName;
  flashMs: number;
  paused: boolean;
  caption: Caption | null;
  hover: { info: CellInfo; x: number; y: number } | null;
  commands: string[] | null;
  message: { text: string; level: 'info' | 'warn' | 'error' } | null;
  /** Replay mode: playback status (null otherwise). */
  replay: ReplayStatus | null;
  /** Bumped by the frame loop when any painter changed (for tests and the fps counter). */
  frames: number;
}

export const store = createStore<UiState>(() => ({
  status: 'connecting',
  disks: [],
  rates: {},
  palette: 'laptop',
  flashMs: 300,
  paused: false,
  caption: null,
  hover: null,
  commands: null,
  message: null,
  replay: null,
  frames: 0,
}));

export function useUi<T>(selector: (s: UiState) => T): T {
  return useStore(store, selector);
}

export const setUi = (patch: Partial<UiState>) => store.setState(patch);

/** Rates from two cumulative counter snapshots `dtMs` apart. */
export function computeRates(
  prev: Record<Op, OpCounter>,
  next: Record<Op, OpCounter>,
  dtMs: number,
): Pick<DiskRates, 'ops' | 'bytesPerSec'> {
  const ops = {} as Record<Op, number>;
  const bytesPerSec = {} as Record<Op, number>;
  const dt = Math.max(dtMs, 1) / 1000;
  for (const op of Object.keys(next) as Op[]) {
    ops[op] = Math.max(0, (next[op].count - (prev[op]?.count ?? 0)) / dt);
    bytesPerSec[op] = Math.max(0, (next[op].bytes - (prev[op]?.bytes ?? 0)) / dt);
  }
  return { ops, bytesPerSec };
}
