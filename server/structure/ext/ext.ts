// The ext2/3/4 decoder: group metadata, free space, files and directories by path, the journal.
// Only metadata is read (superblock, descriptors, bitmaps, inode tables, directories, extent
// index and indirect blocks); file data never is.

import type { Decoder } from '../context.ts';
import { fillGaps, linear, normalise } from '../model.ts';
import { fileRegions } from './files.ts';
import { ExtFs } from './fs.ts';
import { freeRegions, groupRegions } from './groups.ts';

export const decodeExt: Decoder = async (src, ctx, place) => {
  const fs = await ExtFs.open(src, ctx, place);
  if (!fs) return null;
  const { sb } = fs;
  ctx.object({
    id: fs.place.id,
    kind: 'filesystem',
    label: `${sb.flavour}${sb.volumeName ? ` "${sb.volumeName}"` : ''}`,
    where: place.where,
  });
  // Later regions win where they overlap: free space first, then group metadata, then files.
  const regions = normalise([...(await freeRegions(fs)), ...groupRegions(fs), ...(await fileRegions(fs))]);
  const fsEnd = fs.byte(sb.blocksCount) < src.size ? fs.byte(sb.blocksCount) : src.size;
  const filled = fillGaps(regions, 0n, fsEnd, {
    kind: 'reserved',
    label: ctx.budget.truncated ? 'in use (not itemised)' : 'in use (no owner found)',
  });
  if (fsEnd < src.size) filled.push({ start: fsEnd, end: src.size, kind: 'reserved', label: 'after the filesystem' });
  const name = `${sb.flavour}${sb.volumeName ? ` "${sb.volumeName}"` : ''}`;
  return { name, space: linear(filled), object: fs.place.id };
};
