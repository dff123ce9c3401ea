// Types shared by the engine (server/), the Electron shell (app/) and the UI (renderer/).
// This folder must stay free of Node-only imports: the renderer bundles it for the browser.
// Long on purpose: one file is the whole engine↔UI contract (disk info, events, every control
// method's params and result, every push), so both sides read it in one place.

import type {
  ArrayStatus,
  BlockChain,
  DiskMap,
  ObjectBlocks,
  StructureActivity,
  StructureObject,
  StructureOverlay,
  StructureStatus,
} from './structure.ts';

/** The data operations a request can carry, in the names the UI and the event stream use. */
export const OPS = ['read', 'write', 'trim', 'zero', 'flush', 'extents', 'cache'] as const;
export type Op = (typeof OPS)[number];

/**
 * OPS.indexOf(op), written as a switch. A lookup by name (`table[op]`) in code that V8 optimized
 * while only writes came throws that code away at the first read ("wrong name"); the first read
 * after a write paid for it in deoptimizations and recompiles (docs/performance.md).
 */
export function opIndex(op: Op): number {
  switch (op) {
    case 'read':
      return 0;
    case 'write':
      return 1;
    case 'trim':
      return 2;
    case 'zero':
      return 3;
    case 'flush':
      return 4;
    case 'extents':
      return 5;
    case 'cache':
      return 6;
  }
}

/** The error names NBD can carry on the wire (NBD spec §Error values). */
export const ERRNOS = ['EPERM', 'EIO', 'ENOMEM', 'EINVAL', 'ENOSPC', 'EOVERFLOW', 'ENOTSUP', 'ESHUTDOWN'] as const;
export type Errno = (typeof ERRNOS)[number];

/** NBD command flags (NBD spec §Command flags). */
export const CMD_FLAG = {
  FUA: 1 << 0,
  NO_HOLE: 1 << 1,
  DF: 1 << 2,
  REQ_ONE: 1 << 3,
  FAST_ZERO: 1 << 4,
} as const;

/** Block size on the grid and in every block count the engine reports. */
export const BLOCK_SIZE = 4096;

/**
 * Data state of a block, in merge priority order (a merged pixel shows the highest).
 * Failed requests are not a data state: they set the ERROR flag on the cell.
 */
export const BlockState = {
  UNTOUCHED: 0,
  TRIMMED: 1,
  ZEROED: 2,
  WRITTEN: 3,
} as const;
export type BlockState = (typeof BlockState)[keyof typeof BlockState];
export const BLOCK_STATE_NAMES = ['untouched', 'trimmed', 'zeroed', 'written'] as const;
export type BlockStateName = (typeof BLOCK_STATE_NAMES)[number];
/** Flag bit on a cell byte: a request touching this cell failed (cleared by a later success). */
export const CELL_ERROR = 0x80;

/**
 * One request as seen by the engine (embedded server) or reconstructed from an nbdkit log (attach mode).
 * The same object is passed to listeners twice: at start (endUs === 0) and at completion.
 * Listeners must not keep it past the call.
 */
export interface RequestEvent {
  /** Disk number, from 1. */
  disk: number;
  /** Connection number on that disk's server, from 1 (nbdkit's `connection=N`). */
  connection: number;
  /** Per-connection request number, from 1. */
  id: number;
  op: Op;
  /** Byte offset, 64-bit. */
  offset: bigint;
  /** Byte count (NBD lengths are 32-bit). */
  length: number;
  /** NBD command flags (CMD_FLAG bits). */
  flags: number;
  /** Monotonic start time in microseconds. */
  startUs: number;
  /** Monotonic completion time in microseconds, 0 while in flight. */
  endUs: number;
  /** null when the request succeeded. */
  error: Errno | null;
  /**
   * True when the request ended because its client went away (or the server stopped) before
   * it could be answered: no error reached any client. Counted as `cancelled`, not `errors`,
   * and it marks no cell. `error` still says how it ended (ESHUTDOWN).
   */
  cancelled?: boolean;
  /**
   * The recorder's index of this request's START record on its disk, -1 before it has one (one
   * recorder per disk at a time). Kept on the request rather than in a map: a map lookup was half
   * of what recording cost per request. Producers create events with -1 so that setting it never
   * changes the object's shape on the hot path.
   */
  recordStart?: number;
}

export type RequestPhase = 'start' | 'end';
export type RequestListener = (phase: RequestPhase, ev: RequestEvent) => void;

