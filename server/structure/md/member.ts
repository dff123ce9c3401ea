// One md member device: its superblock, write-intent bitmap, bad-block log and headroom, and
// its data area — whose meaning (data of which array block, parity of which stripe) is filled
// in once the array is assembled from all members (array.ts).

import type { Decoder } from '../context.ts';
import { linear, type Region } from '../model.ts';
import { LEVEL_NAMES, bitmapBytes, findMdSuperblock, type MdSuperblock } from './superblock.ts';

export function memberLabel(sb: MdSuperblock): string {
  if (sb.role === 'spare') return `${sb.name} spare`;
  if (sb.role === 'faulty') return `${sb.name} member (faulty)`;
  if (sb.role === 'journal') return `${sb.name} journal device`;
  return `${sb.name} member (role ${sb.role})`;
}

export const mdMemberKey = (sb: MdSuperblock) => `md:${sb.uuid}:${sb.devNumber}`;

export const decodeMdMember: Decoder = async (src, ctx, place) => {
  const sb = await findMdSuperblock(src);
  if (!sb) return null;
  const key = mdMemberKey(sb);
  ctx.members.push({ kind: 'md', key, source: src, place, sb });
  const object = ctx.object({
    id: `md:${sb.uuid}.superblocks`,
    kind: 'md-superblock',
    label: `${sb.name} superblocks`,
    where: `${sb.name} (${LEVEL_NAMES[sb.level] ?? `level ${sb.level}`})`,
  });
  const dataEnd = sb.dataOffset + (sb.usedBytes > 0n ? sb.usedBytes : 0n);
  const regions: Region[] = [
    { start: 0n, end: src.size, kind: 'reserved', label: 'md reserved space' },
    {
      start: sb.superOffset,
      end: sb.superOffset + sb.superBytes,
      kind: 'md-superblock',
      label: `md superblock (v${sb.version})`,
      object,
    },
  ];
  if (sb.bitmap) {
    const bytes = await bitmapBytes(src, sb);
    regions.push({
      start: sb.bitmap.offset,
      end: sb.bitmap.offset + bytes,
      kind: 'md-superblock',
      label: 'md write-intent bitmap',
      object,
    });
  }
  if (sb.badBlockLog)
    regions.push({
      start: sb.badBlockLog.offset,
      end: sb.badBlockLog.offset + sb.badBlockLog.bytes,
      kind: 'md-superblock',
      label: 'md bad-block log',
      object,
    });
  if (sb.role !== 'journal' && dataEnd <= src.size && sb.usedBytes > 0n)
    regions.push({
      start: sb.dataOffset,
      end: dataEnd,
      kind: sb.role === 'spare' ? 'reserved' : 'container',
      label: sb.role === 'spare' ? 'data area (idle spare)' : '',
      inner:
        sb.role === 'spare'
          ? undefined
          : { type: 'member', key, fallback: `${sb.name} data area (array not assembled)` },
    });
  // The array's object: picking md0 lights up every member (registered by the assembly).
  return { name: memberLabel(sb), space: linear(regions), object: `md:${sb.uuid}` };
};
