// `blockscope serve` as a separate process, for tests that must watch the server from outside:
// its memory (RSS), its open descriptors, whether it is still alive, how fast SIGTERM ends it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');

export interface ServeProcess {
  proc: ChildProcess;
  /** One URI per disk, as `serve` printed them. */
  uris: string[];
  /** Unix socket of disk n (from 1). */
  socket(n?: number): string;
  dir: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resident set size in bytes (from /proc). */
  rss(): number;
  /** Open file descriptors. */
  fds(): number;
  alive(): boolean;
  /** SIGTERM and wait for exit: resolves with the milliseconds it took (rejects after `ms`). */
  terminate(ms?: number): Promise<number>;
  /** SIGKILL and remove the temp dir (always safe to call). */
  kill(): Promise<void>;
}

/**
 * Start `serve --unix DIR` with extra arguments; resolves once every disk's URI is printed.
 * `asCommand` runs the file itself, as a user's `blockscope` does, so its shebang (with the glibc
 * tunables) applies; otherwise `node blockscope.mjs`.
 */
export async function startServeProcess(
  args: string[],
  disks = 1,
  o: { asCommand?: boolean } = {},
): Promise<ServeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-proc-'));
  const argv = ['serve', '--unix', dir, ...args];
  const proc = spawn(o.asCommand ? cli : process.execPath, o.asCommand ? argv : [cli, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += d;
    if (err.length > 1 << 20) err = err.slice(-(1 << 19));
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const uris = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 30 s: ${err}`)), 30_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const lines = out.split('\n').filter((l) => /^disk\d+ /.test(l));
      if (lines.length >= disks) {
        clearTimeout(timer);
        resolve(lines.map((l) => l.split(' ')[1]));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
  const status = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  };
  return {
    proc,
    uris,
    dir,
    socket: (n = 1) => join(dir, `disk${n}.sock`),
    stderr: () => err,
    rss: () => status('VmRSS') * 1024,
    fds: () => readdirSync(`/proc/${proc.pid}/fd`).length,
    alive: () => !exited,
    async terminate(ms = 10_000) {
      const start = performance.now();
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exit,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no exit ${ms} ms after SIGTERM`)), ms))),
      ]).finally(() => clearTimeout(timer));
      return performance.now() - start;
    },
    async kill() {
      if (!exited) {
        proc.kill('SIGKILL');
        await exit;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
