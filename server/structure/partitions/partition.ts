// One partition of any table: its region on the disk, its object for the panel, and whatever
// the probe recognises inside it (a filesystem, an md member, an LVM PV, another table).

import { contentSpace, type DecodeContext, type Place } from '../context.ts';
import type { Region } from '../model.ts';
import { SliceSource, type ByteSource } from '../source.ts';

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
  const content = await ctx.probe(new SliceSource(src, start, end - start), ctx, inner);
  return {
    start,
    end,
    kind: 'container',
    label,
    object,
    inner: content ? contentSpace(content, end - start) : undefined,
  };
}
