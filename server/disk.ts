// One virtual disk: its event bus and statistics, and (in server mode) its data path: backend,
// filter stack and NBD listener, in a worker thread or on this one (data-path/). In attach/replay
// mode there is no server: a log reader publishes the same request events on the bus, so
// everything downstream is identical.

import { defaultDataPathThread, type DataPath, type DiskSpec } from './data-path/data-path.ts';
import { InlineDataPath } from './data-path/inline.ts';
import { WorkerDataPath, WorkerStartError } from './data-path/worker-data-path.ts';
import { EventBus } from './events/event-bus.ts';
import { DiskStats } from './events/disk-stats.ts';
import type { DiskInfo, UpstreamInfo } from './shared/types.ts';
export type { DiskSpec, FilterSpec } from './data-path/data-path.ts';

export type DiskMode = DiskInfo['mode'];

/**
 * A worker that cannot run at all (its bundle missing from a package, a platform without
 * workers) must not leave the disk unserved: the same data path runs inline instead, and says so.
 * A bad configuration fails the same way on either path and is not retried.
 */
async function startInWorker(spec: DiskSpec, bus: EventBus): Promise<DataPath> {
  try {
    return await WorkerDataPath.start(spec, bus);
  } catch (err) {
    if (!(err instanceof WorkerStartError)) throw err;
    console.error(`blockscope: ${err.message}; serving disk ${spec.number} on the engine thread instead`);
    return InlineDataPath.start(spec, bus);
  }
}

export class Disk {
  readonly stats: DiskStats;
  /** What the grids show when not the live state: the time machine's playback of this disk. */
  view: DiskStats | null = null;
  /** Server mode: the backend, filters and listener (in a worker thread or inline: DiskSpec.thread). */
  path: DataPath | null = null;

  private constructor(
    readonly number: number,
    readonly size: bigint,
    readonly mode: DiskMode,
    readonly spec: DiskSpec | null,
    /** Attach/replay: the log file the requests come from. */
    readonly source: string | null = null,
    /** Server mode: the bus the data path was started with (events may arrive before the Disk exists). */
    readonly bus = new EventBus(),
  ) {
    this.stats = new DiskStats(number, size, this.bus);
  }

  /** The statistics the UI shows: the live ones, or the time machine's view. */
  shown(): DiskStats {
    return this.view ?? this.stats;
  }

  /** Start a disk served by the embedded NBD server. */
  static async serve(spec: DiskSpec): Promise<Disk> {
    const bus = new EventBus();
    const thread = spec.thread ?? defaultDataPathThread();
    const path = thread === 'inline' ? await InlineDataPath.start(spec, bus) : await startInWorker(spec, bus);
    // The file, nbd and image backends learn their size from what they open.
    const disk = new Disk(spec.number, path.size, 'server', spec, null, bus);
    disk.path = path;
    path.beginEvents();
    return disk;
  }

  /** The TCP port the disk's server bound, or null. */
  get port(): number | null {
    return this.path?.port ?? null;
  }

  /** A disk fed by a log reader (attach/replay): no server, same events. */
  static external(number: number, size: bigint, mode: 'attach' | 'replay', source: string | null = null): Disk {
    return new Disk(number, size, mode, null, source);
  }

  /** Overridden by attach mode, which toggles the external nbdkit's error file instead. */
  errorToggle: ((on: boolean) => void) | null = null;
  /** Attach/replay: log lines that could not be read, and why the last one could not. */
  unparsedLines: number | undefined = undefined;
  lastUnparsed: string | undefined = undefined;
  errorToggleState: (() => boolean) | null = null;
  /** Attach mode: the external nbdkit's error file the toggle creates and removes. */
  errorFile: string | null = null;

  async setErrors(on: boolean): Promise<void> {
    if (this.errorToggle) return this.errorToggle(on);
    if (!this.path) throw new Error(`disk ${this.number} has no error toggle`);
    await this.path.setErrors(on);
  }

  /** Hold I/O: stall this disk's requests until released (served disks only). */
  async setHold(on: boolean): Promise<void> {
    if (!this.path)
      throw new Error(`disk ${this.number} is not served by Blockscope (${this.mode} mode): nothing to hold`);
    await this.path.setHold(on);
  }

  isHeld(): boolean {
    return this.path?.state().held ?? false;
  }

  errorsOn(): boolean {
    if (this.errorToggleState) return this.errorToggleState();
    return this.path?.state().errorsOn ?? false;
  }

  async setFilterParams(name: string, params: Record<string, string>): Promise<void> {
    if (!this.path) throw new Error(`disk ${this.number} has no ${name} filter`);
    await this.path.configure(name, params);
  }

  /** Proxy disks: the upstream server's state. */
  upstream(): UpstreamInfo | undefined {
    return this.path?.state().upstream;
  }

  info(): DiskInfo {
    const filters = this.path?.state().filters ?? [];
    const logfile = filters.find((f) => f.name === 'log')?.settings.logfile;
    return {
      number: this.number,
      name: `disk${this.number}`,
      size: this.size.toString(),
      mode: this.mode,
      uris: [...(this.path?.uris ?? [])],
      readonly: this.spec?.readonly ?? false,
      backend: this.path?.backendName ?? 'external',
      filters,
      errorsOn: this.errorsOn(),
      held: this.isHeld(),
      // What the disk follows (attach/replay), or where its log filter writes (server).
      logfile: this.source ?? (typeof logfile === 'string' ? logfile : null),
      errorFile: this.errorFile,
      ...this.shown().snapshot(),
      ...(this.unparsedLines !== undefined ? { unparsedLines: this.unparsedLines } : {}),
      ...(this.lastUnparsed !== undefined ? { lastUnparsed: this.lastUnparsed } : {}),
      ...(this.upstream() ? { upstream: this.upstream() } : {}),
    };
  }

  /** Discard the disk's data and its picture (the UI asks for confirmation first). */
  async reset(): Promise<void> {
    await this.path?.reset();
    this.stats.clear();
  }

  async close(): Promise<void> {
    await this.path?.close();
  }
}
