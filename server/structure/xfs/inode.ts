// XFS inodes (struct xfs_dinode) and their forks: the data fork maps the file's blocks, the
// attribute fork its extended attributes. A fork is inline ("local": short directories,
// symlinks), a list of extents in the inode, or the root of a block-map B+tree whose blocks
// hold the extents.

import { DecodeError } from '../model.ts';
import { BMBT, walkBtree } from './btree.ts';
import type { XfsFs } from './fs.ts';

export const S_IFMT = 0xf000;
export const S_IFDIR = 0x4000;
export const S_IFLNK = 0xa000;

const INODE_MAGIC = 0x494e; // "IN"
const DIFLAG_REALTIME = 0x1;
const DIFLAG2_NREXT64 = 0x10n;

export const FORMAT_LOCAL = 1;
export const FORMAT_EXTENTS = 2;
export const FORMAT_BTREE = 3;

export interface XfsInode {
  ino: bigint;
  mode: number;
  nlink: number;
  size: bigint;
  /** Data blocks live on the realtime device, not here. */
  realtime: boolean;
  data: Fork;
  attr: Fork | null;
}

export interface Fork {
  format: number;
  extents: number;
  /** The fork's bytes inside the inode (inline data, extent list, or B+tree root). */
  bytes: Buffer;
}

export function parseInode(b: Buffer, ino: bigint): XfsInode {
  if (b.readUInt16BE(0) !== INODE_MAGIC) throw new DecodeError(`inode ${ino} has no inode magic`);
  const version = b.readUInt8(4);
  const core = version === 3 ? 176 : 100;
  const big = version === 3 && (b.readBigUInt64BE(0x78) & DIFLAG2_NREXT64) !== 0n;
  const forkOff = b.readUInt8(0x52) * 8;
  if (core + forkOff > b.length) throw new DecodeError(`inode ${ino}: attribute fork offset out of range`);
  const dataEnd = forkOff ? core + forkOff : b.length;
  const extents = big ? b.readBigUInt64BE(0x18) : BigInt(b.readUInt32BE(0x4c));
  return {
    ino,
    mode: b.readUInt16BE(2),
    nlink: version === 1 ? b.readUInt16BE(6) : b.readUInt32BE(0x10),
    size: b.readBigUInt64BE(0x38),
    realtime: (b.readUInt16BE(0x5a) & DIFLAG_REALTIME) !== 0,
    data: {
      format: b.readUInt8(5),
      extents: extents > 0xffffffffn ? 0xffffffff : Number(extents),
      bytes: b.subarray(core, dataEnd),
    },
    attr: forkOff
      ? {
          format: b.readUInt8(0x53),
          extents: big ? b.readUInt32BE(0x4c) : b.readUInt16BE(0x50),
          bytes: b.subarray(dataEnd),
        }
      : null,
  };
}

export const isDir = (i: XfsInode) => (i.mode & S_IFMT) === S_IFDIR;
export const isSymlink = (i: XfsInode) => (i.mode & S_IFMT) === S_IFLNK;

/** File blocks [logical, logical+length) are at blocks [agbno, …) of AG `ag`. */
export interface Extent {
  logical: bigint;
  ag: number;
  agbno: number;
  length: number;
  unwritten: boolean;
}

/** A block-map B+tree block of the fork (its own block, so worth a label). */
export interface MapBlock {
  ag: number;
  agbno: number;
  level: number;
}

const MASK_63 = (1n << 63n) - 1n;

/** One 16-byte packed extent record: flag:1 | startoff:54 | startblock:52 | blockcount:21. */
function parseExtent(fs: XfsFs, b: Buffer, off: number): Extent {
  const l0 = b.readBigUInt64BE(off);
  const l1 = b.readBigUInt64BE(off + 8);
  const length = Number(l1 & 0x1fffffn);
  const fsbno = ((l0 & 0x1ffn) << 43n) | (l1 >> 21n);
  const { ag, agbno } = fs.fsb(fsbno);
  if (length === 0 || !fs.valid(ag, agbno, length))
    throw new DecodeError(`extent of ${length} blocks at ${fsbno} is outside its AG`);
  return { logical: (l0 & MASK_63) >> 9n, ag, agbno, length, unwritten: l0 >> 63n === 1n };
}

/** The extents of a fork in extents or B+tree format, and the B+tree's own blocks. */
export async function forkExtents(fs: XfsFs, fork: Fork, out: { extents: Extent[]; maps: MapBlock[] }): Promise<void> {
  if (fork.format === FORMAT_EXTENTS) {
    if (fork.extents * 16 > fork.bytes.length) throw new DecodeError(`${fork.extents} extents do not fit the inode`);
    for (let i = 0; i < fork.extents; i++) out.extents.push(parseExtent(fs, fork.bytes, i * 16));
    return;
  }
  if (fork.format !== FORMAT_BTREE) return;
  // The root in the inode (xfs_bmdr_block): level, numrecs, keys, then pointers after room for
  // as many keys as the fork could hold.
  const level = fork.bytes.readUInt16BE(0);
  const numrecs = fork.bytes.readUInt16BE(2);
  const maxrecs = Math.floor((fork.bytes.length - 4) / 16);
  if (level < 1 || numrecs < 1 || numrecs > maxrecs) throw new DecodeError('block-map root out of range');
  const ptrs: bigint[] = [];
  for (let i = 0; i < numrecs; i++) ptrs.push(fork.bytes.readBigUInt64BE(4 + maxrecs * 8 + i * 8));
  await walkBtree(
    fs,
    BMBT,
    0,
    ptrs,
    level - 1,
    {
      onBlock: ({ ag, agbno }, lvl) => out.maps.push({ ag, agbno, level: lvl }),
      onLeaf: (b, first, count) => {
        for (let i = 0; i < count; i++) out.extents.push(parseExtent(fs, b, first + i * 16));
      },
    },
    null,
  );
}
