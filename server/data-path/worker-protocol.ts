// The messages between a disk's worker (disk-worker.ts) and its owner (worker-data-path.ts).
// Everything here survives structured cloning (bigint included); event batches are transferred.

import { ParamError } from '../filters/params.ts';
import type { DataPathState, DiskSpec } from './data-path.ts';

export interface DiskWorkerData {
  spec: DiskSpec;
  /** The owner's performance.timeOrigin: event times are shifted onto the owner's clock. */
  ownerTimeOrigin: number;
  /** One Int32: events sent and not yet unpacked by the owner (backpressure, event-wire.ts). */
  unpacked: SharedArrayBuffer;
}

export const WORKER_METHODS = [
  'setErrors',
  'setHold',
  'configure',
  'describeBackend',
  'read',
  'barrier',
  'reset',
  'close',
] as const;
export type WorkerMethod = (typeof WORKER_METHODS)[number];

/** An error as it crosses: its class name (ParamError keeps its HTTP status) and message. */
export interface WireError {
  name: string;
  message: string;
}

export type ToWorker = { t: 'call'; id: number; method: WorkerMethod; args: unknown[] };

export type FromWorker =
  | {
      t: 'ready';
      size: bigint;
      uris: string[];
      port: number | null;
      backendName: string;
      state: DataPathState;
    }
  | { t: 'failed'; error: WireError }
  | { t: 'events'; buffer: ArrayBuffer; count: number }
  | { t: 'state'; state: DataPathState }
  /** An accepted Unix socket's descriptor, for the main thread to raise its send buffer. */
  | { t: 'send-buffer'; fd: number }
  | { t: 'reply'; id: number; value?: unknown; error?: WireError };

export function toWire(err: unknown): WireError {
  if (err instanceof ParamError) return { name: 'ParamError', message: err.message };
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}

export function fromWire(e: WireError): Error {
  return e.name === 'ParamError' ? new ParamError(e.message) : new Error(e.message);
}
