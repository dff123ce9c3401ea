// One partition of any table: its region on the disk, its object for the panel, and whatever
// the probe recognises inside it (a filesystem, an md member, an LVM PV, another table). And
// what to do when a table's partitions overlap (a damaged or hand-edited table).

import { contentSpace, type DecodeContext, type Place } from '../context.ts';
import type { Region } from '../model.ts';
import { SliceSource, type ByteSource } from '../source.ts';

/**
 * Partitions that start at sector 0 of their container (an isohybrid image's partition 1): their
 * first sector is the container's own partition table, not one of theirs, so the table decoders
 * do not read it again inside them (it would nest the same table in itself, level after level).
 */
const startingAtTheirTable = new WeakSet<ByteSource>();
export const startsAtItsContainersTable = (src: ByteSource) => startingAtTheirTable.has(src);

export async function partitionRegion(
  src: ByteSource,
  ctx: DecodeContext,
  place: Place,
  /** "GPT partition 1 \"p1\"", "MBR partition 5". */
  label: string,
  /** "n" of sda<n>: object ids follow Linux's numbering. */
  n: number,
  typeName: string,
  start: bigint,
  end: bigint,
): Promise<Region> {
  const inner: Place = { id: `${place.id}.p${n}`, where: `${label} of ${place.where}` };
  const object = ctx.object({ id: inner.id, kind: 'partition', label: `${label} (${typeName})`, where: place.where });
  const slice = new SliceSource(src, start, end - start);
  if (start === 0n) startingAtTheirTable.add(slice);
  const content = await ctx.probe(slice, ctx, inner);
  return {
    start,
    end,
    kind: 'container',
    label,
    object,
    inner: content ? contentSpace(content, end - start) : undefined,
  };
}

/** Overlapping pairs named at most (a damaged GPT may have 65,536 entries all alike). */
const MAX_OVERLAPS_NAMED = 8;

/**
 * Partition regions (in table order) listed so that where two overlap the smaller one is shown
 * (normalise: the region listed later wins), and each overlap named in a warning. Both are kept:
 * each partition's content was decoded from its own bytes, and the larger one's parts beside the
 * smaller still show that content at the right offsets (model.ts partFrom). The smaller wins
 * because a partition inside another (an isohybrid image's EFI partition, a hand-made nested
 * entry) then stays visible whichever order the table lists them in; of two alike, the later.
 * `frames` (an MBR's extended partitions) hold partitions rather than content: they are listed
 * first, never shown over a partition; `ignore` names pairs that are not overlaps (a logical
 * partition inside its extended one).
 */
export function overlapsResolved(
  ctx: DecodeContext,
  place: Place,
  regions: Region[],
  sector: bigint,
  opts: { frames?: ReadonlySet<Region>; ignore?: (a: Region, b: Region) => boolean } = {},
): Region[] {
  const frame = (r: Region) => (opts.frames?.has(r) ? 0 : 1);
  const size = (r: Region) => r.end - r.start;
  // Frames first, then the largest first; stable: alike sizes keep table order, so the later entry wins among them.
  const shown = [...regions].sort(
    (a, b) => frame(a) - frame(b) || (size(a) > size(b) ? -1 : size(a) < size(b) ? 1 : 0),
  );
  const byStart = [...regions].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const rank = new Map(shown.map((r, i) => [r, i]));
  const order = new Map(regions.map((r, i) => [r, i]));
  let named = 0;
  let more = 0;
  // Sweep by start; `open` holds the regions not yet ended. A table with many overlaps stops
  // being compared once enough are named (each comparison past that only counts).
  const open: Region[] = [];
  for (const r of byStart) {
    for (let i = open.length - 1; i >= 0; i--) if (open[i].end <= r.start) open.splice(i, 1);
    for (const o of open) {
      if (opts.ignore?.(o, r) || opts.ignore?.(r, o)) continue;
      if (named >= MAX_OVERLAPS_NAMED) {
        more++;
        continue;
      }
      const end = o.end < r.end ? o.end : r.end;
      const winner = rank.get(o)! > rank.get(r)! ? o : r;
      const [first, second] = order.get(o)! < order.get(r)! ? [o, r] : [r, o];
      ctx.budget.warn(
        `${place.where}: ${first.label} and ${second.label} overlap (sectors ${r.start / sector}–${end / sector - 1n}); ${winner.label} is shown there`,
      );
      named++;
    }
    if (more > 1000) break;
    open.push(r);
  }
  if (more) ctx.budget.warn(`${place.where}: more partitions overlap than the ${MAX_OVERLAPS_NAMED} named`);
  return shown;
}
