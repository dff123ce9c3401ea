// The image backend: a disk image of any format qemu reads (qcow2, vmdk, vdi, vhdx, raw …),
// served by a qemu-nbd that Blockscope starts on a private Unix socket and stops with the
// disk, and proxied by the nbd backend. The grid then shows the guest's view of the disk, not
// the image file's layout. Read-only unless the disk is writable. If qemu-nbd dies it is
// restarted, and the proxy reconnects to it like to any upstream that came back.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NbdBackend } from './nbd.ts';
import { targetFromParams } from '../nbd-client/target.ts';
import { Upstream } from '../nbd-client/upstream.ts';

/** Format and guest-visible size of an image, from `qemu-img info`. */
export function probeImage(path: string): { format: string; virtualSize: bigint } {
  const r = spawnSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' });
  if (r.error) throw new Error(`qemu-img not found (apt-get install qemu-utils): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`qemu-img info ${path}: ${r.stderr.trim() || `exit ${r.status}`}`);
  const info = JSON.parse(r.stdout) as { format: string; 'virtual-size': number };
  return { format: info.format, virtualSize: BigInt(info['virtual-size']) };
}

const START_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 1000;

/**
 * util-linux's setpriv, when there: qemu-nbd is started through it with a parent-death signal,
 * so the kernel stops qemu-nbd when Blockscope dies, even by SIGKILL (qemu-nbd has no
 * --exit-with-parent). Without it a killed Blockscope leaves qemu-nbd running.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/** A qemu-nbd child serving one image on a socket in a private directory (mode 0700). */
class QemuNbd {
  readonly dir = mkdtempSync(join(tmpdir(), 'blockscope-image-'));
  readonly socket = join(this.dir, 'qemu-nbd.sock');
  private child: ChildProcess | null = null;
  private stderr = '';
  private stopping = false;
  exited: string | null = null;

  /** qemu-nbd's process id (null while it is not running). */
  get pid(): number | null {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? (c.pid ?? null) : null;
  }

  constructor(
    readonly file: string,
    readonly format: string,
    private readonly writable: boolean,
  ) {}

  start(): void {
    try {
      unlinkSync(this.socket);
    } catch {
      // not there: fine
    }
    const args = ['-f', this.format, '-k', this.socket, '--persistent', '--shared=0', '--cache=writeback'];
    if (this.writable) args.push('--discard=unmap');
    else args.push('--read-only');
    args.push(this.file);
    this.exited = null;
    this.stderr = '';
    const child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', 'qemu-nbd', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('qemu-nbd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-2000)));
    const missing = 'qemu-nbd could not start (apt-get install qemu-utils)';
    child.on('error', (err) => (this.exited = `${missing}: ${err.message}`));
    child.on('exit', (code, signal) => {
      // setpriv exits 127 when it cannot run qemu-nbd: no restart loop for a missing program.
      if (SETPRIV && code === 127) {
        this.exited = `${missing}: ${this.stderr.trim()}`;
        return;
      }
      this.exited = `qemu-nbd exited (${signal ?? `code ${code}`}): ${this.stderr.trim()}`;
      if (this.child !== child || this.stopping) return;
      console.error(`blockscope: ${this.file}: ${this.exited}; restarting it`);
      setTimeout(() => !this.stopping && this.start(), RESTART_DELAY_MS).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      await new Promise<void>((done) => {
        const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
        c.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        c.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class ImageBackend extends NbdBackend {
  override readonly name = 'image';

  private constructor(
    upstream: Upstream,
    private readonly server: QemuNbd,
    writable: boolean,
  ) {
    super(upstream, !writable);
  }

  /** Start qemu-nbd on the image (format detected unless given) and connect to it. */
  static async openImage(file: string, opts: { writable: boolean; format?: string }): Promise<ImageBackend> {
    const path = resolve(file);
    const format = opts.format ?? probeImage(path).format;
    const server = new QemuNbd(path, format, opts.writable);
    server.start();
    const target = targetFromParams({ socket: server.socket });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        return new ImageBackend(await Upstream.open(target), server, opts.writable);
      } catch (err) {
        const why = server.exited ?? (Date.now() > deadline ? (err as Error).message : null);
        if (why) {
          await server.stop();
          throw new Error(`image ${path} (${format}): ${why}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  override describe() {
    return { ...super.describe(), file: this.server.file, format: this.server.format, pid: this.server.pid };
  }

  override async close(): Promise<void> {
    await super.close();
    await this.server.stop();
  }
}
