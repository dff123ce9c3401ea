// The one list of IPC channels between the Electron main process and the renderer, and the
// validation every message gets. Anything else is refused.

import { CONTROL_METHODS } from '../server/control/api.ts';

export const CHANNELS = {
  /** renderer → main (invoke): one control API call. */
  control: 'control',
  /** main → renderer: one binary frame batch. */
  batch: 'batch',
  /** main → renderer: a ServerPush (disks, captions, status). */
  push: 'push',
} as const;

/** The same names as a list: every channel the app uses, and no other. */
export const CHANNEL_LIST = Object.values(CHANNELS) as readonly Channel[];

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

export interface ControlPayload {
  method: string;
  params: Record<string, unknown>;
}

/** Validate a control payload from the renderer; throws with a clear message. */
export function validateControlPayload(v: unknown): ControlPayload {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('control payload must be an object');
  const p = v as Record<string, unknown>;
  if (typeof p.method !== 'string' || !(CONTROL_METHODS as readonly string[]).includes(p.method)) {
    throw new Error(`unknown control method '${String(p.method)}'`);
  }
  const params = p.params === undefined ? {} : p.params;
  if (!params || typeof params !== 'object' || Array.isArray(params))
    throw new Error('control params must be an object');
  return { method: p.method, params: params as Record<string, unknown> };
}
