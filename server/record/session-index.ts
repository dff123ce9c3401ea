// The in-memory index of a session's blocks, in file (= time) order: what the recorder keeps
// while it writes and what openSession() rebuilds from a file. Bodies are read on demand
// (blocks still queued for writing are served from memory).

import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { ByteReader, FormatError } from './bytes.ts';
import { readSummary, type EventSummary } from './event-codec.ts';
import { BLOCK_HEADER, BlockType, blockLength, checkCrc, type BlockHeader, type Mark } from './format.ts';

export interface CheckpointDisk {
  disk: number;
  nextRecord: number;
  nextStart: number;
}

export interface BlockEntry {
  offset: number;
  h: BlockHeader;
  /** The whole block while it waits to be written (then null: read it from the file). */
  data: Buffer | null;
  /** EVENTS: position of the block's first record and START on its disk; requests completed. */
  firstRecord: number;
  firstStart: number;
  requests: number;
  summary: EventSummary | null;
  /** CHECKPOINT and DELTA: where each disk's events continue. */
  checkpoint: CheckpointDisk[] | null;
  marks: Mark[] | null;
}

/** Parse a block's prefix (and a MARKS body) into an entry. */
export function entryFrom(offset: number, h: BlockHeader, prefix: Uint8Array, data: Buffer | null): BlockEntry {
  const e: BlockEntry = {
    offset,
    h,
    data,
    firstRecord: 0,
    firstStart: 0,
    requests: 0,
    summary: null,
    checkpoint: null,
    marks: null,
  };
  const r = new ByteReader(prefix, 'block prefix');
  if (h.type === BlockType.EVENTS) {
    e.firstRecord = r.uv();
    e.firstStart = r.uv();
    e.requests = r.uv();
    e.summary = readSummary(r);
  } else if (h.type === BlockType.CHECKPOINT || h.type === BlockType.DELTA) {
    const n = r.uv();
    e.checkpoint = [];
    for (let i = 0; i < n; i++) e.checkpoint.push({ disk: r.uv(), nextRecord: r.uv(), nextStart: r.uv() });
  }
  return e;
}

export function parseMarks(body: Uint8Array): Mark[] {
  try {
    const v = JSON.parse(new TextDecoder().decode(body)) as unknown;
    if (!Array.isArray(v)) throw new Error();
    return v.filter((m) => m && typeof m === 'object' && typeof (m as Mark).timeUs === 'number') as Mark[];
  } catch {
    throw new FormatError('corrupt marks block');
  }
}

export class SessionIndex {
  entries: BlockEntry[] = [];
  /** Where MARKS, CHECKPOINT and per-disk EVENTS entries sit (kept in time order). */
  marks: Mark[] = [];

  constructor(
    public fh: FileHandle | null,
    readonly path: string,
  ) {}

  add(e: BlockEntry): void {
    this.entries.push(e);
    if (e.marks) this.marks.push(...e.marks);
  }

  /** Drop the oldest entry (ring eviction). */
  shift(): BlockEntry | undefined {
    const e = this.entries.shift();
    if (e?.marks) {
      const n = e.marks.length;
      this.marks.splice(0, n);
    }
    return e;
  }

  /**
   * Drop `e` and every entry after it (the blocks a write error kept from reaching the file):
   * the index then holds what the file holds.
   */
  dropFrom(e: BlockEntry): void {
    const i = this.entries.indexOf(e);
    if (i < 0) return;
    this.entries.length = i;
    this.marks = this.entries.flatMap((k) => k.marks ?? []);
  }

  get firstCheckpoint(): number {
    return this.entries.findIndex((e) => e.h.type === BlockType.CHECKPOINT);
  }

  /** Session µs of the first instant that can be rebuilt (the first checkpoint). */
  get startUs(): number {
    const i = this.firstCheckpoint;
    return i < 0 ? 0 : this.entries[i].h.firstUs;
  }

  get endUs(): number {
    let end = this.startUs;
    for (let i = this.entries.length - 1; i >= 0 && i >= this.entries.length - 64; i--)
      end = Math.max(end, this.entries[i].h.lastUs);
    return end;
  }

  /**
   * Index of the last checkpoint (whole or delta) at or before `us`, -1 if none. A delta counts
   * only after a whole one: it is rebuilt from the whole checkpoint and the deltas since.
   */
  checkpointBefore(us: number): number {
    let best = -1;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      const whole = e.h.type === BlockType.CHECKPOINT;
      if (!whole && (e.h.type !== BlockType.DELTA || best < 0)) continue;
      if (e.h.firstUs > us) break;
      best = i;
    }
    return best;
  }

  /** The checkpoints to restore, in order, to rebuild checkpoint `i`: the whole one, then deltas. */
  restoreChain(i: number): BlockEntry[] {
    const chain: BlockEntry[] = [];
    for (let k = i; k >= 0; k--) {
      const e = this.entries[k];
      if (e.h.type === BlockType.DELTA) chain.push(e);
      else if (e.h.type === BlockType.CHECKPOINT) {
        chain.push(e);
        return chain.reverse();
      }
    }
    throw new FormatError(`${this.path}: a delta checkpoint without a whole one before it`);
  }

  /** The whole blocks of entries, from memory or the file; contiguous reads coalesced. */
  private raw(list: BlockEntry[]): Buffer[] {
    const raw: Buffer[] = new Array(list.length);
    let i = 0;
    while (i < list.length) {
      const e = list[i];
      if (e.data) {
        raw[i++] = e.data;
        continue;
      }
      let j = i + 1;
      let end = e.offset + blockLength(e.h);
      while (j < list.length && !list[j].data && list[j].offset === end) end += blockLength(list[j++].h);
      if (!this.fh) throw new Error('recording is closed');
      const buf = Buffer.allocUnsafe(end - e.offset);
      // A synchronous read: a seek wants its few hundred KiB now (page cache), not after
      // whatever else waits in the thread pool.
      const bytesRead = readSync(this.fh.fd, buf, 0, buf.length, e.offset);
      if (bytesRead < buf.length)
        throw new FormatError(`${this.path}: recording is truncated at byte ${e.offset + bytesRead}`);
      for (let k = i; k < j; k++)
        raw[k] = buf.subarray(list[k].offset - e.offset, list[k].offset - e.offset + blockLength(list[k].h));
      i = j;
    }
    return raw;
  }

  /**
   * Check every kept block's CRC without decoding it (the file is read once, 16 MiB at a time):
   * throws naming the first damaged block's byte, as a seek into it would.
   */
  verify(): void {
    for (let i = 0; i < this.entries.length;) {
      let j = i;
      for (let bytes = 0; j < this.entries.length && bytes < 16 << 20; j++) bytes += blockLength(this.entries[j].h);
      const list = this.entries.slice(i, j);
      this.raw(list).forEach((b, k) => {
        if (!checkCrc(list[k].h, b.subarray(BLOCK_HEADER)))
          throw new FormatError(`${this.path}: block at byte ${list[k].offset} is damaged (CRC mismatch)`);
      });
      i = j;
    }
  }

  /** Body bytes of entries (prefix excluded), inflated, CRC-checked; contiguous reads coalesced. */
  async bodies(list: BlockEntry[]): Promise<Uint8Array[]> {
    const raw = this.raw(list);
    return list.map((e, k) => {
      const b = raw[k];
      const all = b.subarray(BLOCK_HEADER);
      if (!checkCrc(e.h, all))
        throw new FormatError(`${this.path}: block at byte ${e.offset} is damaged (CRC mismatch)`);
      const body = all.subarray(e.h.prefixLength);
      return e.h.deflated ? inflateRawSync(body) : body;
    });
  }
}
