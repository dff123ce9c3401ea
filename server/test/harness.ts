// Helpers for integration tests that drive the engine with real clients.
// Servers listen on port 0 or in a temp dir; everything is cleaned up by close().

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - start });
    });
    // A client that exits before reading its stdin (or never starts) is reported by its exit
    // code, not by an EPIPE that would crash the test process.
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
  });
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
    uris: engine.disks.map((d) => d.server!.uris[0]),
    unixSockets: specs.map((s) => s.unixSocket ?? ''),
    dir,
    events,
    async close() {
      await engine.closeAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