/**
 * Per-operation counters, cumulative since the disk started (or was reset). `count` and `bytes`
 * cover every request that ended; `errors` (answered with an error) and `cancelled` (ended by a
 * disconnect, never answered) are disjoint parts of it.
 */
export interface OpCounter {
  count: number;
  bytes: number;
  errors: number;
  cancelled: number;
}

export interface FilterInfo {
  name: string;
  /** Live settings, in nbdkit parameter names where one exists (e.g. rdelay, error-rate). */
  settings: Record<string, string | number | boolean | null>;
}

/** What `GET /api/disks` returns per disk (and what the UI shows in each disk header). */
export interface DiskInfo {
  number: number;
  name: string;
  /** Decimal string: sizes reach 2^63-1, beyond JSON numbers. */
  size: string;
  /** Source of the requests: 'server' (embedded NBD server), 'attach' (tailing an nbdkit log), 'replay'. */
  mode: 'server' | 'attach' | 'replay';
  uris: string[];
  readonly: boolean;
  backend: string;
  filters: FilterInfo[];
  /** The per-disk Error toggle. */
  errorsOn: boolean;
  /** Hold I/O: the disk's requests are stalled until released (served disks only). */
  held: boolean;
  /** Server mode: where the log filter writes. Attach/replay: the log file the disk follows. */
  logfile: string | null;
  /** Attach mode: the external nbdkit's error file that the Error toggle creates and removes. */
  errorFile: string | null;
  counters: Record<Op, OpCounter>;
  inFlight: number;
  /** Blocks (4 KiB) in each data state; numbers are exact (at most 2^51 blocks). */
  blocks: Record<BlockStateName, number>;
  /** Blocks that currently carry the error mark. */
  errorBlocks: number;
  latencyUs: { p50: number; p99: number };
  /** Grid geometry the engine uses for this disk (see geometry.ts). */
  grid: GridGeometry;
  /** Attach/replay only: log lines that could not be read (counted and skipped). */
  unparsedLines?: number;
  /** Attach/replay only: why the last such line could not be read, e.g. "line 12: offset=zz is not a 64-bit offset". */
  lastUnparsed?: string;
  /** Proxy disks (nbd backend, disk images): the upstream server's state. */
  upstream?: UpstreamInfo;
}

/** The upstream NBD server behind a proxy disk, as the UI shows it. */
export interface UpstreamInfo {
  /** NBD URI of the upstream export (no credentials). */
  uri: string;
  /** 'reconnecting': requests fail until it is back; 'closed': the disk is shutting down. */
  state: 'connected' | 'reconnecting' | 'closed';
  /** Why it is not connected (the last connection error), else null. */
  message: string | null;
  /** Times the upstream came back after going away. */
  reconnects: number;
  /** Upstream connections open now (one per client connection). */
  connections: number;
  tls: boolean;
}

export interface GridGeometry {
  /** Total 4 KiB blocks (last one may be partial). */
  blocks: number;
  /** Blocks merged into one pixel (power of two). */
  blocksPerCell: number;
  /** Cells in use (= ceil(blocks / blocksPerCell)). */
  cells: number;
  width: number;
  height: number;
}

/** Hover information for one cell. */
export interface CellInfo {
  disk: number;
  cell: number;
  firstBlock: number;
  blockCount: number;
  /** Decimal byte range [start, end). */
  byteStart: string;
  byteEnd: string;
  state: BlockStateName;
  error: boolean;
  reads: number;
  writes: number;
  lastOp: Op | null;
  /** Wall-clock ms of the last op, or null. */
  lastTime: number | null;
}

/** Layout presets (issue: RAID layouts). */
export type PresetName = 'single' | 'raid1' | 'raid5' | 'raid6' | 'raid10' | 'custom';

/**
 * The control API: one request/response protocol used by the Electron IPC bridge, the WebSocket
 * bridge and (as REST routes) the HTTP API. Every method validates its params.
 */
/** How promptly the control server's thread answers (its event loop), since the previous health call. */
export interface HealthInfo {
  /**
   * Event-loop delay percentiles and maximum, ms: how late a 10 ms timer ran
   * (perf_hooks.monitorEventLoopDelay's figures less its 10 ms resolution).
   */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** How long these figures cover, ms. */
  sinceMs: number;
}

