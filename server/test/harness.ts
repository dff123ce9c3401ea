// Helpers for integration tests that drive the engine with real clients.
// Servers listen on port 0 or in a temp dir; everything is cleaned up by close().

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskSpec, FilterSpec } from '../disk.ts';
import { Engine } from '../engine.ts';
import type { RequestEvent } from '../shared/types.ts';

/** Fail (never skip) when a client is missing, naming the Debian package. */
export function requireBinary(name: string, debianPackage: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) throw new Error(`${name} not found: apt-get install ${debianPackage}`);
  return path;
}

/** nbdsh runs Debian's python (a pyenv python first on PATH lacks the nbd module). */
export const NBDSH_ENV = { ...process.env, PATH: `/usr/bin:${process.env.PATH}` };

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(
  cmd: string,
  args: string[],
  o: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const start = performance.now();
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    // Its own process group, so a timeout also ends what it forked (fio runs each job in a child
    // process that holds stdout: killing fio alone left 'close' pending, and the test hung).
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    const finish = (code: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (timedOut) stderr += `\n[harness] ${cmd} killed after ${timeoutMs} ms without exiting\n`;
      resolve({ code, stdout, stderr, ms: performance.now() - start });
    };
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      // A grandchild that left the group could keep the pipes open: do not wait on it.
      setTimeout(() => finish(child.exitCode), 2000).unref();
    }, timeoutMs);
    child.on('close', (code) => finish(code));
    // A client that exits without reading its stdin (qemu-io -c …) makes this write EPIPE: not a test failure.
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
  });
}

/**
 * Waits until `count()` is `want` (5 s at most), then asserts it. With the worker data path
 * (BLOCKSCOPE_DATA_PATH=worker) a request's events reach the engine's thread shortly after the
 * client has its reply: a client's exit does not mean the grid and counters have it yet.
 */
export async function eventually(count: () => number, want: number, what: string): Promise<void> {
  for (let ms = 0; count() !== want && ms < 5000; ms += 10) await new Promise((r) => setTimeout(r, 10));
  assert.equal(count(), want, what);
}

export interface TestDisks {
  engine: Engine;
  /** One URI per disk (TCP unless unix was asked for). */
  uris: string[];
  unixSockets: string[];
  dir: string;
  /** Every completed request event, per disk (copies). */
  events: RequestEvent[][];
  close(): Promise<void>;
}

export interface DiskOptions {
  disks?: number;
  size?: bigint;
  filters?: FilterSpec[] | ((disk: number, dir: string) => FilterSpec[]);
  unix?: boolean;
  readonly?: boolean;
  exportName?: string;
  backend?: DiskSpec['backend'];
  backendParams?: (disk: number, dir: string) => Record<string, string>;
  tls?: DiskSpec['tls'];
  handshakeTimeoutMs?: number;
  /** Which thread serves the disks (default: the machine's, `defaultDataPathThread()`). */
  thread?: DiskSpec['thread'];
}

export async function startDisks(o: DiskOptions = {}): Promise<TestDisks> {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-test-'));
  const n = o.disks ?? 1;
  const specs: DiskSpec[] = Array.from({ length: n }, (_, i) => ({
    number: i + 1,
    size: o.size ?? 64n << 20n,
    backend: o.backend ?? 'memory',
    backendParams: o.backendParams?.(i + 1, dir) ?? {},
    readonly: o.readonly ?? false,
    exportName: o.exportName ?? '',
    filters: typeof o.filters === 'function' ? o.filters(i + 1, dir) : (o.filters ?? []),
    tcp: o.unix ? undefined : { host: '127.0.0.1', port: 0 },
    unixSocket: o.unix ? join(dir, `disk${i + 1}.sock`) : undefined,
    tls: o.tls,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    thread: o.thread,
  }));
  const engine = new Engine();
  await engine.serve(specs);
  const events: RequestEvent[][] = engine.disks.map(() => []);
  engine.disks.forEach((d, i) =>
    d.bus.subscribe((phase, ev) => {
      if (phase === 'end') events[i].push({ ...ev });
    }),
  );
  return {
    engine,
    uris: engine.disks.map((d) => d.path!.uris[0]),
    unixSockets: specs.map((s) => s.unixSocket ?? ''),
    dir,
    events,
    async close() {
      await engine.closeAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CliProcess {
  proc: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stdout (rejects if the process exits first). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The process's resident memory (VmRSS), MiB; 0 once it has exited. */
  rssMiB(): number;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Start `blockscope …` as its own process (as a user would), for tests that need a separate RSS or a crash to be visible. */
export function spawnCli(args: string[]): CliProcess {
  const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');
  const proc = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`blockscope ${args.join(' ')} exited ${code} before printing ${re}: ${err}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`blockscope ${args.join(' ')} did not print ${re} in ${timeoutMs} ms: ${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          proc.stdout!.off('data', check);
          proc.off('exit', onExit);
        };
        proc.stdout!.on('data', check);
        proc.once('exit', onExit);
        check();
      });
    },
    rssMiB() {
      try {
        const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      } catch {
        return 0; // gone
      }
    },
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
