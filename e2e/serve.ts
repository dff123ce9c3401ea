// Start `blockscope serve … --ui` as a child process for an e2e test and read its URIs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Served {
  proc: ChildProcess;
  /** The UI's URL as printed, session token included (open it as is). */
  ui: string;
  /** The control API's session token. */
  token: string;
  /** An authorised URL for a path on the control server: api('/api/disks'). */
  api(path: string): string;
  /** The UI's URL with UI settings added ('?palette=projector&present=1'), the token kept. */
  page(query?: string): string;
  uris: string[];
  /** Everything the command printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export function requireBinary(name: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0)
    throw new Error(`${name} not found: apt-get install ${pkg}`);
}

export async function serve(args: string[], command = 'serve'): Promise<Served> {
  const cli = join(import.meta.dirname, '..', 'server', 'bin', 'blockscope.mjs');
  const proc = spawn(process.execPath, [cli, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const ui = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /^ui (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  const uris = [...out.matchAll(/^disk\d+ (\S+)/gm)].map((m) => m[1]);
  const token = new URL(ui).searchParams.get('token') ?? '';
  return {
    proc,
    ui,
    token,
    api(path) {
      const u = new URL(path, ui);
      u.searchParams.set('token', token);
      return u.toString();
    },
    page(query = '') {
      const u = new URL(ui);
      for (const [k, v] of new URLSearchParams(query)) u.searchParams.set(k, v);
      return u.toString();
    },
    uris,
    output: () => out + err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export function qemuIo(uri: string, ...cmds: string[]): { code: number | null; out: string } {
  const r = spawnSync('qemu-io', ['-f', 'raw', uri, ...cmds.flatMap((c) => ['-c', c])], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

/**
 * A recorded session: `blockscope serve ARGS --port 0 --record FILE --run STEPS` (the steps joined
 * by &&, with $uri1, $uri2 … for the disks), waited for.
 */
export function recordSession(file: string, args: string[], steps: string[]): void {
  const cli = join(import.meta.dirname, '..', 'server', 'bin', 'blockscope.mjs');
  const r = spawnSync(
    process.execPath,
    [cli, 'serve', ...args, '--port', '0', '--record', file, '--run', steps.join(' && ')],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`serve --run failed: ${r.stderr}`);
}