export interface ControlMethods {
  listDisks: { params: Record<string, never>; result: DiskInfo[] };
  /** Event-loop delay since the previous call (the figures restart at each call). */
  health: { params: Record<string, never>; result: HealthInfo };
  setErrors: { params: { disk: number; on: boolean }; result: DiskInfo };
  /** Hold I/O on one disk, or on every served disk when `disk` is left out. */
  setHold: { params: { on: boolean; disk?: number }; result: DiskInfo[] };
  /** Live filter settings: same keys as on the command line (rdelay=40ms, error-rate=10%...). */
  setFilterParams: { params: { disk: number; filter: string; params: Record<string, string> }; result: DiskInfo };
  /** One cell, or `count` cells from `cell` merged (a texel of a merged display). */
  inspectCell: { params: { disk: number; cell: number; count?: number }; result: CellInfo };
  clearPicture: { params: { disk: number }; result: DiskInfo };
  resetDisk: { params: { disk: number }; result: DiskInfo };
  applyPreset: { params: { preset: PresetName; disks?: number; size?: string }; result: DiskInfo[] };
  presetCommands: { params: Record<string, never>; result: { preset: PresetName | null; commands: string[] } };
  /** Replay mode only: playback control (kept for scripts; the same as `timeline`). */
  replay: { params: { action: ReplayAction; seconds?: number; speed?: number }; result: ReplayStatus };
  /**
   * The time machine: where the grids are in the session, play/pause/step/seek/speed/live/nextBurst.
   * `borrow` (WebSocket only; a video export): if the connection closes before an unmarked
   * timeline call, the time machine goes back to where it was before the first borrowing call.
   */
  timeline: {
    params: { action: TimelineAction; seconds?: number; speed?: number; borrow?: boolean };
    result: TimelineStatus;
  };
  /** The scrubber's picture: per-disk activity per op in `bins` slices of the session, and the marks. */
  timelineOverview: { params: { bins?: number }; result: TimelineOverview };
  /** The plots' data for one disk over a time range. */
  timelineSeries: {
    params: { disk: number; fromSec?: number; toSec?: number; bins?: number; points?: number };
    result: TimelineSeries;
  };
  /** Write the recording (oldest kept instant to now) to a new file (absolute path, .bsrec). */
  saveRecording: { params: { path: string }; result: { path: string; bytes: number } };
  /** What each block is (server/structure): see structure.ts for the result types. */
  structureStatus: { params: Record<string, never>; result: StructureStatus };
  diskMap: { params: { disk: number; from?: string; limit?: number }; result: DiskMap };
  blockChain: { params: { disk: number; block: number }; result: BlockChain };
  structureOverlay: { params: { disk: number }; result: StructureOverlay };
  structureObjects: { params: Record<string, never>; result: StructureObject[] };
  objectBlocks: { params: { id: string }; result: ObjectBlocks };
  structureActivity: { params: { disk?: number; seconds?: number }; result: StructureActivity };
  arrayStatus: { params: Record<string, never>; result: ArrayStatus[] };
  /** While a demo runs: its status, or (step mode) go on to the next step. */
  demo: { params: { action: 'status' | 'next' }; result: DemoStatus };
}

export const TIMELINE_ACTIONS = ['status', 'play', 'pause', 'step', 'seek', 'speed', 'live', 'nextBurst'] as const;
export type TimelineAction = (typeof TIMELINE_ACTIONS)[number];

export interface TimelineStatus {
  /** live: a recording being written (following = showing the live disks); replay: a file or logs. */
  mode: 'live' | 'replay';
  following: boolean;
  playing: boolean;
  speed: number;
  /** Seconds since the session started. */
  positionSec: number;
  /** The first instant that can be shown (later than 0 when the size limit dropped the oldest data). */
  startSec: number;
  endSec: number;
  finished: boolean;
  /** Requests recorded so far (replay: in the whole recording). */
  requests: number;
  recording: RecordingStatus | null;
}

export interface RecordingStatus {
  path: string;
  /** True when the file goes away at exit unless saved. */
  temporary: boolean;
  bytes: number;
  /** Size limit in bytes (0 = none). */
  limitBytes: number;
  /** Bytes the ring has dropped; the session before droppedBeforeSec can no longer be shown. */
  droppedBytes: number;
  droppedBeforeSec: number;
  /** Events not recorded because the disk fell behind. */
  lost: number;
  /** Why writing stopped (the disk full…); null while it goes on. */
  error: string | null;
  /**
   * After a write error: the instant where the file ends. The time machine (endSec) ends there:
   * what came after was only in memory and is not offered; Live still shows the disks.
   */
  stoppedAtSec: number | null;
}

