// The fixed metadata of every block group — superblock copies, group descriptors and reserved
// GDT blocks, block/inode bitmaps, inode tables — and the free space the block bitmaps record.
// Locations come from the descriptors, so flex_bg (several groups' bitmaps and tables packed
// together in one group, as today's mke2fs does) needs no special case.

import type { Region } from '../model.ts';
import type { ExtFs } from './fs.ts';
import {
  BG_BLOCK_UNINIT,
  INCOMPAT_META_BG,
  descsPerBlock,
  gdtBlocks,
  groupBlockCount,
  groupFirstBlock,
  groupHasSuper,
} from './superblock.ts';

export function groupRegions(fs: ExtFs): Region[] {
  const { sb, ctx } = fs;
  const obj = (key: string, label: string, kind: Region['kind']) =>
    ctx.object({ id: `${fs.place.id}.${key}`, kind, label, where: fs.place.where });
  const superObj = obj('superblocks', 'superblocks', 'superblock');
  const gdtObj = obj('gdt', 'group descriptors', 'group-descriptors');
  const bitmapObj = obj('bitmaps', 'block and inode bitmaps', 'bitmap');
  const itableObj = obj('itables', 'inode tables', 'inode-table');
  const out: Region[] = [];
  const blocks = (first: number, count: number, kind: Region['kind'], label: string, object: string, g?: number) => {
    if (count <= 0) return;
    out.push({
      start: fs.byte(first),
      end: fs.byte(first + count),
      kind,
      label,
      object,
      ...(g !== undefined ? { prefix: [`group ${g}`] } : {}),
    });
  };
  const metaBg = (sb.incompat & INCOMPAT_META_BG) !== 0;
  const nGdt = metaBg ? Math.min(gdtBlocks(sb), sb.firstMetaBg) : gdtBlocks(sb);
  const itableBlocks = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / sb.blockSize);

  for (let g = 0; g < sb.groupCount; g++) {
    const first = groupFirstBlock(sb, g);
    if (groupHasSuper(sb, g)) {
      if (g === 0) {
        if (sb.blockSize === 1024) blocks(0, 1, 'reserved', 'boot block', superObj);
        blocks(
          first,
          1,
          'superblock',
          sb.blockSize === 1024 ? 'superblock' : 'superblock (block 0: boot area + superblock)',
          superObj,
        );
      } else blocks(first, 1, 'superblock', `backup superblock (group ${g})`, superObj);
      const which = g === 0 ? '' : `backup `;
      blocks(first + 1, nGdt, 'group-descriptors', `${which}group descriptors${g ? ` (group ${g})` : ''}`, gdtObj);
      if (!metaBg || sb.firstMetaBg > 0)
        blocks(
          first + 1 + nGdt,
          sb.reservedGdtBlocks,
          'group-descriptors',
          `${which}reserved GDT blocks${g ? ` (group ${g})` : ''}`,
          gdtObj,
        );
    }
    if (metaBg) {
      // meta_bg: descriptor block of meta group m sits in groups m·D, m·D+1 and m·D+D−1.
      const D = descsPerBlock(sb);
      const m = Math.floor(g / D);
      // The last meta group's block has slots for groups the filesystem does not have.
      const last = Math.min(m * D + D, sb.groupCount) - 1;
      if (m >= sb.firstMetaBg && (g % D === 0 || g % D === 1 || g % D === D - 1))
        blocks(
          first + (groupHasSuper(sb, g) ? 1 : 0),
          1,
          'group-descriptors',
          last > m * D ? `group descriptors of groups ${m * D}–${last}` : `group descriptor of group ${last}`,
          gdtObj,
        );
    }
    const d = fs.groups[g];
    blocks(d.blockBitmap, 1, 'bitmap', 'block bitmap', bitmapObj, g);
    blocks(d.inodeBitmap, 1, 'bitmap', 'inode bitmap', bitmapObj, g);
    blocks(d.inodeTable, itableBlocks, 'inode-table', 'inode table', itableObj, g);
  }
  return out;
}

/** Free runs from the block bitmaps (BLOCK_UNINIT groups: free except their own metadata). */
export async function freeRegions(fs: ExtFs): Promise<Region[]> {
  const { sb } = fs;
  const out: Region[] = [];
  const label = {
    kind: 'free' as const,
    label: 'free',
    object: fs.ctx.object({ id: `${fs.place.id}.free`, kind: 'free', label: 'free space', where: fs.place.where }),
  };
  let runStart = -1;
  const flush = (end: number) => {
    if (runStart >= 0) out.push({ ...label, start: fs.byte(runStart), end: fs.byte(end) });
    runStart = -1;
  };
  for (let g = 0; g < sb.groupCount; g++) {
    const first = groupFirstBlock(sb, g);
    const count = groupBlockCount(sb, g);
    const d = fs.groups[g];
    if (d.flags & BG_BLOCK_UNINIT) {
      // Everything not claimed by the group's metadata is free; metadata regions win later.
      if (runStart < 0) runStart = first;
      continue;
    }
    if (d.blockBitmap >= sb.blocksCount) {
      flush(first);
      continue;
    }
    const bitmap = await fs.readBlock(d.blockBitmap);
    for (let i = 0; i < count; i++) {
      const used = (bitmap[i >> 3] >> (i & 7)) & 1;
      if (used) flush(first + i);
      else if (runStart < 0) runStart = first + i;
    }
    await fs.ctx.budget.breathe();
  }
  flush(sb.blocksCount);
  return out;
}
