// Caption words from the structure decoder's real answers: what the overlay shows at this point
// of a demo (the journal, the inode tables, which groups hold backup superblocks, where parity
// sits, how far a rebuild got). Each returns null when the disks do not show it (yet).

import type { ArrayStatus } from '../shared/structure.ts';
import type { Leaf } from '../structure/flatten.ts';
import type { StructureSnapshot } from '../structure/snapshot.ts';

export interface DemoFacts {
  snapshot: StructureSnapshot | null;
  arrays: () => ArrayStatus[];
}

const MiB = 1024n * 1024n;
const mib = (b: bigint) => {
  const v = Number((b * 10n) / MiB) / 10;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
};
const list = (xs: number[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}` : String(xs[0]));
const groupOf = (l: Leaf) =>
  Number(/^group (\d+)$/.exec(l.chain.find((c) => /^group \d+$/.test(c.label))?.label ?? '')?.[1] ?? NaN);

function runs(leaves: Leaf[]): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  for (const l of leaves) {
    const last = out[out.length - 1];
    if (last && l.start <= last[1]) last[1] = l.end > last[1] ? l.end : last[1];
    else out.push([l.start, l.end]);
  }
  return out;
}

/** Backup superblock groups of the ext filesystem on `disk` (as the decoder found them). */
export function backupGroups(snap: StructureSnapshot, disk: number): number[] {
  const groups = snap
    .leaves(disk)
    .filter((l) => l.kind === 'superblock')
    .map((l) => /^backup superblock \(group (\d+)\)$/.exec(l.chain.at(-1)!.label)?.[1])
    .filter((g): g is string => g !== undefined)
    .map(Number);
  return [...new Set(groups)].sort((a, b) => a - b);
}

/** "the journal (4 MiB at 33–37 MiB), the inode tables of 8 groups in one band at 1.3–3.3 MiB, backup superblocks at groups 1, 3, 5 and 7". */
export function extLayout(f: DemoFacts, disk: number): string | null {
  const snap = f.snapshot;
  if (!snap) return null;
  const leaves = snap.leaves(disk);
  const journal = runs(leaves.filter((l) => l.kind === 'journal'));
  const itables = leaves.filter((l) => l.kind === 'inode-table');
  if (!journal.length || !itables.length) return null;
  const parts: string[] = [];
  const jBytes = journal.reduce((n, [a, b]) => n + b - a, 0n);
  parts.push(
    journal.length === 1
      ? `the journal (${mib(jBytes)} MiB at ${mib(journal[0][0])}–${mib(journal[0][1])} MiB)`
      : `the journal (${mib(jBytes)} MiB in ${journal.length} pieces)`,
  );
  const groups = new Set(itables.map(groupOf));
  const bands = runs(itables);
  parts.push(
    bands.length === 1
      ? `the inode tables of all ${groups.size} groups in one band at ${mib(bands[0][0])}–${mib(bands[0][1])} MiB (flex_bg)`
      : `the inode tables of ${groups.size} groups in ${bands.length} bands`,
  );
  const backups = backupGroups(snap, disk);
  if (backups.length) parts.push(`backup superblocks at groups ${list(backups)}`);
  return `On the overlay: ${parts.join(', ')}.`;
}

/** Where P sits in the first stripes: "stripe 0 on disk 4, stripe 1 on disk 3, …". */
export function parityRotation(f: DemoFacts, disks: number[]): string | null {
  const snap = f.snapshot;
  if (!snap) return null;
  const at = new Map<number, number>();
  for (const d of disks)
    for (const l of snap.leaves(d)) {
      const m = /^parity \(P\) of stripe (\d+)/.exec(l.chain.at(-1)?.label ?? '');
      if (m && Number(m[1]) < disks.length && !at.has(Number(m[1]))) at.set(Number(m[1]), d);
    }
  if (at.size < disks.length) return null;
  const order = [...at].sort((a, b) => a[0] - b[0]).map(([s, d]) => `stripe ${s} on disk ${d}`);
  return `Parity (P) rotates from stripe to stripe: ${order.join(', ')}, then round again.`;
}

/** "disk 5 (md0 role 2): 57 of 122 stripes reconstructed". */
export function rebuildProgress(f: DemoFacts, disk: number): string | null {
  for (const a of f.arrays()) {
    const m = a.members.find((x) => x.disk === disk);
    if (!m || typeof m.role !== 'number') continue;
    return `Rebuild onto disk ${disk} (${a.name} role ${m.role}): ${m.stripesWritten} of ${a.stripes} stripes reconstructed, data and parity alike.`;
  }
  return null;
}

/** "96 files under /src fill 5.1 MiB of data blocks". */
export function filesUnder(f: DemoFacts, prefix: string): string | null {
  const files = (f.snapshot?.objects() ?? []).filter((o) => o.kind === 'file' && o.label.startsWith(`${prefix}/`));
  if (!files.length) return null;
  const bytes = files.reduce((n, o) => n + BigInt(o.bytes), 0n);
  return `On the overlay: ${files.length} files under ${prefix} fill ${mib(bytes)} MiB of data blocks.`;
}
