// The data path on the calling thread: backend, filters and listener, publishing request events
// on the given bus. The worker path runs exactly this inside its worker (disk-worker.ts).

import type { Backend } from '../backends/backend.ts';
import { createBackend } from '../backends/index.ts';
import { loadTls } from '../connection/tls.ts';
import type { EventBus } from '../events/event-bus.ts';
import { pastThisMicrosecond } from './event-wire.ts';
import { FilterChain } from '../filters/filter.ts';
import type { HoldFilter } from '../filters/hold.ts';
import { createFilter } from '../filters/index.ts';
import { NbdServer } from '../nbd-server.ts';
import { BackendSource } from '../structure/backend-source.ts';
import type { UpstreamInfo } from '../shared/types.ts';
import type { DataPath, DataPathState, DiskSpec } from './data-path.ts';

export class InlineDataPath implements DataPath {
  private constructor(
    private readonly spec: DiskSpec,
    readonly backend: Backend,
    readonly chain: FilterChain,
    readonly server: NbdServer,
  ) {}

  static async start(spec: DiskSpec, bus: EventBus): Promise<InlineDataPath> {
    // Credentials first: a bad key file is a clear error before anything is started.
    const tls = spec.tls ? loadTls(spec.tls) : null;
    const backend = await createBackend(spec.backend, spec.size, spec.backendParams, spec.readonly);
    const ctx = { diskNumber: spec.number };
    const filters = spec.filters.map((f) => createFilter(f.name, f.params, ctx));
    // Every disk has an Error toggle; without a configured error filter an innermost one
    // (rate 0, so inert until toggled) provides it, so the log filter still sees injected errors.
    if (!filters.some((f) => f.name === 'error')) filters.push(createFilter('error', { 'error-rate': '0' }, ctx));
    // And a Hold toggle: outermost, so held requests are in flight (drawn pending) before any
    // other filter sees them.
    if (!filters.some((f) => f.name === 'hold')) filters.unshift(createFilter('hold', {}, ctx));
    const chain = new FilterChain(filters, backend);
    const server = new NbdServer({
      diskNumber: spec.number,
      chain,
      bus,
      exportName: spec.exportName,
      readonly: spec.readonly,
      tcp: spec.tcp,
      unixSocket: spec.unixSocket,
      tls,
      handshakeTimeoutMs: spec.handshakeTimeoutMs,
      noStructuredReplies: spec.noStructuredReplies,
    });
    const path = new InlineDataPath(spec, backend, chain, server);
    try {
      await server.listen();
      await chain.ready();
    } catch (err) {
      await path.close();
      throw err;
    }
    return path;
  }

  get size(): bigint {
    return this.backend.getSize();
  }

  get uris(): readonly string[] {
    return this.server.uris;
  }

  get port(): number | null {
    return this.server.port;
  }

  get backendName(): string {
    return this.backend.name;
  }

  private hold(): HoldFilter | undefined {
    return this.chain.find('hold') as HoldFilter | undefined;
  }

  beginEvents(): void {
    // Events go straight onto the bus, which the disk subscribes to before any I/O callback runs.
  }

  state(): DataPathState {
    return {
      filters: this.chain.filters.map((f) => ({ name: f.name, settings: f.describe() })),
      errorsOn: this.chain.find('error')?.errorsOn?.() ?? false,
      held: this.hold()?.isHeld() ?? false,
      connections: this.server.connectionCount,
      ...(this.backend.upstream ? { upstream: this.backend.upstream() } : {}),
    };
  }

  async setErrors(on: boolean): Promise<void> {
    const f = this.chain.find('error');
    if (!f?.setErrors) throw new Error(`disk ${this.spec.number} has no error toggle`);
    f.setErrors(on);
  }

  async setHold(on: boolean): Promise<void> {
    this.hold()?.setHold(on);
  }

  async configure(name: string, params: Record<string, string>): Promise<void> {
    const f = this.chain.find(name);
    if (!f) throw new Error(`disk ${this.spec.number} has no ${name} filter`);
    if (!f.configure) throw new Error(`the ${name} filter has no live settings`);
    // Paths (error-file, logfile) and the like are fixed at start: whoever steers the disk live
    // (API, UI) must not point Blockscope at a file.
    for (const key of Object.keys(params)) {
      const spec = f.params.find((p) => p.name === key || p.aliases?.includes(key));
      if (spec && !spec.live) throw new Error(`${name} filter: '${key}' is set when the disk starts, not live`);
    }
    f.configure(params);
  }

  async describeBackend(): Promise<Record<string, string | number | boolean | null>> {
    return this.backend.describe();
  }

  read(offset: bigint, length: number): Promise<Buffer> {
    return new BackendSource(this.backend).read(offset, length);
  }

  async barrier(at: (nowUs: number) => void): Promise<void> {
    at(pastThisMicrosecond());
  }

  async reset(): Promise<void> {
    await this.backend.reset();
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.chain.dispose();
    await this.backend.close();
  }

  onUpstreamChange(listener: (u: UpstreamInfo) => void): () => void {
    return this.backend.onUpstreamChange?.(listener) ?? (() => {});
  }
}
