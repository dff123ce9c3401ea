// ext inodes and the two ways they map file blocks: extent trees (ext4; index nodes in their
// own blocks) and classic block maps (ext2/3; direct, indirect, double and triple indirect).
// The walk reports data runs and the mapping blocks themselves, so both can be labelled.

import { DecodeError } from '../model.ts';

export const S_IFMT = 0xf000;
export const S_IFDIR = 0x4000;
export const S_IFREG = 0x8000;
export const S_IFLNK = 0xa000;
const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const HUGE_FILE_FL = 0x40000;
const EXTENT_MAGIC = 0xf30a;

export interface Inode {
  number: number;
  mode: number;
  size: number;
  links: number;
  flags: number;
  /** 512-byte sectors (or fs blocks with huge_file + HUGE_FILE_FL). */
  blocks: number;
  /** i_block: 60 bytes of block map, extent root or inline data. */
  iblock: Buffer;
  /** Extended-attribute block, 0 if none. */
  xattrBlock: number;
  dtime: number;
}

export function parseInode(b: Buffer, off: number, number: number): Inode {
  const sizeHi = b.readUInt32LE(off + 0x6c);
  return {
    number,
    mode: b.readUInt16LE(off),
    size: b.readUInt32LE(off + 0x4) + sizeHi * 2 ** 32,
    links: b.readUInt16LE(off + 0x1a),
    blocks: b.readUInt32LE(off + 0x1c) + b.readUInt16LE(off + 0x74) * 2 ** 32,
    flags: b.readUInt32LE(off + 0x20),
    iblock: b.subarray(off + 0x28, off + 0x28 + 60),
    xattrBlock: b.readUInt32LE(off + 0x68) + b.readUInt16LE(off + 0x76) * 2 ** 32,
    dtime: b.readUInt32LE(off + 0x14),
  };
}

export const isDir = (i: Inode) => (i.mode & S_IFMT) === S_IFDIR;
export const isReg = (i: Inode) => (i.mode & S_IFMT) === S_IFREG;
export const isSymlink = (i: Inode) => (i.mode & S_IFMT) === S_IFLNK;
export const inUse = (i: Inode) => i.mode !== 0 && (i.links > 0 || i.number < 12) && i.dtime === 0;

/** Does the inode map blocks at all (not inline data, not a fast symlink, not a device)? */
export function mapsBlocks(i: Inode): boolean {
  if (i.flags & INLINE_DATA_FL) return false;
  const fmt = i.mode & S_IFMT;
  // A fast symlink keeps its target in i_block (e2fsprogs: size < 60).
  if (fmt === S_IFLNK) return i.size >= 60;
  if (fmt !== S_IFREG && fmt !== S_IFDIR && i.number >= 12) return false;
  return true;
}

/** Data run: file blocks [logical, logical+length) are at fs blocks [physical, …). */
export interface DataRun {
  logical: number;
  physical: number;
  length: number;
  unwritten: boolean;
}

export interface BlockWalker {
  readBlock(n: number): Promise<Buffer>;
  blockSize: number;
  blocksCount: number;
  /** A mapping block (extent index/leaf node, indirect block). */
  onMapBlock(block: number, what: string): void;
  onData(run: DataRun): void;
  /** Stop walking (budget). */
  spent(): boolean;
}

export async function walkInodeBlocks(i: Inode, w: BlockWalker): Promise<void> {
  if (!mapsBlocks(i)) return;
  if (i.flags & EXTENTS_FL) await walkExtentNode(i.iblock, w, 0, true);
  else await walkBlockMap(i, w);
}

async function walkExtentNode(node: Buffer, w: BlockWalker, depthSeen: number, root: boolean): Promise<void> {
  if (node.readUInt16LE(0) !== EXTENT_MAGIC) throw new DecodeError('extent node without magic');
  const entries = node.readUInt16LE(2);
  const max = node.readUInt16LE(4);
  const depth = node.readUInt16LE(6);
  if (entries > max || depth > 5 || depthSeen > 5 || 12 + entries * 12 > node.length)
    throw new DecodeError('extent node header out of range');
  void root;
  for (let k = 0; k < entries && !w.spent(); k++) {
    const e = 12 + k * 12;
    if (depth === 0) {
      const logical = node.readUInt32LE(e);
      let len = node.readUInt16LE(e + 4);
      const unwritten = len > 32768;
      if (unwritten) len -= 32768;
      const physical = node.readUInt16LE(e + 6) * 2 ** 32 + node.readUInt32LE(e + 8);
      if (physical + len > w.blocksCount) throw new DecodeError(`extent beyond the filesystem (block ${physical})`);
      w.onData({ logical, physical, length: len, unwritten });
    } else {
      const leaf = node.readUInt32LE(e + 4) + node.readUInt16LE(e + 8) * 2 ** 32;
      if (leaf >= w.blocksCount) throw new DecodeError(`extent index beyond the filesystem (block ${leaf})`);
      w.onMapBlock(leaf, depth === 1 ? 'extent tree leaf' : 'extent tree index');
      await walkExtentNode(await w.readBlock(leaf), w, depthSeen + 1, false);
    }
  }
}

async function walkBlockMap(i: Inode, w: BlockWalker): Promise<void> {
  const perBlock = w.blockSize / 4;
  let logical = 0;
  let run: DataRun | null = null;
  const data = (physical: number) => {
    if (physical !== 0 && physical >= w.blocksCount) throw new DecodeError(`block map entry beyond the filesystem`);
    if (physical !== 0 && run && run.physical + run.length === physical && run.logical + run.length === logical) {
      run.length++;
    } else {
      if (run) w.onData(run);
      run = physical !== 0 ? { logical, physical, length: 1, unwritten: false } : null;
    }
    logical++;
  };
  for (let k = 0; k < 12; k++) data(i.iblock.readUInt32LE(k * 4));
  const names = ['indirect block', 'double-indirect block', 'triple-indirect block'];
  const walk = async (block: number, level: number): Promise<void> => {
    if (block === 0) {
      if (run) w.onData(run);
      run = null;
      logical += perBlock ** (level + 1);
      return;
    }
    if (block >= w.blocksCount) throw new DecodeError('indirect block beyond the filesystem');
    w.onMapBlock(block, names[level]);
    const b = await w.readBlock(block);
    for (let k = 0; k < perBlock && !w.spent(); k++) {
      const p = b.readUInt32LE(k * 4);
      if (level === 0) data(p);
      else await walk(p, level - 1);
    }
  };
  const fileBlocks = Math.ceil(i.size / w.blockSize);
  for (let level = 0; level < 3; level++) {
    if (logical >= fileBlocks && i.iblock.readUInt32LE((12 + level) * 4) === 0) break;
    await walk(i.iblock.readUInt32LE((12 + level) * 4), level);
  }
  if (run) w.onData(run);
}

/** Bytes of a file's allocation, for the size shown in the panel. */
export function allocatedBytes(i: Inode, blockSize: number, hugeFile: boolean): number {
  if (hugeFile && i.flags & HUGE_FILE_FL) return i.blocks * blockSize;
  return i.blocks * 512;
}
