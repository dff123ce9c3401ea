// What ntfs-3g's own tools say about an NTFS image, for the tests to compare the decoder with:
// the inode of a path (ntfsinfo), an attribute's runs (ntfscluster -f -I), the volume's geometry
// (ntfsinfo -m). Test support only.

import { run } from '../test-support.ts';

/** One run as ntfscluster prints it; lcn null: sparse. */
export interface OracleRun {
  vcn: number;
  lcn: number | null;
  count: number;
}

/** The inode ntfsinfo finds for a path ("Dumping Inode 70 (0x46)"). */
export const inodeOf = (img: string, path: string) =>
  Number(/Dumping Inode (\d+)/.exec(run('ntfsinfo', ['-F', path, img]))![1]);

/** The runs of attribute `type` (0x80 $DATA, 0xa0 $INDEX_ALLOCATION) as `ntfscluster -f -I` prints them. */
export function oracleRuns(img: string, inode: number, type: string): OracleRun[] {
  const out = run('ntfscluster', ['-f', '-I', String(inode), img]);
  // One section per attribute segment: a file in many pieces continues its run list in an
  // extension record (listed by its $ATTRIBUTE_LIST).
  const sections = out.split(/\n(?=\s+0x[0-9a-f]+ - )/).filter((s) => s.trim().startsWith(`${type} - non-resident`));
  return sections.flatMap((section) =>
    [...section.matchAll(/^\s+(\d+)\s+(-?\d+)\s+(\d+)$/gm)]
      // LCN -1 is a sparse run; -2 (not mapped) is a part this segment leaves to another.
      .filter((m) => m[2] !== '-2')
      .map((m) => ({ vcn: Number(m[1]), lcn: m[2] === '-1' ? null : Number(m[2]), count: Number(m[3]) })),
  );
}

/** A number `ntfsinfo -m` prints ("Cluster Size: 4096"). */
export function volumeNumber(img: string, label: string): number {
  const m = new RegExp(`${label}:\\s*(\\d+)`).exec(run('ntfsinfo', ['-m', img]));
  if (!m) throw new Error(`ntfsinfo -m ${img} printed no "${label}"`);
  return Number(m[1]);
}
