// The UI's state (zustand). Only this folder imports zustand; components use the hooks below.
// Pixels do not live here: per-disk CellPainters hold them (grid/), the store only bumps versions.

import { createStore, useStore } from 'zustand';
import type {
  BlockStateName,
  CellInfo,
  DiskInfo,
  Op,
  OpCounter,
  ReplayStatus,
  TimelineStatus,
  ServerPush,
} from '../../server/shared/types.ts';
import { DEFAULT_UI_SETTINGS, type UiSettings } from '../../server/shared/ui-settings.ts';
import type { Layout } from '../grid/layout.ts';
import type { ConnectionStatus } from '../transport/transport.ts';
import type { Rates } from './rates.ts';

export { computeRates, RateWindow, RATE_WINDOW_MS, timelineJumped, type Rates } from './rates.ts';

/** What the counters of one disk show (frozen while the view is paused). */
export interface DiskStatsView extends Rates {
  /** Cumulative per operation since start (or Clear); bytes count successful requests only. */
  totals: Record<Op, OpCounter>;
  inFlight: number;
  errors: number;
  latencyUs: { p50: number; p99: number };
  /** Blocks in each data state, and blocks marked failed (from the engine, about once a second). */
  blocks: Record<BlockStateName, number>;
  errorBlocks: number;
}

export type Caption = Extract<ServerPush, { event: 'caption' }>;

export interface Hover {
  disk: number;
  texel: number;
  info: CellInfo;
  /** Anchor (client coordinates): the pointer, or the keyboard cursor's texel. */
  x: number;
  y: number;
  source: 'pointer' | 'keyboard';
}

export interface UiState {
  status: ConnectionStatus;
  /** Why the engine refused this page (status `refused`), else null. */
  refusal: string | null;
  /** While the engine is away: the try under way (1, 2…), or when the next starts (Date.now() ms) and the wait. */
  retry: { attempt: number | null; at: number | null; inMs: number } | null;
  disks: DiskInfo[];
  stats: Record<number, DiskStatsView>;
  settings: UiSettings;
  /** Pause of the view: the picture, counters and tooltip stop (the disks keep serving). */
  paused: boolean;
  /** The disk shown large (click its title or press its number), or null. */
  enlarged: number | null;
  stage: { width: number; height: number };
  layout: Layout;
  caption: Caption | null;
  hover: Hover | null;
  /** The keyboard cursor on a focused grid. */
  cursor: { disk: number; texel: number } | null;
  commands: string[] | null;
  /** An open popover: the shortcut help, or one disk's details (compact chrome). */
  popover: { kind: 'help' } | { kind: 'details'; disk: number } | null;
  /** The footer's message; `kind` names the action whose failure it reports (store/messages.ts). */
  message: { text: string; level: 'info' | 'warn' | 'error'; kind?: string } | null;
  /** Said to screen readers (copy feedback, mode changes); also shown briefly. */
  announce: { text: string; at: number } | null;
  /** Which copy button just copied (its key), for its "Copied" label. */
  copied: { key: string; ok: boolean; at: number } | null;
  /** Replay mode: playback status (null otherwise). */
  replay: ReplayStatus | null;
  /** The time machine (components/Timeline.tsx): where the grids are in the session; null when off. */
  timeline: TimelineStatus | null;
  /** The plots beside the grids are shown. */
  plots: boolean;
  /** The time machine strip's export row (PNG, WebM, Save recording) is open. */
  exportOpen: boolean;
  /** Bumped by the frame loop (for tests and the fps counter). */
  frames: number;
  /** The Structure overlay (key S): tints per kind, its panel and activity line (store/structure.ts). */
  structureOn: boolean;
}

export const store = createStore<UiState>(() => ({
  status: 'connecting',
  refusal: null,
  retry: null,
  disks: [],
  stats: {},
  settings: { ...DEFAULT_UI_SETTINGS },
  paused: false,
  enlarged: null,
  stage: { width: 0, height: 0 },
  layout: { columns: 0, placements: [] },
  caption: null,
  hover: null,
  cursor: null,
  commands: null,
  popover: null,
  message: null,
  announce: null,
  copied: null,
  replay: null,
  timeline: null,
  plots: false,
  exportOpen: false,
  frames: 0,
  structureOn: false,
}));

export function useUi<T>(selector: (s: UiState) => T): T {
  return useStore(store, selector);
}

export const setUi = (patch: Partial<UiState>) => store.setState(patch);
export const getUi = () => store.getState();
export const subscribeUi = store.subscribe;

/**
 * Why a control that calls the engine cannot work now ('' when it can): the page is not
 * connected. Such controls are disabled and say this as their tooltip, instead of failing with
 * "nothing was changed" when used; purely local ones (zoom, palette, help) stay usable.
 */
export function engineOffline(s: Pick<UiState, 'status' | 'retry'>): string {
  if (s.status === 'open') return '';
  if (s.status === 'refused') return 'Blockscope refused this page (see the banner): this needs the engine';
  if (s.status === 'connecting' && !s.retry) return 'Not connected to Blockscope yet: this needs the engine';
  return 'Disconnected from Blockscope (reconnecting): this needs the engine';
}

/** The mode the disks are in: what they follow decides which actions apply. */
export function sourceMode(s: Pick<UiState, 'disks'>): 'server' | 'attach' | 'replay' | 'none' {
  return s.disks[0]?.mode ?? 'none';
}

/**
 * Whether a disk has an Error toggle: every served disk (with or without --filter=error: the
 * engine adds an inert error filter, data-path/inline.ts), an attached one only when attach was
 * given the external nbdkit's --error-file (it has nothing else to switch), a replay never.
 */
export function hasErrorToggle(d: Pick<DiskInfo, 'mode' | 'errorFile'>): boolean {
  return d.mode === 'server' || (d.mode === 'attach' && !!d.errorFile);
}
