// The XFS superblock (struct xfs_dsb in the kernel's fs/xfs/libxfs/xfs_format.h; big-endian).
// Every allocation group (AG) starts with a copy; AG 0's is the primary. Block and inode numbers
// are kept as bigint where the format makes them 64-bit; AG-relative numbers are 32-bit.

import { DecodeError } from '../model.ts';

export const XFS_MAGIC = 0x58465342; // "XFSB"

const RO_COMPAT_FINOBT = 0x1;
const RO_COMPAT_RMAPBT = 0x2;
const RO_COMPAT_REFLINK = 0x4;
const INCOMPAT_FTYPE = 0x1;
const INCOMPAT_SPINODES = 0x2;
const INCOMPAT_NREXT64 = 0x20;
const VERSION2_FTYPE = 0x200; // v4: sb_features2

export interface XfsSuperblock {
  /** 4 (no checksums) or 5 (CRC metadata, as mkfs.xfs makes today). */
  version: 4 | 5;
  blockSize: number;
  dblocks: bigint;
  agBlocks: number;
  agCount: number;
  /** log2 of agBlocks rounded up: AG numbers sit above this many bits in a filesystem block number. */
  agBlockLog: number;
  sectSize: number;
  inodeSize: number;
  inodesPerBlock: number;
  inodesPerBlockLog: number;
  /** Filesystem block number of the internal log; 0 when the log is on another device. */
  logStart: bigint;
  logBlocks: number;
  rootIno: bigint;
  rbmIno: bigint;
  rsumIno: bigint;
  quotaInos: Array<[bigint, string]>;
  /** Directory blocks are this many bytes (a power-of-two number of filesystem blocks). */
  dirBlockSize: number;
  finobt: boolean;
  rmapbt: boolean;
  reflink: boolean;
  /** Directory entries carry a file type byte. */
  ftype: boolean;
  sparseInodes: boolean;
  nrext64: boolean;
  label: string;
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

export function parseSuperblock(b: Buffer): XfsSuperblock {
  if (b.readUInt32BE(0) !== XFS_MAGIC) throw new DecodeError('no XFS superblock magic');
  const blockSize = b.readUInt32BE(0x04);
  const dblocks = b.readBigUInt64BE(0x08);
  const agBlocks = b.readUInt32BE(0x54);
  const agCount = b.readUInt32BE(0x58);
  const versionNum = b.readUInt16BE(0x64);
  const sectSize = b.readUInt16BE(0x66);
  const inodeSize = b.readUInt16BE(0x68);
  const inodesPerBlock = b.readUInt16BE(0x6a);
  const blockLog = b.readUInt8(0x78);
  const inodesPerBlockLog = b.readUInt8(0x7b);
  const agBlockLog = b.readUInt8(0x7c);
  const dirBlockLog = b.readUInt8(0xc0);
  const version = versionNum & 0xf;
  if (version !== 4 && version !== 5) throw new DecodeError(`XFS superblock version ${version} is not 4 or 5`);
  if (!isPow2(blockSize) || blockSize < 512 || blockSize > 65536 || 1 << blockLog !== blockSize)
    throw new DecodeError(`XFS block size ${blockSize} is out of range`);
  if (!isPow2(sectSize) || sectSize < 512 || sectSize > 32768 || sectSize > blockSize)
    throw new DecodeError(`XFS sector size ${sectSize} is out of range`);
  if (!isPow2(inodeSize) || inodeSize < 256 || inodeSize > 2048 || inodeSize > blockSize)
    throw new DecodeError(`XFS inode size ${inodeSize} is out of range`);
  if (inodesPerBlock !== blockSize / inodeSize || 1 << inodesPerBlockLog !== inodesPerBlock)
    throw new DecodeError('XFS superblock: inodes per block disagree with the sizes');
  if (agBlocks < 5 || agCount < 1 || agBlockLog > 31 || 2 ** agBlockLog < agBlocks || 2 ** (agBlockLog - 1) >= agBlocks)
    throw new DecodeError('XFS superblock: allocation group geometry out of range');
  const full = BigInt(agCount) * BigInt(agBlocks);
  if (dblocks > full || dblocks <= full - BigInt(agBlocks))
    throw new DecodeError(`XFS superblock: ${dblocks} blocks do not fill ${agCount} groups of ${agBlocks}`);
  if (dirBlockLog > 16 || blockSize << dirBlockLog > 65536)
    throw new DecodeError('XFS superblock: directory block size out of range');
  const roCompat = version === 5 ? b.readUInt32BE(0xd4) : 0;
  const incompat = version === 5 ? b.readUInt32BE(0xd8) : 0;
  const features2 = b.readUInt32BE(0xc8);
  const ino = (off: number) => b.readBigUInt64BE(off);
  const quotaInos: Array<[bigint, string]> = [
    [ino(0xa0), 'user quota'],
    [ino(0xa8), 'group quota'],
  ];
  if (version === 5) quotaInos.push([ino(0xe8), 'project quota']);
  return {
    version,
    blockSize,
    dblocks,
    agBlocks,
    agCount,
    agBlockLog,
    sectSize,
    inodeSize,
    inodesPerBlock,
    inodesPerBlockLog,
    logStart: b.readBigUInt64BE(0x30),
    logBlocks: b.readUInt32BE(0x60),
    rootIno: ino(0x38),
    rbmIno: ino(0x40),
    rsumIno: ino(0x48),
    quotaInos,
    dirBlockSize: blockSize << dirBlockLog,
    finobt: (roCompat & RO_COMPAT_FINOBT) !== 0,
    rmapbt: (roCompat & RO_COMPAT_RMAPBT) !== 0,
    reflink: (roCompat & RO_COMPAT_REFLINK) !== 0,
    ftype: version === 5 ? (incompat & INCOMPAT_FTYPE) !== 0 : (features2 & VERSION2_FTYPE) !== 0,
    sparseInodes: (incompat & INCOMPAT_SPINODES) !== 0,
    nrext64: (incompat & INCOMPAT_NREXT64) !== 0,
    label: b.toString('latin1', 0x6c, 0x78).replace(/\0.*$/s, ''),
  };
}
