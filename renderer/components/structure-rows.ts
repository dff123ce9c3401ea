// The Structure panel's list of regions and files: filtered by what is typed, structural objects
// first. With several disks each row says which disk(s) it is on ("disk 2", "disks 1–4"), and a
// place is named where a label and its disks alone would not tell rows apart (two "superblocks"
// on one disk, in two partitions).

import type { StructureObject } from '../../server/shared/structure.ts';

const STRUCTURAL: StructureObject['kind'][] = ['partition', 'filesystem', 'array', 'volume'];

function rank(o: StructureObject): number {
  if (STRUCTURAL.includes(o.kind)) return 0;
  if (o.kind !== 'file' && o.kind !== 'directory') return 1;
  return 2;
}

/** "disk 2", "disks 1–4" (a run), "disks 1, 3, 5"; '' for none. */
export function disksText(disks: readonly number[]): string {
  if (!disks.length) return '';
  if (disks.length === 1) return `disk ${disks[0]}`;
  const run = disks.every((d, i) => i === 0 || d === disks[i - 1] + 1);
  return `disks ${run ? `${disks[0]}–${disks.at(-1)}` : disks.join(', ')}`;
}

export interface ObjectRow {
  object: StructureObject;
  /** The disks it is on ("disk 3"), when the page shows several disks. */
  disks?: string;
  /** Where it lives ("ext4 on GPT partition 2 of disk 1"), when another listed row reads the same. */
  place?: string;
}

export function objectRows(objects: readonly StructureObject[], filter: string, severalDisks: boolean): ObjectRow[] {
  const f = filter.trim().toLowerCase();
  const on = (o: StructureObject) => (severalDisks ? disksText(o.disks) : '');
  const matching = objects
    .filter((o) => !f || [o.label, o.where, on(o)].some((t) => t.toLowerCase().includes(f)))
    .sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label) || a.where.localeCompare(b.where));
  const reads = (o: StructureObject) => `${o.label}\u0000${on(o)}`;
  const seen = new Map<string, number>();
  for (const o of matching) seen.set(reads(o), (seen.get(reads(o)) ?? 0) + 1);
  return matching.map((o) => {
    const row: ObjectRow = { object: o };
    if (on(o)) row.disks = on(o);
    if (seen.get(reads(o))! > 1 && o.where !== on(o)) row.place = o.where;
    return row;
  });
}
