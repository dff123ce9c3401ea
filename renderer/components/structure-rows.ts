// The Structure panel's list of regions and files: filtered by what is typed, structural objects
// first, and a place named where a label alone would not tell rows apart (the RAID 5 demo has a
// "GPT" on each of five disks).

import type { StructureObject } from '../../server/shared/structure.ts';

const STRUCTURAL: StructureObject['kind'][] = ['partition', 'filesystem', 'array', 'volume'];

function rank(o: StructureObject): number {
  if (STRUCTURAL.includes(o.kind)) return 0;
  if (o.kind !== 'file' && o.kind !== 'directory') return 1;
  return 2;
}

export interface ObjectRow {
  object: StructureObject;
  /** Where it lives ("disk 3"), shown when another listed row has the same label. */
  place?: string;
}

export function objectRows(objects: readonly StructureObject[], filter: string): ObjectRow[] {
  const f = filter.trim().toLowerCase();
  const matching = objects
    .filter((o) => !f || o.label.toLowerCase().includes(f) || o.where.toLowerCase().includes(f))
    .sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label) || a.where.localeCompare(b.where));
  const seen = new Map<string, number>();
  for (const o of matching) seen.set(o.label, (seen.get(o.label) ?? 0) + 1);
  return matching.map((o) => (seen.get(o.label)! > 1 ? { object: o, place: o.where } : { object: o }));
}
