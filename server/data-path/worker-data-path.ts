// The owner's side of a disk served from its own worker thread (disk-worker.ts): calls become
// messages, the worker's event batches become events on the disk's bus, and the toggles and
// settings DiskInfo shows are kept as the worker last reported them.

import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { raiseSendBufferOf } from '../connection/send-buffer.ts';
import type { EventBus } from '../events/event-bus.ts';
import { monotonicUs } from '../events/event-bus.ts';
import type { UpstreamInfo } from '../shared/types.ts';
import type { DataPath, DataPathState, DiskSpec } from './data-path.ts';
import { backlogCounter, EventUnpacker, type EventBatch } from './event-wire.ts';
import { fromWire, type DiskWorkerData, type FromWorker, type WorkerMethod } from './worker-protocol.ts';

/** Starts a disk worker. The Electron app passes its bundled worker (electron-vite's `?nodeWorker`). */
export type DiskWorkerSpawner = (options: WorkerOptions) => Worker | Promise<Worker>;

let bundle: Promise<URL> | null = null;

/**
 * The worker's code as one plain-JavaScript module, bundled by esbuild once per process. Run
 * from source (the `blockscope` command and the tests run TypeScript through tsx), each worker
 * would otherwise load tsx's loader and compile every module again: seconds per disk.
 */
