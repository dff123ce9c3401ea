// The btrfs superblock (struct btrfs_super_block of the kernel's ctree.h / btrfs-progs'
// ctree.h): the primary at 64 KiB and its copies at 64 MiB and 256 GiB, each 4 KiB, each
// checksummed. The copy that checks out with the highest generation is used (the kernel reads
// the primary; btrfs-progs' recovery reads the copies): a primary whose checksum fails is named,
// and a copy used instead, with a warning.

import { CHUNK_ITEM_BYTES, ChunkMap, STRIPE_BYTES, parseChunk } from './chunks.ts';
import { CSUM_TYPES, checksumFor, type Checksum } from './checksum.ts';

export const SUPER_BYTES = 4096;
/** Where the superblock and its copies are (btrfs_sb_offset: 64 KiB, then 16 KiB << 12·i). */
export const SUPER_OFFSETS = [0x10000n, 0x4000000n, 0x4000000000n];
export const MAGIC = '_BHRfS_M';
const MAGIC_AT = 0x40;
/** struct btrfs_disk_key + struct btrfs_chunk in sys_chunk_array. */
const DISK_KEY_BYTES = 17;
const CHUNK_ITEM_KEY = 228;
const SYS_CHUNK_ARRAY_AT = 0x32b;
const SYS_CHUNK_ARRAY_MAX = 2048;
/** incompat flag: tree blocks carry metadata_uuid, not fsid (BTRFS_FEATURE_INCOMPAT_METADATA_UUID). */
const INCOMPAT_METADATA_UUID = 1n << 10n;

export interface Superblock {
  /** Where this copy was read (its bytenr field agrees). */
  at: bigint;
  fsid: Buffer;
  /** What tree blocks' fsid field must say. */
  metadataFsid: Buffer;
  generation: bigint;
  root: bigint;
  rootLevel: number;
  chunkRoot: bigint;
  chunkRootLevel: number;
  logRoot: bigint;
  logRootLevel: number;
  totalBytes: bigint;
  sectorSize: number;
  nodeSize: number;
  csumType: number;
  compatRo: bigint;
  incompat: bigint;
  /** This device: its id in the filesystem and its size (dev_item). */
  devid: bigint;
  devBytes: bigint;
  numDevices: bigint;
  label: string;
  /** The system chunks of sys_chunk_array. */
  sysChunks: ChunkMap;
}

export const hasMagic = (b: Buffer) => b.toString('latin1', MAGIC_AT, MAGIC_AT + 8) === MAGIC;

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Parse a superblock copy read at `at`, or say why it cannot be used. */
export function parseSuperblock(b: Buffer, at: bigint): Superblock | string {
  if (!hasMagic(b)) return 'no magic';
  const csumType = b.readUInt16LE(0xc4);
  const check: Checksum | null = checksumFor(csumType);
  if (!check)
    return `csum_type ${csumType} (${CSUM_TYPES[csumType] ?? 'unknown'}) is not one this decoder checks (crc32c, sha256)`;
  if (!check(b)) return 'checksum does not match';
  const bytenr = b.readBigUInt64LE(0x30);
  if (bytenr !== at) return `it says it is at byte ${bytenr}`;
  const sectorSize = b.readUInt32LE(0x90);
  const nodeSize = b.readUInt32LE(0x94);
  if (!isPowerOfTwo(sectorSize) || sectorSize < 4096 || sectorSize > 65536)
    return `sectorsize ${sectorSize} is not a power of two in 4096–65536`;
  if (!isPowerOfTwo(nodeSize) || nodeSize < sectorSize || nodeSize > 65536)
    return `nodesize ${nodeSize} is not a power of two in sectorsize–65536`;
  const incompat = b.readBigUInt64LE(0xbc);
  const fsid = Buffer.from(b.subarray(0x20, 0x30));
  const label = b.subarray(0x12b, 0x22b);
  const end = label.indexOf(0);
  const sys = parseSysChunkArray(b);
  if (typeof sys === 'string') return sys;
  return {
    at,
    fsid,
    metadataFsid: incompat & INCOMPAT_METADATA_UUID ? Buffer.from(b.subarray(0x23b, 0x24b)) : fsid,
    generation: b.readBigUInt64LE(0x48),
    root: b.readBigUInt64LE(0x50),
    chunkRoot: b.readBigUInt64LE(0x58),
    logRoot: b.readBigUInt64LE(0x60),
    totalBytes: b.readBigUInt64LE(0x70),
    numDevices: b.readBigUInt64LE(0x88),
    sectorSize,
    nodeSize,
    compatRo: b.readBigUInt64LE(0xb4),
    incompat,
    csumType,
    rootLevel: b[0xc6],
    chunkRootLevel: b[0xc7],
    logRootLevel: b[0xc8],
    devid: b.readBigUInt64LE(0xc9),
    devBytes: b.readBigUInt64LE(0xc9 + 8),
    label: label.toString('utf8', 0, end < 0 ? label.length : end),
    sysChunks: sys,
  };
}

/** The (key, chunk item) pairs of sys_chunk_array. */
function parseSysChunkArray(b: Buffer): ChunkMap | string {
  const size = b.readUInt32LE(0xa0);
  if (size > SYS_CHUNK_ARRAY_MAX) return `sys_chunk_array_size ${size} is larger than ${SYS_CHUNK_ARRAY_MAX}`;
  const map = new ChunkMap();
  let off = SYS_CHUNK_ARRAY_AT;
  const end = SYS_CHUNK_ARRAY_AT + size;
  while (off < end) {
    if (off + DISK_KEY_BYTES > end) return 'sys_chunk_array ends inside a key';
    if (b[off + 8] !== CHUNK_ITEM_KEY) return `sys_chunk_array holds a key of type ${b[off + 8]}, not a chunk`;
    const logical = b.readBigUInt64LE(off + 9);
    off += DISK_KEY_BYTES;
    const chunk = parseChunk(b, off, end - off, logical);
    if (typeof chunk === 'string') return `sys_chunk_array: ${chunk}`;
    const refused = map.add(chunk);
    if (refused) return `sys_chunk_array: ${refused}`;
    off += CHUNK_ITEM_BYTES + chunk.stripes.length * STRIPE_BYTES;
  }
  if (map.all.length === 0) return 'sys_chunk_array holds no chunk';
  return map;
}
