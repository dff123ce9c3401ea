// Upstream NBD servers for the proxy tests: nbdkit and qemu-nbd on Unix sockets in a temp dir,
// each a child process of the test, stopped by its own PID (never by name).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './harness.ts';

export interface UpstreamServer {
  uri: string;
  socket: string;
  pid: number;
  /** SIGKILL (a crash) or SIGTERM (a clean stop); resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start the same server again on the same socket (after stop). */
  restart(): Promise<void>;
}

async function waitForSocket(path: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`upstream exited (${child.exitCode}): ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`upstream did not create ${path}: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startProcess(cmd: string, args: (sock: string) => string[], socket: string): Promise<UpstreamServer> {
  let child: ChildProcess;
  let err = '';
  const launch = async () => {
    if (existsSync(socket)) unlinkSync(socket);
    err = '';
    child = spawn(cmd, args(socket), { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (err += d));
    await waitForSocket(socket, child, () => err);
  };
  await launch();
  const server: UpstreamServer = {
    uri: `nbd+unix:///?socket=${socket}`,
    socket,
    get pid() {
      return child.pid!;
    },
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        // A server that ignores SIGTERM (a client it waits for) must not hang the suite.
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill(signal);
      }),
    restart: launch,
  };
  return server;
}

/** nbdkit [filters] PLUGIN [params], foreground, on DIR/NAME.sock. */
export function startNbdkit(dir: string, name: string, args: string[]): Promise<UpstreamServer> {
  requireBinary('nbdkit', 'nbdkit');
  return startProcess('nbdkit', (sock) => ['-f', '-U', sock, ...args], join(dir, `${name}.sock`));
}

/** qemu-nbd serving FILE (format given) on DIR/NAME.sock, any number of clients. */
export function startQemuNbd(dir: string, name: string, file: string, format: string): Promise<UpstreamServer> {
  requireBinary('qemu-nbd', 'qemu-utils');
  return startProcess(
    'qemu-nbd',
    (sock) => ['-f', format, '-k', sock, '--persistent', '--shared=0', '--discard=unmap', file],
    join(dir, `${name}.sock`),
  );
}
