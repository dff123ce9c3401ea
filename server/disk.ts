// One virtual disk: its event bus and statistics, and (in server mode) its backend, filter
// stack and NBD listener. In attach/replay mode there is no server: a log reader publishes
// the same request events on the bus, so everything downstream is identical.

import type { Backend } from './backends/backend.ts';
import { createBackend, type BackendName } from './backends/index.ts';
import { EventBus } from './events/event-bus.ts';
import { DiskStats } from './events/disk-stats.ts';
import { FilterChain } from './filters/filter.ts';
import type { HoldFilter } from './filters/hold.ts';
import { createFilter } from './filters/index.ts';
import { loadTls, type TlsSettings } from './connection/tls.ts';
import { NbdServer } from './nbd-server.ts';
import type { DiskInfo } from './shared/types.ts';

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
}

export type DiskMode = DiskInfo['mode'];

export class Disk {
  readonly bus = new EventBus();
  readonly stats: DiskStats;
  backend: Backend | null = null;
  chain: FilterChain | null = null;
  server: NbdServer | null = null;

  private constructor(
    readonly number: number,
    readonly size: bigint,
    readonly mode: DiskMode,
    readonly spec: DiskSpec | null,
    /** Attach/replay: the log file the requests come from. */
    readonly source: string | null = null,
  ) {
    this.stats = new DiskStats(number, size, this.bus);
  }

  /** Start a disk served by the embedded NBD server. */
  static async serve(spec: DiskSpec): Promise<Disk> {
    // Credentials first: a bad key file is a clear error before anything is started.
    const tls = spec.tls ? loadTls(spec.tls) : null;
    const backend = await createBackend(spec.backend, spec.size, spec.backendParams, spec.readonly);
    // The file, nbd and image backends learn their size from what they open.
    const disk = new Disk(spec.number, backend.getSize(), 'server', spec);
    disk.backend = backend;
    const filters = spec.filters.map((f) => createFilter(f.name, f.params, { diskNumber: spec.number }));
    // Every disk has an Error toggle; without a configured error filter an innermost one
    // (rate 0, so inert until toggled) provides it, so the log filter still sees injected errors.
    if (!filters.some((f) => f.name === 'error')) {
      filters.push(createFilter('error', { 'error-rate': '0' }, { diskNumber: spec.number }));
    }
    // And a Hold toggle: outermost, so held requests are in flight (drawn pending) before any
    // other filter sees them.
    if (!filters.some((f) => f.name === 'hold')) filters.unshift(createFilter('hold', {}, { diskNumber: spec.number }));
    disk.chain = new FilterChain(filters, disk.backend);
    disk.server = new NbdServer({
      diskNumber: spec.number,
      chain: disk.chain,
      bus: disk.bus,
      exportName: spec.exportName,
      readonly: spec.readonly,
      tcp: spec.tcp,
      unixSocket: spec.unixSocket,
      tls,
      handshakeTimeoutMs: spec.handshakeTimeoutMs,
      noStructuredReplies: spec.noStructuredReplies,
    });
    try {
      await disk.server.listen();
      await disk.chain.ready();
    } catch (err) {
      await disk.close();
      throw err;
    }
    return disk;
  }

  /** A disk fed by a log reader (attach/replay): no server, same events. */
  static external(number: number, size: bigint, mode: 'attach' | 'replay', source: string | null = null): Disk {
    return new Disk(number, size, mode, null, source);
  }

  /** The Error toggle's target filter (server mode). */
  private errorFilter() {
    return this.chain?.find('error');
  }

  /** Overridden by attach mode, which toggles the external nbdkit's error file instead. */
  errorToggle: ((on: boolean) => void) | null = null;
  /** Attach/replay: log lines that could not be read, and why the last one could not. */
  unparsedLines: number | undefined = undefined;
  lastUnparsed: string | undefined = undefined;
  errorToggleState: (() => boolean) | null = null;
  /** Attach mode: the external nbdkit's error file the toggle creates and removes. */
  errorFile: string | null = null;

  setErrors(on: boolean): void {
    if (this.errorToggle) return this.errorToggle(on);
    const f = this.errorFilter();
    if (!f?.setErrors) throw new Error(`disk ${this.number} has no error toggle`);
    f.setErrors(on);
  }

  /** Hold I/O: stall this disk's requests until released (served disks only). */
  setHold(on: boolean): void {
    const f = this.chain?.find('hold') as HoldFilter | undefined;
    if (!f) throw new Error(`disk ${this.number} is not served by Blockscope (${this.mode} mode): nothing to hold`);
    f.setHold(on);
  }

  isHeld(): boolean {
    return (this.chain?.find('hold') as HoldFilter | undefined)?.isHeld() ?? false;
  }

  errorsOn(): boolean {
    if (this.errorToggleState) return this.errorToggleState();
    return this.errorFilter()?.errorsOn?.() ?? false;
  }

  setFilterParams(name: string, params: Record<string, string>): void {
    const f = this.chain?.find(name);
    if (!f) throw new Error(`disk ${this.number} has no ${name} filter`);
    if (!f.configure) throw new Error(`the ${name} filter has no live settings`);
    // Paths (error-file, logfile) and the like are fixed at start: whoever steers the disk live
    // (API, UI) must not point Blockscope at a file.
    for (const key of Object.keys(params)) {
      const spec = f.params.find((p) => p.name === key || p.aliases?.includes(key));
      if (spec && !spec.live) throw new Error(`${name} filter: '${key}' is set when the disk starts, not live`);
    }
    f.configure(params);
  }

  info(): DiskInfo {
    const logFilter = this.chain?.find('log');
    const logfile = logFilter ? logFilter.describe().logfile : null;
    return {
      number: this.number,
      name: `disk${this.number}`,
      size: this.size.toString(),
      mode: this.mode,
      uris: this.server?.uris ?? [],
      readonly: this.spec?.readonly ?? false,
      backend: this.backend?.name ?? 'external',
      filters: (this.chain?.filters ?? []).map((f) => ({ name: f.name, settings: f.describe() })),
      errorsOn: this.errorsOn(),
      held: this.isHeld(),
      // What the disk follows (attach/replay), or where its log filter writes (server).
      logfile: this.source ?? (typeof logfile === 'string' ? logfile : null),
      errorFile: this.errorFile,
      ...this.stats.snapshot(),
      ...(this.unparsedLines !== undefined ? { unparsedLines: this.unparsedLines } : {}),
      ...(this.lastUnparsed !== undefined ? { lastUnparsed: this.lastUnparsed } : {}),
      ...(this.backend?.upstream ? { upstream: this.backend.upstream() } : {}),
    };
  }

  /** Discard the disk's data and its picture (the UI asks for confirmation first). */
  async reset(): Promise<void> {
    await this.backend?.reset();
    this.stats.clear();
  }

  async close(): Promise<void> {
    await this.server?.close();
    await this.chain?.dispose();
    await this.backend?.close();
  }
}
