// The two servers the benchmarks compare, each started as its own process on a Unix socket
// (or TCP loopback): Blockscope's `serve` and nbdkit's memory plugin, with the same filters.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, connect, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

export type ServerKind = 'blockscope' | 'nbdkit';

export interface ServerConfig {
  size: string;
  transport: 'unix' | 'tcp';
  log: boolean;
  /** Extra filter parameters, e.g. { rdelay: '200ms' } (adds --filter=delay). */
  delay?: string;
  /** Blockscope's recording: on by default (temporary file); 'off' = --no-record; or a file and limit. */
  record?: 'off' | { file: string; limit: string };
  /** Blockscope only: `--disks N` (nbdkit serves one disk a process: start several). */
  disks?: number;
  /** Blockscope only: `--data-path=…` (default: the machine's, `auto`). */
  dataPath?: 'worker' | 'inline';
}

export interface RunningServer {
  kind: ServerKind;
  uri: string;
  /** Every disk's URI (disk 1 first). */
  uris: string[];
  pid: number;
  /** Blockscope only: the control API base URL. */
  api: string | null;
  /** Still running (a server that died mid-measurement makes the measurement an error). */
  alive(): boolean;
  stop(): Promise<void>;
}

export function requireTool(name: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0)
    throw new Error(`${name} not found: apt-get install ${pkg}`);
}

const cli = join(import.meta.dirname, '..', 'server', 'bin', 'blockscope.mjs');

/**
 * `blockscope ARGS` as users run it (`npx blockscope`): the shebang sets the glibc tunables the
 * engine relies on (server/bin/blockscope.mjs), and the `node` it finds is this one.
 */
export function spawnBlockscope(args: string[]): ChildProcess {
  return spawn(cli, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
  });
}

export function waitFor(proc: ChildProcess, test: () => string | null, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      const v = test();
      if (v) return resolve(v);
      if (proc.exitCode !== null) return reject(new Error(`server exited with ${proc.exitCode}`));
      if (Date.now() - start > ms) return reject(new Error('server did not start'));
      setTimeout(tick, 25);
    };
    tick();
  });
}

export async function startServer(kind: ServerKind, c: ServerConfig): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const sock = join(dir, kind === 'blockscope' ? 'disk1.sock' : 'nbd.sock');
  const filters: string[] = [];
  const params: string[] = [];
  if (c.log) {
    filters.push('--filter=log');
    params.push(`logfile=${join(dir, 'log')}`);
  }
  if (c.delay) {
    filters.push('--filter=delay');
    params.push(`rdelay=${c.delay}`);
  }
  let proc: ChildProcess;
  let out = '';
  if (kind === 'blockscope') {
    const listen = c.transport === 'unix' ? ['--unix', dir] : ['--port', '0'];
    const record =
      c.record === 'off'
        ? ['--no-record']
        : c.record
          ? ['--record', c.record.file, '--record-limit', c.record.limit]
          : [];
    const disks = c.disks ? ['--disks', String(c.disks)] : [];
    const dataPath = c.dataPath ? [`--data-path=${c.dataPath}`] : [];
    proc = spawnBlockscope([
      'serve',
      '--size',
      c.size,
      ...disks,
      ...dataPath,
      ...listen,
      '--api',
      '0',
      ...record,
      ...filters,
      ...params,
    ]);
    proc.stdout!.on('data', (d) => (out += d));
    await waitFor(proc, () => (/^api /m.test(out) ? 'ok' : null));
  } else {
    const port = c.transport === 'tcp' ? await freePort() : 0;
    const listen = c.transport === 'unix' ? ['-U', sock] : ['-i', '127.0.0.1', '-p', String(port)];
    // stderr ignored: the readiness probe on TCP makes nbdkit log a reset connection.
    proc = spawn('nbdkit', ['-f', ...listen, ...filters, 'memory', `size=${c.size}`, ...params], { stdio: 'ignore' });
    out = c.transport === 'unix' ? `disk1 nbd+unix:///?socket=${sock}` : `disk1 nbd://127.0.0.1:${port}`;
    if (c.transport === 'unix') await waitFor(proc, () => (existsSync(sock) ? 'ok' : null));
    else await waitListening(proc, port);
  }
  const uris = [...out.matchAll(/^disk\d+ (\S+)/gm)].map((m) => m[1]);
  const uri = uris[0];
  const api = /^api (\S+)/m.exec(out)?.[1] ?? null;
  return {
    kind,
    uri,
    uris,
    pid: proc.pid!,
    api,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        // Already gone (it died, or never bound its port): 'exit' will not come again.
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
      }),
  };
}

/** A TCP port nobody listens on now (the OS's pick; nbdkit 1.32 cannot report its own). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Until `proc` accepts connections on `port` (it exiting first is an error). */
async function waitListening(proc: ChildProcess, port: number, ms = 15_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - start > ms) throw new Error(`server did not listen on port ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resident set size of a process in bytes (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Another path of the control API from the printed `api …/api/disks?token=…` URL, the token kept. */
export function apiUrl(printed: string, path: string): string {
  const u = new URL(printed);
  u.pathname = `/api/${path}`;
  return u.toString();
}
