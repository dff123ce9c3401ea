// The XFS decoder: per allocation group its headers, B+trees, free space and inode chunks; the
// internal log; every file and directory by path. Only metadata is read (AG headers, B+tree
// blocks, inodes, directory blocks); file data never is.

import type { Decoder } from '../context.ts';
import { fillGaps, linear, normalise, type Region } from '../model.ts';
import { agContents, logRegion } from './ag.ts';
import { fileRegions } from './files.ts';
import { XfsFs } from './fs.ts';

export const decodeXfs: Decoder = async (src, ctx, place) => {
  const fs = await XfsFs.open(src, ctx, place);
  if (!fs) return null;
  const name = `XFS${fs.sb.label ? ` "${fs.sb.label}"` : ''}`;
  ctx.object({ id: fs.place.id, kind: 'filesystem', label: name, where: place.where });
  const ag = await agContents(fs);
  const log = logRegion(fs);
  // Later regions win where they overlap: free space, then AG metadata and the log, then inodes, then files.
  const regions: Region[] = normalise([
    ...ag.free,
    ...ag.meta,
    ...(log ? [log] : []),
    ...ag.inodes,
    ...(await fileRegions(fs, ag.chunks)),
  ]);
  const fsEnd = fs.end < src.size ? fs.end : src.size;
  const filled = fillGaps(regions, 0n, fsEnd, {
    kind: 'reserved',
    label: ctx.budget.truncated ? 'in use (not itemised)' : 'in use (no owner found)',
  });
  if (fsEnd < src.size) filled.push({ start: fsEnd, end: src.size, kind: 'reserved', label: 'after the filesystem' });
  return { name, space: linear(filled), object: fs.place.id };
};