/** Markers on the timeline: demo steps (captions), Error toggles, notes. */
export type TimelineMark =
  | { kind: 'caption'; sec: number; step: number; total: number; title: string; text: string }
  | { kind: 'errors'; sec: number; disk: number; on: boolean }
  | { kind: 'note'; sec: number; text: string };

/** Operations as the scrubber and plots group them. */
export const ACTIVITY_OPS = ['read', 'write', 'trim', 'zero', 'other'] as const;
export type ActivityOp = (typeof ACTIVITY_OPS)[number];

export interface TimelineOverview {
  startSec: number;
  endSec: number;
  bins: number;
  /** Completed requests per bin, per op. */
  disks: Array<{ disk: number; counts: Record<ActivityOp, number[]> }>;
  marks: TimelineMark[];
}

export interface TimelineSeries {
  disk: number;
  fromSec: number;
  toSec: number;
  /** Bin start times (s). */
  t: number[];
  bytesPerSec: Record<ActivityOp, number[]>;
  iops: Record<ActivityOp, number[]>;
  latencyP50Us: number[];
  latencyP99Us: number[];
  /** Mean requests in flight per bin. */
  queueDepth: number[];
  /** Offset-vs-time points (sampled): start time (s), byte offset (a Number: plot precision), op index (OPS). */
  scatter: { t: number[]; offset: number[]; op: number[] };
  /** True when the scatter holds every request of the range. */
  scatterComplete: boolean;
}

export interface DemoStatus {
  demo: string;
  running: boolean;
  step: number;
  total: number;
  /** Step mode: the presenter is being waited for. */
  waiting: boolean;
  stepMode: boolean;
}

export type ReplayAction = 'status' | 'pause' | 'resume' | 'step' | 'seek' | 'speed';

export interface ReplayStatus {
  playing: boolean;
  speed: number;
  /** Log time played, seconds from the log's first timestamp. */
  positionSec: number;
  /** Length of the logs in seconds (known once they have been read to the end; null before). */
  durationSec: number | null;
  finished: boolean;
  requests: number;
}
export type ControlMethod = keyof ControlMethods;

export interface ControlRequest<M extends ControlMethod = ControlMethod> {
  id: number;
  method: M;
  params: ControlMethods[M]['params'];
}
export type ControlResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/**
 * One frame of changes for one disk, as decoded from a binary batch (server/shared/batch.ts).
 * Cells are grid pixels (GridGeometry); cell values are BlockState | CELL_ERROR.
 */
export interface DiskFrame {
  disk: number;
  /** Full cell snapshot (length = geometry.cells) when the server sends one (first frame, overflow, clear). */
  full: Uint8Array | null;
  /** Changed cells and their new values (parallel arrays). */
  cellIdx: Uint32Array;
  cellVal: Uint8Array;
  /** Cells read during this frame (flash them). */
  reads: Uint32Array;
  /** Cells a successful write, trim or zero touched during this frame without changing them (rewrites: they blink). */
  writes: Uint32Array;
  /** In-flight requests as [startCell, cellCount] pairs (drawn as pending). */
  pending: Uint32Array;
  counters: Record<Op, OpCounter>;
  inFlight: number;
  latencyUs: { p50: number; p99: number };
}

export interface DecodedBatch {
  /** Frame sequence number from the server, increasing. */
  seq: number;
  /** Server monotonic time (µs) when the frame was cut. */
  timeUs: number;
  disks: DiskFrame[];
}

/** Messages the server pushes besides binary batches (WebSocket text / IPC 'event'). */
export type ServerPush =
  | { event: 'disks'; disks: DiskInfo[] }
  | { event: 'status'; message: string; level: 'info' | 'warn' | 'error' }
  /** Demo narration: the caption of the step now running (step from 1; text '' clears it). */
  | {
      event: 'caption';
      step: number;
      total: number;
      title: string;
      text: string;
      /** The demo's title. */
      demo?: string;
      /** What the guest printed during this step (mdstat, kernel messages): its last lines. */
      evidence?: string;
      /** 'running' (default); 'waiting' for the presenter (--step); 'done': the sticky end-of-demo summary. */
      phase?: 'running' | 'waiting' | 'done';
    }
  /** The desktop app's menu asks the page to run one of its actions (e.g. presentation mode). */
  | { event: 'action'; action: string }
  /** The time machine moved (seek, play, live) or the recording grew. */
  | { event: 'timeline'; status: TimelineStatus }
  /** The decoded structure changed (server/structure): refetch maps and overlays. */
  | { event: 'structure'; version: number };
