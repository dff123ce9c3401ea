// The recent-activity line: the last requests of each disk (at most 256, at most 5 s old), kept
// in a small ring on the data path (a few typed-array stores per request), summarised in words
// only when someone asks.

import { REGION_KINDS, type StructureActivity } from '../shared/structure.ts';
import type { Op } from '../shared/types.ts';
import { monotonicUs } from '../events/event-bus.ts';
import { firstRegionEndingAfter } from './model.ts';
import type { DecodeResult } from './decode.ts';
import type { Leaf } from './flatten.ts';
import type { StructureSnapshot } from './snapshot.ts';

const RING = 256;
/** Requests older than this are not "recent". */
export const ACTIVITY_WINDOW_US = 5_000_000;
const OP_CODES: Partial<Record<Op, number>> = { read: 1, write: 2, trim: 3, zero: 4 };
const OP_NAMES = ['', 'read', 'write', 'trim', 'zero'] as const;
const PLURAL: Record<string, string> = { read: 'reads', write: 'writes', trim: 'trims', zero: 'zeroes' };

export class RecentRequests {
  private readonly ops = new Uint8Array(RING);
  private readonly offsets = new BigInt64Array(RING);
  private readonly lengths = new Uint32Array(RING);
  /** Completion times (the events' monotonic µs). */
  private readonly times = new Float64Array(RING);
  private next = 0;
  private count = 0;

  /** Called on the data path for every completed request: no allocation. */
  push(op: Op, offset: bigint, length: number, endUs: number): void {
    const code = OP_CODES[op];
    if (!code) return;
    const i = this.next;
    this.ops[i] = code;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.times[i] = endUs;
    this.next = (i + 1) % RING;
    if (this.count < RING) this.count++;
  }

  clear(): void {
    this.count = 0;
  }

  /** Entries completed at or after `sinceUs`, oldest first. */
  *entries(sinceUs = 0): Iterable<{ op: (typeof OP_NAMES)[number]; offset: bigint; length: number }> {
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - this.count + k + RING) % RING;
      if (this.times[i] < sinceUs) continue;
      yield { op: OP_NAMES[this.ops[i]], offset: this.offsets[i], length: this.lengths[i] };
    }
  }
}

/** "writes: journal (12), inode table group 0 (3), /var/log/messages (4)". */
export function summarise(
  disks: Array<[number, RecentRequests]>,
  snap: StructureSnapshot | null,
  sinceUs = monotonicUs() - ACTIVITY_WINDOW_US,
): StructureActivity {
  const counts = new Map<string, Map<string, number>>();
  for (const [disk, ring] of disks) {
    const leaves = snap?.leaves(disk) ?? [];
    for (const e of ring.entries(sinceUs)) {
      const labels = new Set<string>();
      const end = e.offset + BigInt(Math.max(1, e.length));
      for (
        let i = firstRegionEndingAfter(leaves, e.offset);
        i < leaves.length && leaves[i].start < end && labels.size < 8;
        i++
      )
        labels.add(summaryLabel(leaves[i], snap!.result.objects));
      if (!labels.size) labels.add('unlabelled blocks');
      const per = counts.get(e.op) ?? new Map<string, number>();
      counts.set(e.op, per);
      for (const l of labels) per.set(l, (per.get(l) ?? 0) + 1);
    }
  }
  const ops: StructureActivity['ops'] = {};
  const parts: string[] = [];
  for (const op of ['write', 'read', 'trim', 'zero'] as const) {
    const per = counts.get(op);
    if (!per) continue;
    const list = [...per].sort((a, b) => b[1] - a[1]);
    ops[op] = list;
    const shown = list.slice(0, 5).map(([l, n]) => `${l} (${n})`);
    if (list.length > 5) shown.push(`${list.length - 5} more`);
    parts.push(`${PLURAL[op]}: ${shown.join(', ')}`);
  }
  return { ops, text: parts.join('; ') };
}

/** Words for a leaf in the activity line: a file's path, or "inode table group 0", "journal", "parity". */
export function summaryLabel(l: Leaf, objects: DecodeResult['objects']): string {
  const last = l.chain[l.chain.length - 1];
  if (!last) return REGION_KINDS.includes(l.kind) ? l.kind : 'unknown';
  const obj = last.object ? objects.get(last.object) : undefined;
  if (obj && (obj.kind === 'file' || obj.kind === 'directory')) return obj.label;
  let text = last.label.replace(/ of stripe \d+.*$/, '').replace(/ \(group \d+\)$/, '');
  const prev = l.chain[l.chain.length - 2]?.label;
  if (prev && /^group \d+$/.test(prev)) text += ` ${prev}`;
  return text;
}
