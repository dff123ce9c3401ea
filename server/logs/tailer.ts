// Follows a log file as nbdkit writes it (chokidar + reads from the last offset to the end).
// Handles: bursts of appends arriving as one change, a partial last line (kept until its
// newline arrives), truncation (logappend=false restarting: onRestart; also when rewritten past
// the old offset before we look, told by its head), the file appearing
// later, deletion and re-creation. Reads in bounded chunks and splits lines with LineSplitter
// (lines.ts): linear time and bounded memory whatever the file holds (a 200 MB line without a
// newline included), and it yields to the event loop between budgets of reading, so the API
// and UI stay responsive while a big log is caught up.

import { watch, type FSWatcher } from 'chokidar';
import { closeSync, readSync, statSync, type Stats, watch as watchFile, type FSWatcher as FileWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineSplitter } from './lines.ts';
import { LogPathError, openLog } from './open-log.ts';

const CHUNK = 1 << 20;
/** Bytes read before yielding to the event loop. */
const BUDGET = 16 * CHUNK;
/** A file's identity: its inode, and its birth time, because a re-created file may get the inode back. */
const identity = (st: Stats) => `${st.ino}:${st.birthtimeMs}`;

/**
 * How much of a log's start is compared to tell a rewrite from an append: nbdkit's first line
 * (a Connect line with a microsecond timestamp, ~250 bytes) differs between two runs.
 */
const HEAD_BYTES = 4096;

/** A slow safety poll, for filesystems where change events go missing. */
const POLL_MS = 500;

export interface TailerEvents {
  onLines(lines: string[]): void;
  /** Lines dropped for being longer than MAX_LINE. */
  onOverlong?(count: number): void;
  onRestart?(): void;
}

export class LogTailer {
  private offset = 0;
  private readonly splitter = new LineSplitter();
  private readonly chunk = Buffer.allocUnsafe(CHUNK);
  private closed = false;
  private watcher: FSWatcher | null = null;
  private reading = false;
  private again = false;
  private poll: NodeJS.Timeout | null = null;
  /** Which file was read last (another one at the path means it was re-created). */
  private identity: string | null = null;
  /** A direct watch on the file itself: chokidar drops appends that keep the same mtime. */
  private fileWatcher: FileWatcher | null = null;
  /**
   * The file's first bytes as last seen (up to HEAD_BYTES): a log rewritten in place from its
   * start (O_TRUNC and one big write) can already be longer than the offset read when we look,
   * and only its head tells it apart from the same log grown.
   */
  private head: Buffer = Buffer.alloc(0);
  /** What was last said about a path that is no log (a directory, a FIFO), so it is said once. */
  private complaint: string | null = null;

  constructor(
    readonly path: string,
    private readonly events: TailerEvents,
    /** Start at the end of an existing file instead of its beginning. */
    private readonly fromEnd = false,
  ) {}

  async start(): Promise<void> {
    try {
      if (this.fromEnd) this.offset = statSync(this.path).size;
    } catch {
      this.offset = 0;
    }
    // Watch the folder, not the file: the file may not exist yet, or be deleted and re-created.
    const file = resolve(this.path);
    this.watcher = watch(dirname(file), { ignoreInitial: true, depth: 0 });
    const mine = (p: string) => resolve(p) === file;
    this.watcher.on('add', (p) => {
      if (!mine(p)) return;
      this.watchFile();
      this.readMore();
    });
    this.watcher.on('change', (p) => mine(p) && this.readMore());
    this.watcher.on('unlink', (p) => {
      if (!mine(p)) return;
      // Late news: the file there now is the one being read already (re-created, then read).
      try {
        if (identity(statSync(file)) === this.identity) return;
      } catch {
        // gone: a re-created file starts from the top
      }
      // A re-created file starts from the top.
      this.fileWatcher?.close();
      this.fileWatcher = null;
      this.fromTheTop();
    });
    this.watchFile();
    await new Promise<void>((ready) => this.watcher!.once('ready', () => ready()));
    this.poll = setInterval(() => this.readMore(), POLL_MS);
    this.poll.unref();
    this.readMore();
  }

  private watchFile(): void {
    this.fileWatcher?.close();
    try {
      this.fileWatcher = watchFile(this.path, () => this.readMore());
      this.fileWatcher.on('error', () => {
        this.fileWatcher?.close();
        this.fileWatcher = null;
      });
    } catch {
      this.fileWatcher = null; // not there yet: chokidar's 'add' comes back here
    }
  }

  /** Read from the last offset to the end of the file (also callable directly, e.g. by a poll). */
  readMore(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        // Yield between budgets: a big backlog never freezes the event loop.
        while (!this.closed && this.readSome(BUDGET)) await new Promise((r) => setImmediate(r));
      } while (this.again && !this.closed);
    } catch (err) {
      console.error(`blockscope: reading ${this.path}: ${(err as Error).message}`);
    } finally {
      this.reading = false;
    }
  }

  /** Read up to `budget` bytes; true when more is already there. */
  private readSome(budget: number): boolean {
    let opened: ReturnType<typeof openLog>;
    try {
      opened = openLog(this.path);
    } catch (err) {
      if (!(err instanceof LogPathError)) throw err;
      // A directory or a FIFO where the log was: said once (every poll would repeat it), and
      // watched on, since a log may take the path again.
      if (this.complaint !== err.message) console.error(`blockscope: ${err.message}`);
      this.complaint = err.message;
      return false;
    }
    if (!opened) return false; // not there (yet)
    this.complaint = null;
    const { fd, stats: st } = opened;
    try {
      const size = st.size;
      // Deleted and re-created (another file): start from the top. chokidar's own 'unlink' event
      // can be missing: a re-creation soon after the delete may reach us as a 'change' only.
      const id = identity(st);
      if (this.identity !== null && id !== this.identity) this.fromTheTop();
      this.identity = id;
      // Truncated: nbdkit restarted with logappend=false. Shorter than what was read, or, when the
      // new run had already written past the old offset before we looked, a different head.
      const head = this.readHead(fd, Math.min(HEAD_BYTES, size));
      const seen = this.head.length;
      if (size < this.offset || !head.subarray(0, seen).equals(this.head.subarray(0, head.length))) {
        this.fromTheTop();
        this.events.onRestart?.();
      }
      if (head.length > this.head.length) this.head = head;
      let read = 0;
      while (this.offset < size && read < budget) {
        const n = readSync(fd, this.chunk, 0, Math.min(CHUNK, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        read += n;
        const { lines, overlong } = this.splitter.push(this.chunk.subarray(0, n));
        if (overlong) this.events.onOverlong?.(overlong);
        if (lines.length) this.events.onLines(lines);
      }
      return this.offset < size;
    } finally {
      closeSync(fd);
    }
  }

  /** Read the file again from its first byte (re-created or truncated). */
  private fromTheTop(): void {
    this.offset = 0;
    this.head = Buffer.alloc(0);
    this.splitter.reset();
  }

  /** The file's first `length` bytes. */
  private readHead(fd: number, length: number): Buffer {
    const head = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, head, got, length - got, got);
      if (n <= 0) break;
      got += n;
    }
    return head.subarray(0, got);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.fileWatcher?.close();
    this.fileWatcher = null;
    await this.watcher?.close();
    this.watcher = null;
  }
}
