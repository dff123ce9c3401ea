// A served disk's data path: backend, filter stack and NBD listener, and the few things the rest
// of the engine asks of it (toggles, live settings, reads for the structure decoders, reset).
// Two implementations: InlineDataPath runs it on the calling thread; WorkerDataPath runs the
// same InlineDataPath in a worker thread, so that the thread serving the UI never serves NBD
// requests and several disks use several cores (issue 13).

import { availableParallelism } from 'node:os';
import type { BackendName } from '../backends/index.ts';
import type { TlsSettings } from '../connection/tls.ts';
import type { FilterInfo, UpstreamInfo } from '../shared/types.ts';

export interface FilterSpec {
  name: string;
  params: Record<string, string>;
}

export interface DiskSpec {
  /** Disk number, from 1 (what `%d` expands to). */
  number: number;
  /** Bytes; 0n lets the file backend use an existing image's size. */
  size: bigint;
  backend: BackendName;
  /** Backend parameters (file=PATH, uri=NBD_URI …), `%d` already expanded. */
  backendParams: Record<string, string>;
  readonly: boolean;
  exportName: string;
  /** Outermost (nearest the client) first; `%d` already expanded in values. */
  filters: FilterSpec[];
  /** TCP listen address; port 0 picks a free port. Omit for Unix-socket only. */
  tcp?: { host: string; port: number };
  /** Unix socket path (created mode 0600). */
  unixSocket?: string;
  /** --tls, --tls-psk, --tls-certificates, --tls-verify-peer; absent = off. */
  tls?: TlsSettings;
  /** Drop clients still negotiating after this long (ms); absent = the server's default, 0 = never. */
  handshakeTimeoutMs?: number;
  /** nbdkit's --no-sr (a testing switch): refuse NBD_OPT_STRUCTURED_REPLY. */
  noStructuredReplies?: boolean;
  /** Which thread serves the disk (default: defaultDataPathThread()). */
  thread?: DataPathThread;
}

/** What DiskInfo shows of the data path; the worker path keeps a copy current on the UI side. */
export interface DataPathState {
  filters: FilterInfo[];
  errorsOn: boolean;
  held: boolean;
  /** Clients connected now. */
  connections: number;
  upstream?: UpstreamInfo;
}

export interface DataPath {
  /** Bytes (the file, nbd and image backends learn it from what they open). */
  readonly size: bigint;
  /** One NBD URI per listening endpoint. */
  readonly uris: readonly string[];
  /** The TCP port actually bound, or null. */
  readonly port: number | null;
  readonly backendName: string;
  /** The disk's listeners are subscribed: deliver events from now on (and any that came earlier). */
  beginEvents(): void;
  state(): DataPathState;
  setErrors(on: boolean): Promise<void>;
  setHold(on: boolean): Promise<void>;
  /** Live filter settings; paths and other start-only parameters are refused. */
  configure(filter: string, params: Record<string, string>): Promise<void>;
  /** The backend's own description (e.g. allocated bytes). */
  describeBackend(): Promise<Record<string, string | number | boolean | null>>;
  /** Read below the filters: no events, log lines, injected errors or delays (structure decoders). */
  read(offset: bigint, length: number): Promise<Buffer>;
  /**
   * Call `at` with an instant (engine-thread clock, µs) such that every event of this disk up to
   * it has reached the bus and none after it has: the live state at that instant, exactly
   * (the demos' probes compare it with a recording's replay).
   */
  barrier(at: (nowUs: number) => void): Promise<void>;
  /** Discard every byte (the UI's "reset disk"). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Proxy disks: the upstream went away or came back. */
  onUpstreamChange(listener: (u: UpstreamInfo) => void): () => void;
}

/** Which thread serves a disk's NBD requests: a worker of its own or the engine's. */
export type DataPathThread = 'worker' | 'inline';
export const DATA_PATH_THREADS: readonly DataPathThread[] = ['worker', 'inline'];

/** Cores from which disks get worker threads by default. */
export const WORKER_MIN_CORES = 4;

/**
 * The default: BLOCKSCOPE_DATA_PATH when set, else a worker per disk where there are cores for
 * them. On two cores, measured (docs/performance.md), the workers' extra threads and wake-ups
 * cost more than they gave: five disks flooded with 4 KiB writes made ~40 % fewer requests and
 * the engine thread answered later than on one thread.
 */
export function defaultDataPathThread(): DataPathThread {
  const env = process.env.BLOCKSCOPE_DATA_PATH;
  if (env === 'worker' || env === 'inline') return env;
  return availableParallelism() >= WORKER_MIN_CORES ? 'worker' : 'inline';
}
