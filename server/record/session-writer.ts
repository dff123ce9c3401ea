// Writes a session file as a ring: blocks are appended after the header; with a capacity,
// writing wraps to the start of the data area and the oldest blocks are dropped (the header
// says where the oldest kept block is and how much was dropped). Writes are queued and run
// one at a time on the thread pool: appending never waits for the disk.

import { open, type FileHandle } from 'node:fs/promises';
import {
  BLOCK_HEADER,
  BlockType,
  HEADER_SIZE,
  blockLength,
  decodeBlockHeader,
  encodeBlock,
  encodeHeader,
  type FileHeader,
  type SessionMeta,
} from './format.ts';
import { SessionIndex, entryFrom, parseMarks, type BlockEntry } from './session-index.ts';

/** Smallest ring that still holds a few checkpoints of ordinary disks. */
export const MIN_CAPACITY = 1 << 20;

export interface AppendBlock {
  type: BlockType;
  disk: number;
  firstUs: number;
  lastUs: number;
  records: number;
  prefix: Uint8Array;
  body: Uint8Array;
  deflated: boolean;
}

interface QueuedWrite {
  pos: number;
  buf: Buffer;
  entry: BlockEntry | null;
}

export class SessionWriter {
  readonly index: SessionIndex;
  readonly header: FileHeader;
  private head = HEADER_SIZE;
  private seq = 0;
  private queue: QueuedWrite[] = [];
  /** Bytes of the file that writes reached (a write error freezes it: status shows the file's size). */
  private writtenBytes = HEADER_SIZE;
  /**
   * The drain in progress (settled when the queue is empty). A flag says whether one runs: the
   * promise alone cannot, since a drain that finishes without awaiting would be stored after it
   * had cleared it, and a flush awaiting that stale promise forever spun in microtasks: the event
   * loop (signals, the disks) stopped.
   */
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private headerDirty = true;
  queuedBytes = 0;
  /** The first write error: from then on nothing more is written (the recording has stopped). */
  error: Error | null = null;
  /** Told of the first write error, once; close() then does not throw it again. */
  onError: ((err: Error) => void) | null = null;
  private errorReported = false;
  /** Told after onError, once: the index has lost the blocks that did not reach the file. */
  onStopped: (() => void) | null = null;
  /** Called for each dropped block (the ring's oldest). */
  onEvict: ((e: BlockEntry) => void) | null = null;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    header: FileHeader,
  ) {
    this.header = header;
    this.index = new SessionIndex(fh, path);
  }

  /** Create (or truncate) a session file. `capacity` 0 = no limit. */
  static async create(path: string, capacity: number, meta: SessionMeta, startWallMs: number): Promise<SessionWriter> {
    if (capacity && capacity < MIN_CAPACITY)
      throw new Error(`recording size limit must be at least ${MIN_CAPACITY >> 20} MiB`);
    const fh = await open(path, 'w+', 0o600);
    const w = new SessionWriter(fh, path, {
      flags: 0,
      startWallMs,
      capacity: capacity ? capacity - HEADER_SIZE : 0,
      ringStart: HEADER_SIZE,
      wrapAt: 0,
      writeHead: HEADER_SIZE,
      droppedBytes: 0,
      droppedUntilUs: 0,
      meta,
    });
    try {
      await fh.write(encodeHeader(w.header), 0, HEADER_SIZE, 0);
    } catch (err) {
      // Closed here: left to the garbage collector, Node warns on stderr about it later.
      await fh.close();
      throw err;
    }
    return w;
  }

  get fileBytes(): number {
    if (this.error) return this.writtenBytes;
    return this.header.capacity ? Math.min(HEADER_SIZE + this.header.capacity, this.maxHead) : this.head;
  }
  private maxHead = HEADER_SIZE;

  /** Bytes the kept blocks take. */
  get keptBytes(): number {
    return this.index.entries.reduce((n, e) => n + blockLength(e.h), 0);
  }

  /** Append a block (its prefix and body are copied at once); null when it cannot fit in the ring at all. */
  append(b: AppendBlock): BlockEntry | null {
    // Stopped: nothing more reaches the file, so nothing more enters the index either.
    if (this.error) return null;
    const buf = encodeBlock({ ...b, seq: ++this.seq }, b.prefix, b.body);
    const len = buf.length;
    const cap = this.header.capacity;
    const end = HEADER_SIZE + cap;
    if (cap && len + BLOCK_HEADER > cap) return null;
    let evicted = false;
    if (cap && this.head + len + BLOCK_HEADER > end) {
      // Wrap: mark the spot, drop what is left of the previous lap past it, start over.
      const wrap = encodeBlock(
        { type: BlockType.WRAP, disk: 0, firstUs: 0, lastUs: 0, records: 0, deflated: false, seq: ++this.seq },
        new Uint8Array(0),
        new Uint8Array(0),
      );
      this.enqueue(this.head, wrap, null);
      this.header.wrapAt = this.head;
      this.header.flags |= 1;
      while (this.index.entries.length && this.index.entries[0].offset >= this.head)
        evicted = this.evictOne() || evicted;
      this.head = HEADER_SIZE;
    }
    if (cap) {
      const lo = this.head;
      const hi = this.head + len + BLOCK_HEADER;
      for (let e = this.index.entries[0]; e && e.offset >= lo && e.offset < hi; e = this.index.entries[0])
        evicted = this.evictOne() || evicted;
      // Blocks before the first kept checkpoint cannot be rebuilt: drop them too.
      while (this.index.entries.length && this.index.entries[0].h.type !== BlockType.CHECKPOINT && evicted)
        this.evictOne();
    }
    const entry = entryFrom(this.head, decodeBlockHeader(buf)!, b.prefix, buf);
    if (b.type === BlockType.MARKS) entry.marks = parseMarks(b.body);
    this.index.add(entry);
    if (evicted) this.headerDirty = true;
    this.header.ringStart = this.index.entries[0].offset;
    this.header.droppedUntilUs = this.header.droppedBytes ? this.index.startUs : 0;
    // After an eviction the header goes out first: it must never point at overwritten bytes.
    if (this.headerDirty) this.enqueueHeader();
    this.enqueue(this.head, buf, entry);
    this.head += len;
    this.maxHead = Math.max(this.maxHead, this.head);
    this.header.writeHead = this.head;
    return entry;
  }

  private evictOne(): boolean {
    const e = this.index.shift();
    if (!e) return false;
    this.header.droppedBytes += blockLength(e.h);
    this.onEvict?.(e);
    return true;
  }

  private enqueueHeader(): void {
    this.headerDirty = false;
    this.enqueue(0, encodeHeader(this.header), null);
  }

  private enqueue(pos: number, buf: Buffer, entry: BlockEntry | null): void {
    // Stopped by a write error (reported through onError): the file ends where writing failed.
    if (this.error) return;
    this.queue.push({ pos, buf, entry });
    this.queuedBytes += buf.length;
    if (this.draining) return;
    this.draining = true;
    this.drained = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.error) {
      const item = this.queue.shift()!;
      try {
        // A short write (the disk filling up) is continued: the rest then fails with the reason.
        for (let done = 0; done < item.buf.length;) {
          const n = (await this.fh.write(item.buf, done, item.buf.length - done, item.pos + done)).bytesWritten;
          if (n <= 0) throw new Error(`${this.path}: the file takes no more bytes`);
          done += n;
          this.writtenBytes = Math.max(this.writtenBytes, item.pos + done);
        }
        // Written: the index reads it from the file from now on.
        if (item.entry) item.entry.data = null;
      } catch (err) {
        // This block and every later one are not (wholly) in the file.
        if (item.entry) this.index.dropFrom(item.entry);
        this.fail(err as Error);
      }
      this.queuedBytes -= item.buf.length;
    }
    this.draining = false;
  }

  /**
   * Stop writing for good (a write or compression error): what is queued is dropped, onError is
   * told. The blocks that did not reach the file leave the index too: the time machine must not
   * offer instants that the file (what `blockscope replay` reads) does not have.
   */
  fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    // Queue order is index order: the first queued block still indexed and every block after it
    // are only in memory. (A write in flight stays: if it fails, drain() drops it.)
    const unwritten = this.queue.find((item) => item.entry && this.index.entries.includes(item.entry));
    if (unwritten?.entry) this.index.dropFrom(unwritten.entry);
    for (const item of this.queue) this.queuedBytes -= item.buf.length;
    this.queue = [];
    if (this.onError) {
      this.errorReported = true;
      this.onError(err);
    }
    this.onStopped?.();
  }

  /** Wait until everything appended so far is on disk, header included; throws the write error if any. */
  async flush(): Promise<void> {
    this.enqueueHeader();
    await this.drained;
    if (this.error) throw this.error;
  }

  /** Flush and close the file. A write error already told to onError is not thrown again. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } catch (err) {
      if (!this.errorReported) throw err;
    } finally {
      await this.fh.close();
      this.index.fh = null;
    }
  }

  /** Write the kept blocks, oldest first, as a plain (unwrapped) session file at `path`. */
  async saveCopy(path: string): Promise<number> {
    const list = this.index.entries.slice(Math.max(0, this.index.firstCheckpoint));
    const out = await open(path, 'wx', 0o644);
    try {
      let pos = HEADER_SIZE;
      const chunk = 64;
      for (let i = 0; i < list.length; i += chunk) {
        const part = list.slice(i, i + chunk);
        const raws = await rawBlocks(this.index, part);
        for (const r of raws) {
          await out.write(r, 0, r.length, pos);
          pos += r.length;
        }
      }
      const h: FileHeader = {
        ...this.header,
        flags: 0,
        capacity: 0,
        ringStart: HEADER_SIZE,
        wrapAt: 0,
        writeHead: pos,
      };
      await out.write(encodeHeader(h), 0, HEADER_SIZE, 0);
      return pos;
    } finally {
      await out.close();
    }
  }
}

/** The raw bytes of blocks (from memory or the file). */
async function rawBlocks(index: SessionIndex, list: BlockEntry[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const e of list) {
    if (e.data) out.push(e.data);
    else {
      const b = Buffer.allocUnsafe(blockLength(e.h));
      await index.fh!.read(b, 0, b.length, e.offset);
      out.push(b);
    }
  }
  return out;
}