function workerBundle(): Promise<URL> {
  bundle ??= (async () => {
    const esbuild = await import('esbuild');
    const out = await esbuild
      .build({
        entryPoints: [fileURLToPath(new URL('./disk-worker.ts', import.meta.url))],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: 'inline',
        write: false,
        logLevel: 'silent',
      })
      .catch((err: Error) => {
        throw new Error(`cannot bundle the disk worker: ${err.message} (--data-path=inline serves without one)`);
      })
      .finally(() => esbuild.stop()); // its service process is not needed again
    return new URL(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].contents).toString('base64')}`);
  })();
  bundle.catch(() => (bundle = null));
  return bundle;
}

// No execArgv: the parent's `--import tsx` would load tsx into every worker for nothing.
const bundledSpawner: DiskWorkerSpawner = async (options) =>
  new Worker(await workerBundle(), { ...options, execArgv: [] });
let spawner: DiskWorkerSpawner = bundledSpawner;

/** Use `s` for the disks started from now on; returns the spawner it replaces. */
export function setDiskWorkerSpawner(s: DiskWorkerSpawner): DiskWorkerSpawner {
  const before = spawner;
  spawner = s;
  return before;
}

/** The worker itself could not run (not the disk's configuration): the inline path still can. */
export class WorkerStartError extends Error {}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  /** Called as the reply is handled, before any later message of this worker (barrier). */
  onReply?(v: unknown): void;
}

export class WorkerDataPath implements DataPath {
  private nextCall = 1;
  private readonly pending = new Map<number, Pending>();
  private current: DataPathState;
  private upstreamListeners: Array<(u: UpstreamInfo) => void> = [];
  /** Why the worker is gone, once it is. */
  private gone: string | null = null;

  private constructor(
    private readonly worker: Worker,
    private readonly number: number,
    private readonly unpacker: EventUnpacker,
    ready: Extract<FromWorker, { t: 'ready' }>,
    private early: EventBatch[] | null,
  ) {
    this.size = ready.size;
    this.uris = ready.uris;
    this.port = ready.port;
    this.backendName = ready.backendName;
    this.current = ready.state;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => this.lost(`its worker failed: ${err.message}`));
    worker.on('exit', (code) => this.lost(`its worker exited (code ${code})`));
  }

  readonly size: bigint;
  readonly uris: readonly string[];
  readonly port: number | null;
  readonly backendName: string;

  static async start(spec: DiskSpec, bus: EventBus): Promise<WorkerDataPath> {
    const unpacked = backlogCounter();
    const workerData: DiskWorkerData = { spec, ownerTimeOrigin: performance.timeOrigin, unpacked };
    let worker: Worker;
    try {
      worker = await spawner({ workerData });
    } catch (err) {
      throw new WorkerStartError(`disk ${spec.number}: no worker: ${(err as Error).message}`);
    }
    const unpacker = new EventUnpacker(spec.number, (phase, ev) => bus.emit(phase, ev), unpacked);
    // A client may connect before the worker says it is ready (the log filter's `Ready` line is
    // written after the listener is up): those events wait until the disk's listeners are there.
    const early: EventBatch[] = [];
    return new Promise((resolve, reject) => {
      const starting = (m: FromWorker) => {
        if (m.t === 'events') early.push(m);
        else if (m.t === 'send-buffer') raiseSendBufferOf(m.fd);
        else if (m.t === 'ready') {
          off();
          resolve(new WorkerDataPath(worker, spec.number, unpacker, m, early));
        } else if (m.t === 'failed') {
          off();
          void worker.terminate();
          reject(fromWire(m.error));
        }
      };
      const failed = (err: Error) => {
        off();
        reject(new WorkerStartError(`disk ${spec.number}: its worker failed to start: ${err.message}`));
      };
      const exited = (code: number) => failed(new Error(`exit code ${code}`));
      const off = () => {
        worker.off('message', starting);
        worker.off('error', failed);
        worker.off('exit', exited);
      };
      worker.on('message', starting);
      worker.on('error', failed);
      worker.on('exit', exited);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'events') {
      if (this.early) this.early.push(m);
      else this.unpacker.enqueue(m);
      return;
    }
    // What the worker says next happened after those events: they reach the bus first.
    this.unpacker.unpackQueued();
    switch (m.t) {
      case 'state': {
        const before = this.current.upstream;
        this.current = m.state;
        const u = m.state.upstream;
        if (u && (u.state !== before?.state || u.reconnects !== before?.reconnects))
          for (const l of this.upstreamListeners) l(u);
        return;
      }
      case 'send-buffer':
        raiseSendBufferOf(m.fd);
        return;
      case 'reply': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(fromWire(m.error));
        else {
          p.onReply?.(m.value);
          p.resolve(m.value);
        }
        return;
      }
    }
  }

  /** The worker is gone: nothing it had in flight will end, and no call will be answered. */
  private lost(why: string): void {
    if (this.gone) return;
    this.gone = why;
    console.error(`blockscope: disk ${this.number}: ${why}; its clients are disconnected`);
    this.unpacker.abandon(monotonicUs());
    for (const p of this.pending.values()) p.reject(new Error(`disk ${this.number}: ${why}`));
    this.pending.clear();
  }

  private call<T>(method: WorkerMethod, ...args: unknown[]): Promise<T> {
    return this.callWith<T>(method, args);
  }

  private callWith<T>(method: WorkerMethod, args: unknown[], onReply?: (v: unknown) => void): Promise<T> {
    if (this.gone) return Promise.reject(new Error(`disk ${this.number}: ${this.gone}`));
    const id = this.nextCall++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onReply });
      this.worker.postMessage({ t: 'call', id, method, args });
    });
  }

  beginEvents(): void {
    const early = this.early ?? [];
    this.early = null;
    for (const b of early) this.unpacker.unpack(b);
  }

  state(): DataPathState {
    return this.current;
  }

  setErrors(on: boolean): Promise<void> {
    return this.call('setErrors', on);
  }

  setHold(on: boolean): Promise<void> {
    return this.call('setHold', on);
  }

  configure(filter: string, params: Record<string, string>): Promise<void> {
    return this.call('configure', filter, params);
  }

  describeBackend(): Promise<Record<string, string | number | boolean | null>> {
    return this.call('describeBackend');
  }

  async read(offset: bigint, length: number): Promise<Buffer> {
    const ab = await this.call<ArrayBuffer>('read', offset, length);
    return Buffer.from(ab, 0, length);
  }

  barrier(at: (nowUs: number) => void): Promise<void> {
    // The worker flushed its events before replying, and this runs before its next message.
    return this.callWith('barrier', [], (v) => at(v as number));
  }

  reset(): Promise<void> {
    return this.call('reset');
  }

  async close(): Promise<void> {
    if (!this.gone) {
      // In-flight requests end (cancelled) inside close; their events arrive before its reply.
      await this.call('close').catch((err: Error) => console.error(`blockscope: ${err.message}`));
    }
    this.gone ??= 'the disk is closed';
    await this.worker.terminate();
  }

  onUpstreamChange(listener: (u: UpstreamInfo) => void): () => void {
    this.upstreamListeners.push(listener);
    return () => {
      this.upstreamListeners = this.upstreamListeners.filter((l) => l !== listener);
    };
  }
}
