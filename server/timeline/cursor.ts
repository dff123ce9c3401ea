// Walks one disk's records forward through a session's EVENTS blocks, decoding a block at a
// time. The player owns one cursor per disk; a seek re-creates it at a checkpoint.

import { OPS, type Errno } from '../shared/types.ts';
import { decodeEvents, TAG_CLEAR, TAG_END } from '../record/event-codec.ts';
import { BlockType } from '../record/format.ts';
import type { BlockEntry, SessionIndex } from '../record/session-index.ts';

export interface Rec {
  /** 0 = start, TAG_END, TAG_CLEAR. */
  kind: number;
  timeUs: number;
  startIndex: number;
  op: number;
  offset: bigint;
  length: number;
  flags: number;
  connection: number;
  error: Errno | null;
  /** END: the request was cancelled (its client went away). */
  cancelled: boolean;
}

/** Decode a whole EVENTS block into records. */
export function decodeBlock(e: BlockEntry, body: Uint8Array): Rec[] {
  const out: Rec[] = [];
  decodeEvents(
    body,
    { firstTimeUs: e.h.firstUs, firstStart: e.firstStart },
    {
      start(timeUs, startIndex, op, offset, offsetBig, length, flags, connection) {
        out.push({
          kind: 0,
          timeUs,
          startIndex,
          op,
          offset: offsetBig ?? BigInt(offset),
          length,
          flags,
          connection,
          error: null,
          cancelled: false,
        });
      },
      end(timeUs, startIndex, error, cancelled) {
        out.push({
          kind: TAG_END,
          timeUs,
          startIndex,
          op: 0,
          offset: 0n,
          length: 0,
          flags: 0,
          connection: 0,
          error,
          cancelled,
        });
      },
      clear(timeUs) {
        out.push({
          kind: TAG_CLEAR,
          timeUs,
          startIndex: 0,
          op: 0,
          offset: 0n,
          length: 0,
          flags: 0,
          connection: 0,
          error: null,
          cancelled: false,
        });
      },
    },
  );
  return out;
}

export const opName = (i: number) => OPS[i];

export class DiskCursor {
  /** Record index (on this disk) of the next record to hand out. */
  nextRecord: number;
  private block: BlockEntry | null = null;
  private recs: Rec[] = [];
  private i = 0;
  /** Where to resume scanning the index for this disk's next block. */
  private hint = 0;

  constructor(
    private readonly index: SessionIndex,
    readonly disk: number,
    nextRecord: number,
    hint: number,
  ) {
    this.nextRecord = nextRecord;
    this.hint = hint;
  }

  /** Index of this disk's first EVENTS entry ending after `record`, scanning from `from`; -1 if none. */
  private scan(from: number, record: number): number {
    const es = this.index.entries;
    for (let i = from; i < es.length; i++) {
      const e = es[i];
      if (e.h.type === BlockType.EVENTS && e.h.disk === this.disk && e.firstRecord + e.h.records > record) return i;
    }
    return -1;
  }

  /** Index of the entry holding `record`, or -1 if it is not (yet) recorded. */
  private locate(record: number): number {
    const es = this.index.entries;
    let i = this.scan(Math.min(this.hint, es.length), record);
    // The ring may have dropped entries (indexes shift): then look from the start.
    if (i < 0 || es[i].firstRecord > record) i = this.scan(0, record);
    if (i < 0 || es[i].firstRecord > record) return -1;
    this.hint = i;
    return i;
  }

  private findBlock(): BlockEntry | null {
    const i = this.locate(this.nextRecord);
    return i < 0 ? null : this.index.entries[i];
  }

  /** Blocks this cursor will need to reach `untilUs` (to read them in one go). */
  neededBlocks(untilUs: number, limit = Infinity): BlockEntry[] {
    const out: BlockEntry[] = [];
    const es = this.index.entries;
    // Records left in the decoded block come first; reading starts after that block.
    let rec = this.i < this.recs.length && this.block ? this.block.firstRecord + this.block.h.records : this.nextRecord;
    const from = this.locate(rec);
    if (from < 0) return out;
    for (let i = from; i < es.length; i++) {
      const e = es[i];
      if (e.h.type !== BlockType.EVENTS || e.h.disk !== this.disk) continue;
      if (e.firstRecord + e.h.records <= rec) continue;
      if (e.h.firstUs > untilUs || out.length >= limit) break;
      out.push(e);
      rec = e.firstRecord + e.h.records;
    }
    return out;
  }

  /**
   * The next record if its time is ≤ untilUs, else null. `bodies` supplies decoded bodies of
   * blocks read ahead (neededBlocks); a block missing from it ends the walk for now.
   */
  next(untilUs: number, bodies: Map<BlockEntry, Uint8Array>): Rec | null {
    if (this.i >= this.recs.length) {
      const e = this.findBlock();
      if (!e || e.h.firstUs > untilUs) return null;
      const body = bodies.get(e);
      if (!body) return null;
      this.block = e;
      this.recs = decodeBlock(e, body);
      this.i = this.nextRecord - e.firstRecord;
      if (this.i >= this.recs.length) return null;
    }
    const r = this.recs[this.i];
    if (r.timeUs > untilUs) return null;
    this.i++;
    this.nextRecord++;
    return r;
  }

  /** Time of the next record if already decoded (for stepping), else null. */
  peekTime(): number | null {
    return this.i < this.recs.length ? this.recs[this.i].timeUs : null;
  }

  get currentBlock(): BlockEntry | null {
    return this.block;
  }
}
