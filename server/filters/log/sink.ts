// Where log lines go: a file, written in batches so logging never slows the data path.
// Lines collect in memory and are written with one write at least every 100 ms, when the
// buffer passes 64 KiB, and on close — a clean stop loses nothing.

import { closeSync, openSync, writeSync } from 'node:fs';

const FLUSH_INTERVAL_MS = 100;
const FLUSH_BYTES = 64 * 1024;

export class LogSink {
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    append: boolean,
  ) {
    this.fd = openSync(path, append ? 'a' : 'w', 0o644);
  }

  write(line: string): void {
    if (this.fd === null) return;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.fd === null || this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    try {
      writeSync(this.fd, chunk);
    } catch (err) {
      // Best effort, like nbdkit: a full disk must not take the NBD server down.
      console.error(`blockscope: log ${this.path}: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
