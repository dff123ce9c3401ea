// One small interface between the UI and the engine, with two implementations: Electron IPC
// (window.blockscope from the preload) and WebSocket (headless `serve --ui`).

import type { ControlMethod, ControlMethods, ServerPush } from '../../server/shared/types.ts';

/**
 * `closed`: the engine went away and the transport is trying again; `refused`: the engine will
 * not take this page (a restarted server, a missing token) and trying again cannot help.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'closed' | 'refused';

export interface Connection {
  status: ConnectionStatus;
  /** When refused: why, and what the user can do. */
  why?: string;
  /** Connecting again after the engine went away: the how-manyth try since it was last reached (1, 2…). */
  attempt?: number;
  /** When closed and a try is scheduled: when it starts (Date.now() milliseconds), and the wait. */
  retryAt?: number;
  retryInMs?: number;
}

/**
 * Electron IPC is always `open` (the engine is in-process). The WebSocket can lose the engine:
 * then `call` fails at once instead of queueing, and a call whose promise was rejected is never
 * sent later, so what the UI rolled back stays rolled back.
 */
export interface Transport {
  readonly kind: 'ipc' | 'websocket';
  call<M extends ControlMethod>(method: M, params: ControlMethods[M]['params']): Promise<ControlMethods[M]['result']>;
  onBatch(cb: (buf: ArrayBuffer) => void): () => void;
  onPush(cb: (msg: ServerPush) => void): () => void;
  /** The connection now (told at once to a new listener), then every change. */
  onStatus(cb: (c: Connection) => void): () => void;
}

/** What the Electron preload exposes (validated on both sides). */
export interface PreloadApi {
  call(method: string, params: unknown): Promise<unknown>;
  onBatch(cb: (buf: ArrayBuffer) => void): () => void;
  onPush(cb: (msg: unknown) => void): () => void;
}

/** Type guard for pushes arriving from outside (never trust the wire). */
export function isServerPush(v: unknown): v is ServerPush {
  if (!v || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  if (m.event === 'disks') return Array.isArray(m.disks);
  if (m.event === 'status') return typeof m.message === 'string';
  if (m.event === 'caption')
    return (
      typeof m.text === 'string' &&
      typeof m.step === 'number' &&
      typeof m.title === 'string' &&
      (m.evidence === undefined || typeof m.evidence === 'string') &&
      (m.phase === undefined || m.phase === 'running' || m.phase === 'waiting' || m.phase === 'done')
    );
  if (m.event === 'timeline') return !!m.status && typeof m.status === 'object';
  if (m.event === 'action') return typeof m.action === 'string' && /^[a-zA-Z]{1,40}$/.test(m.action);
  if (m.event === 'structure') return typeof m.version === 'number';
  return false;
}

/** A tiny listener list; with `replay`, a new listener first gets the last value. */
export class Listeners<T> {
  private list: Array<(v: T) => void> = [];
  private last: { v: T } | null = null;
  constructor(private readonly replay = false) {}
  add(cb: (v: T) => void): () => void {
    this.list.push(cb);
    if (this.replay && this.last) cb(this.last.v);
    return () => {
      this.list = this.list.filter((x) => x !== cb);
    };
  }
  emit(v: T): void {
    if (this.replay) this.last = { v };
    for (const cb of this.list) cb(v);
  }
}
