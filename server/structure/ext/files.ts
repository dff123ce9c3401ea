// Every in-use inode's blocks, named by path: walk the inode tables (only the initialised part
// of each group, as the bitmaps say), map each inode's blocks through its extent tree or block
// map, read the directories to learn names, then label data, directory and mapping blocks.

import type { Region } from '../model.ts';
import { pathOf } from '../paths.ts';
import { DecodeError } from '../model.ts';
import type { ExtFs } from './fs.ts';
import { parseDirBlock } from './dir.ts';
import { isDir, inUse, parseInode, walkInodeBlocks, type DataRun, type Inode } from './inode.ts';
import { BG_INODE_UNINIT, INCOMPAT_FILETYPE } from './superblock.ts';

const RO_COMPAT_GDT_CSUM = 0x10;
const RO_COMPAT_METADATA_CSUM = 0x400;
const ROOT_INO = 2;
const RESIZE_INO = 7;

/** Names of the reserved inodes that no directory lists. */
const SPECIAL: Record<number, string> = {
  1: 'bad blocks inode',
  3: 'user quota',
  4: 'group quota',
  5: 'boot loader inode',
  6: 'undelete directory',
  7: 'resize inode',
  8: 'journal',
  9: 'exclude bitmap',
  10: 'replica inode',
};

interface Walked {
  inode: Inode;
  runs: DataRun[];
  maps: Array<{ block: number; what: string }>;
}

async function walkInodes(fs: ExtFs): Promise<Map<number, Walked>> {
  const { sb, ctx } = fs;
  const csum = (sb.roCompat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM)) !== 0;
  const perBlock = sb.blockSize / sb.inodeSize;
  const found = new Map<number, Walked>();
  let visited = 0;
  for (let g = 0; g < sb.groupCount; g++) {
    const d = fs.groups[g];
    if (csum && d.flags & BG_INODE_UNINIT) continue;
    const initialised = csum ? Math.max(0, sb.inodesPerGroup - d.itableUnused) : sb.inodesPerGroup;
    if (initialised === 0 || !fs.valid(d.inodeBitmap)) continue;
    const bitmap = await fs.readBlock(d.inodeBitmap);
    let table: Buffer | null = null;
    let tableBlock = -1;
    for (let i = 0; i < initialised; i++) {
      if (!((bitmap[i >> 3] >> (i & 7)) & 1)) continue;
      const blk = d.inodeTable + Math.floor(i / perBlock);
      if (blk !== tableBlock) {
        if (!fs.valid(blk)) break;
        table = await fs.readBlock(blk);
        tableBlock = blk;
      }
      const number = g * sb.inodesPerGroup + i + 1;
      const inode = parseInode(table!, (i % perBlock) * sb.inodeSize, number);
      if (!inUse(inode)) continue;
      if (++visited > ctx.budget.maxFiles) {
        ctx.budget.truncated = true;
        ctx.budget.warn(`${fs.place.where}: more than ${ctx.budget.maxFiles} inodes; the rest are not itemised`);
        return found;
      }
      const w: Walked = { inode, runs: [], maps: [] };
      found.set(number, w);
      if (number === RESIZE_INO) {
        // Its block map points at the reserved GDT blocks (labelled as such); only the
        // double-indirect block is its own.
        const dind = inode.iblock.readUInt32LE(13 * 4);
        if (dind && fs.valid(dind)) w.maps.push({ block: dind, what: 'double-indirect block' });
        continue;
      }
      try {
        await walkInodeBlocks(inode, {
          readBlock: (n) => fs.readBlock(n),
          blockSize: sb.blockSize,
          blocksCount: sb.blocksCount,
          onMapBlock: (block, what) => w.maps.push({ block, what }),
          onData: (run) => w.runs.push({ ...run }),
          spent: () => ctx.budget.truncated,
        });
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        ctx.budget.warn(`${fs.place.where}: inode ${number}: ${err.message}`);
      }
      await ctx.budget.breathe();
    }
  }
  return found;
}

/** child inode → its first (parent, name) as the directories list them. */
async function readNames(
  fs: ExtFs,
  inodes: Map<number, Walked>,
): Promise<Map<number, { parent: number; name: string }>> {
  const names = new Map<number, { parent: number; name: string }>();
  const hasType = (fs.sb.incompat & INCOMPAT_FILETYPE) !== 0;
  for (const [ino, w] of inodes) {
    if (!isDir(w.inode)) continue;
    for (const run of w.runs) {
      if (run.unwritten) continue;
      for (let k = 0; k < run.length; k++) {
        for (const e of parseDirBlock(await fs.readBlock(run.physical + k), hasType)) {
          if (e.name === '.' || e.name === '..' || names.has(e.inode)) continue;
          names.set(e.inode, { parent: ino, name: e.name });
        }
      }
      await fs.ctx.budget.breathe();
    }
  }
  return names;
}

export async function fileRegions(fs: ExtFs): Promise<Region[]> {
  const inodes = await walkInodes(fs);
  const names = await readNames(fs, inodes);
  const bs = BigInt(fs.blockSize);
  const out: Region[] = [];
  for (const [ino, w] of inodes) {
    const path = pathOf(ino, ROOT_INO, names);
    const journal = ino === fs.sb.journalInum;
    const name = path ?? SPECIAL[ino] ?? `inode ${ino} (in no directory)`;
    const dir = isDir(w.inode);
    const object = fs.ctx.object({
      id: `${fs.place.id}.i${ino}`,
      kind: journal ? 'journal' : dir ? 'directory' : 'file',
      label: journal ? 'journal' : dir ? `${name}${name.endsWith('/') ? '' : '/'}` : name,
      where: fs.place.where,
    });
    for (const run of w.runs) {
      if (!fs.valid(run.physical + run.length - 1)) continue;
      if (journal && run.logical === 0) {
        // The journal's first block is its superblock (jbd2): worth its own label.
        out.push({
          start: fs.byte(run.physical),
          end: fs.byte(run.physical + 1),
          kind: 'journal',
          label: 'journal superblock',
          object,
        });
        if (run.length === 1) continue;
        run.physical++;
        run.logical++;
        run.length--;
      }
      const base = BigInt(run.logical) * bs;
      const unwritten = run.unwritten ? ', unwritten' : '';
      out.push({
        start: fs.byte(run.physical),
        end: fs.byte(run.physical + run.length),
        kind: journal ? 'journal' : dir ? 'directory' : 'file',
        label: journal ? 'journal' : dir ? `directory ${name}` : name,
        object,
        describe: journal
          ? undefined
          : dir
            ? () => `directory ${name} (inode ${ino})`
            : (a, b) => `${name}, bytes ${base + a}–${base + b - 1n} (inode ${ino}${unwritten})`,
      });
    }
    for (const m of w.maps)
      out.push({
        start: fs.byte(m.block),
        end: fs.byte(m.block + 1),
        kind: 'file-map',
        label: `${m.what} of ${name}`,
        object,
      });
    if (w.inode.xattrBlock && fs.valid(w.inode.xattrBlock))
      out.push({
        start: fs.byte(w.inode.xattrBlock),
        end: fs.byte(w.inode.xattrBlock + 1),
        kind: 'file-map',
        label: `extended attributes of ${name}`,
        object,
      });
  }
  return out;
}
