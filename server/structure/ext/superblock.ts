// ext2/3/4 superblock and group descriptors (field offsets from the kernel's struct
// ext4_super_block / ext4_group_desc; little-endian). Block numbers fit a JS number: ext4's
// 64-bit block numbers are 48-bit in practice (2^48 blocks × 64 KiB < 2^53 bytes is not
// guaranteed, so byte offsets are always computed as bigint).

import { DecodeError } from '../model.ts';

export const EXT_MAGIC = 0xef53;

export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_RESIZE_INODE = 0x10;
export const COMPAT_SPARSE_SUPER2 = 0x200;
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_JOURNAL_DEV = 0x8;
export const INCOMPAT_META_BG = 0x10;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_FLEX_BG = 0x200;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_HUGE_FILE = 0x8;
export const RO_COMPAT_BIGALLOC = 0x200;

export interface ExtSuperblock {
  inodesCount: number;
  blocksCount: number;
  firstDataBlock: number;
  blockSize: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodeSize: number;
  firstIno: number;
  compat: number;
  incompat: number;
  roCompat: number;
  volumeName: string;
  uuid: string;
  reservedGdtBlocks: number;
  journalInum: number;
  descSize: number;
  firstMetaBg: number;
  logGroupsPerFlex: number;
  backupBgs: [number, number];
  groupCount: number;
  /** "ext2", "ext3" or "ext4", as blkid would say. */
  flavour: 'ext2' | 'ext3' | 'ext4';
}

export function parseSuperblock(b: Buffer): ExtSuperblock {
  if (b.readUInt16LE(0x38) !== EXT_MAGIC) throw new DecodeError('no ext superblock magic');
  const logBlock = b.readUInt32LE(0x18);
  if (logBlock > 6) throw new DecodeError(`ext block size 2^${10 + logBlock} is out of range`);
  const blockSize = 1024 << logBlock;
  const incompat = b.readUInt32LE(0x60);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const blocksCount = b.readUInt32LE(0x4) + (is64 ? b.readUInt32LE(0x150) * 2 ** 32 : 0);
  const blocksPerGroup = b.readUInt32LE(0x20);
  const inodesPerGroup = b.readUInt32LE(0x28);
  const firstDataBlock = b.readUInt32LE(0x14);
  const rev = b.readUInt32LE(0x4c);
  if (blocksPerGroup === 0 || inodesPerGroup === 0 || blocksPerGroup > blockSize * 8)
    throw new DecodeError('ext superblock: group sizes out of range');
  if (blocksCount <= firstDataBlock) throw new DecodeError('ext superblock: block count out of range');
  const inodeSize = rev === 0 ? 128 : b.readUInt16LE(0x58);
  if (inodeSize < 128 || inodeSize > blockSize || inodeSize & (inodeSize - 1))
    throw new DecodeError(`ext superblock: inode size ${inodeSize} out of range`);
  const compat = b.readUInt32LE(0x5c);
  const roCompat = b.readUInt32LE(0x64);
  const descSize = is64 ? Math.max(32, b.readUInt16LE(0xfe)) : 32;
  const uuidHex = b.subarray(0x68, 0x78).toString('hex');
  const uuid = `${uuidHex.slice(0, 8)}-${uuidHex.slice(8, 12)}-${uuidHex.slice(12, 16)}-${uuidHex.slice(16, 20)}-${uuidHex.slice(20)}`;
  const flavour =
    incompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG)
      ? 'ext4'
      : compat & COMPAT_HAS_JOURNAL
        ? 'ext3'
        : 'ext2';
  return {
    inodesCount: b.readUInt32LE(0x0),
    blocksCount,
    firstDataBlock,
    blockSize,
    blocksPerGroup,
    inodesPerGroup,
    inodeSize,
    firstIno: rev === 0 ? 11 : b.readUInt32LE(0x54),
    compat,
    incompat,
    roCompat,
    volumeName: b.toString('latin1', 0x78, 0x88).replace(/\0.*$/s, ''),
    uuid,
    reservedGdtBlocks: b.readUInt16LE(0xce),
    journalInum: compat & COMPAT_HAS_JOURNAL ? b.readUInt32LE(0xe0) : 0,
    descSize,
    firstMetaBg: b.readUInt32LE(0x104),
    logGroupsPerFlex: b.readUInt8(0x174),
    backupBgs: [b.readUInt32LE(0x24c), b.readUInt32LE(0x250)],
    groupCount: Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup),
    flavour,
  };
}

export interface GroupDesc {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  flags: number;
  itableUnused: number;
}

export const BG_INODE_UNINIT = 0x1;
export const BG_BLOCK_UNINIT = 0x2;

export function parseGroupDesc(b: Buffer, off: number, descSize: number): GroupDesc {
  const hi = descSize >= 64;
  const lohi = (lo: number, hiOff: number) =>
    b.readUInt32LE(off + lo) + (hi ? b.readUInt32LE(off + hiOff) * 2 ** 32 : 0);
  return {
    blockBitmap: lohi(0x0, 0x20),
    inodeBitmap: lohi(0x4, 0x24),
    inodeTable: lohi(0x8, 0x28),
    flags: b.readUInt16LE(off + 0x12),
    itableUnused: b.readUInt16LE(off + 0x1c) + (hi ? b.readUInt16LE(off + 0x32) * 65536 : 0),
  };
}

const isPowerOf = (n: number, base: number) => {
  if (n < 1) return false;
  while (n % base === 0) n /= base;
  return n === 1;
};

/** Does group g carry a superblock copy (and, without meta_bg, the descriptor table)? */
export function groupHasSuper(sb: ExtSuperblock, g: number): boolean {
  if (g === 0) return true;
  if (sb.compat & COMPAT_SPARSE_SUPER2) return g === sb.backupBgs[0] || g === sb.backupBgs[1];
  if (!(sb.roCompat & RO_COMPAT_SPARSE_SUPER)) return true;
  if (g === 1) return true;
  return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

export const groupFirstBlock = (sb: ExtSuperblock, g: number) => sb.firstDataBlock + g * sb.blocksPerGroup;
export const groupBlockCount = (sb: ExtSuperblock, g: number) =>
  Math.min(sb.blocksPerGroup, sb.blocksCount - groupFirstBlock(sb, g));
export const descsPerBlock = (sb: ExtSuperblock) => sb.blockSize / sb.descSize;
/** Blocks of the (non-meta_bg) group descriptor table. */
export const gdtBlocks = (sb: ExtSuperblock) => Math.ceil(sb.groupCount / descsPerBlock(sb));

/**
 * Where the descriptors of every group are: block numbers of descriptor block i (i = 0 …) in
 * the primary copy. With meta_bg, descriptor blocks past first_meta_bg live in their meta group.
 */
export function primaryDescriptorBlocks(sb: ExtSuperblock): number[] {
  const n = gdtBlocks(sb);
  const out: number[] = [];
  const metaBg = (sb.incompat & INCOMPAT_META_BG) !== 0;
  for (let i = 0; i < n; i++) {
    if (!metaBg || i < sb.firstMetaBg) out.push(sb.firstDataBlock + 1 + i);
    else {
      const g = i * descsPerBlock(sb);
      out.push(groupFirstBlock(sb, g) + (groupHasSuper(sb, g) ? 1 : 0));
    }
  }
  return out;
}
