// Linux md superblocks: v1.x (struct mdp_superblock_1, little-endian; 1.0 near the end, 1.1 at
// 0, 1.2 at 4 KiB) and v0.90 (struct mdp_super_t, 64 KiB-aligned near the end; native
// endianness, little-endian here). Offsets and sizes in bytes (bigint).

import { DecodeError } from '../model.ts';
import type { ByteSource } from '../source.ts';

export const MD_MAGIC = 0xa92b4efc;
const FEATURE_BITMAP = 1;
const FEATURE_RECOVERY_OFFSET = 2;
const ROLE_SPARE = 0xffff;
const ROLE_FAULTY = 0xfffe;
const ROLE_JOURNAL = 0xfffd;

export type MdRole = number | 'spare' | 'faulty' | 'journal';

export interface MdSuperblock {
  version: '0.90' | '1.0' | '1.1' | '1.2';
  uuid: string;
  /** "md0" (the part after "host:" of the set name; v0.90: md + minor). */
  name: string;
  level: number;
  layout: number;
  chunkBytes: bigint;
  raidDisks: number;
  /** Where data starts on this member, and how much of it the array uses. */
  dataOffset: bigint;
  usedBytes: bigint;
  superOffset: bigint;
  superBytes: bigint;
  devNumber: number;
  role: MdRole;
  /** Every device's role as this superblock records it, by device number. */
  roles: MdRole[];
  events: bigint;
  /** Recovery in progress onto this member: bytes of its data area already rebuilt. */
  recoveryOffset: bigint | null;
  bitmap: { offset: bigint; bytes: bigint } | null;
  badBlockLog: { offset: bigint; bytes: bigint } | null;
}

const S = 512n;

/** v1: 16 bytes in order; v0.90: four native-endian words. Either way as mdadm prints it. */
function uuidOf(b: Buffer, parts: number[], words: boolean): string {
  return parts
    .map((o) => (words ? b.readUInt32LE(o).toString(16).padStart(8, '0') : b.subarray(o, o + 4).toString('hex')))
    .join(':');
}

/**
 * How much of the data area the array uses. RAID 0 and linear arrays leave `size` at 0 (every
 * member may differ): then it is the data area (data_size), which RAID 0 trims to whole chunks.
 */
function usedBytesV1(b: Buffer, chunk: bigint): bigint {
  const size = b.readBigUInt64LE(80) * S;
  if (size > 0n) return size;
  const dataSize = b.readBigUInt64LE(136) * S;
  return chunk > 0n ? dataSize - (dataSize % chunk) : dataSize;
}

export function parseMd1(b: Buffer, version: '1.0' | '1.1' | '1.2'): MdSuperblock {
  if (b.readUInt32LE(0) !== MD_MAGIC || b.readUInt32LE(4) !== 1) throw new DecodeError('not an md v1 superblock');
  const feature = b.readUInt32LE(8);
  const setName = b.toString('latin1', 32, 64).replace(/\0.*$/s, '');
  const raidDisks = b.readUInt32LE(92);
  const chunk = BigInt(b.readUInt32LE(88)) * S;
  const devNumber = b.readUInt32LE(160);
  const maxDev = b.readUInt32LE(220);
  if (raidDisks > 4096 || maxDev > 1920 || devNumber >= Math.max(maxDev, 1))
    throw new DecodeError('md v1: device counts out of range');
  const roleOf = (raw: number): MdRole =>
    raw === ROLE_SPARE ? 'spare' : raw === ROLE_FAULTY ? 'faulty' : raw === ROLE_JOURNAL ? 'journal' : raw;
  const roles: MdRole[] = [];
  for (let d = 0; d < maxDev && 256 + d * 2 + 2 <= b.length; d++) roles.push(roleOf(b.readUInt16LE(256 + d * 2)));
  const role = roles[devNumber] ?? 'spare';
  const superOffset = b.readBigUInt64LE(144) * S;
  const bitmapOffset = b.readInt32LE(96);
  const bblogOffset = b.readInt32LE(188);
  const bblogSize = b.readUInt16LE(186);
  const uuid = uuidOf(b, [16, 20, 24, 28], false);
  return {
    version,
    uuid,
    name: setName.includes(':') ? setName.slice(setName.indexOf(':') + 1) : setName || `md-${uuid.slice(0, 8)}`,
    level: b.readInt32LE(72),
    layout: b.readUInt32LE(76),
    chunkBytes: chunk,
    raidDisks,
    dataOffset: b.readBigUInt64LE(128) * S,
    usedBytes: usedBytesV1(b, chunk),
    superOffset,
    superBytes: 4096n,
    devNumber,
    role,
    roles,
    events: b.readBigUInt64LE(200),
    recoveryOffset: feature & FEATURE_RECOVERY_OFFSET ? b.readBigUInt64LE(152) * S : null,
    bitmap: feature & FEATURE_BITMAP ? { offset: superOffset + BigInt(bitmapOffset) * S, bytes: 0n } : null,
    badBlockLog:
      bblogSize > 0 && bblogOffset !== 0
        ? { offset: superOffset + BigInt(bblogOffset) * S, bytes: BigInt(bblogSize) * S }
        : null,
  };
}

export function parseMd090(b: Buffer, superOffset: bigint): MdSuperblock {
  if (b.readUInt32LE(0) !== MD_MAGIC || b.readUInt32LE(4) !== 0 || b.readUInt32LE(8) !== 90)
    throw new DecodeError('not an md v0.90 superblock');
  const word = (w: number) => b.readUInt32LE(w * 4);
  const thisDisk = 992; // this_disk descriptor: number, major, minor, raid_disk, state
  const roleOf = (desc: number): MdRole => {
    const state = word(desc + 4);
    return state & 1 ? 'faulty' : state & 6 ? word(desc + 3) : 'spare';
  };
  const roles: MdRole[] = [];
  for (let i = 0; i < 27; i++) {
    const desc = 128 + i * 32;
    // Unused descriptors are all zeroes: they must not overwrite device 0's role.
    if (word(desc + 4) !== 0 || roles[word(desc)] === undefined) roles[word(desc)] = roleOf(desc);
  }
  return {
    version: '0.90',
    uuid: uuidOf(b, [20, 52, 56, 60], true),
    name: `md${word(11)}`,
    level: b.readInt32LE(28),
    layout: word(64),
    chunkBytes: BigInt(word(65)),
    raidDisks: word(10),
    dataOffset: 0n,
    usedBytes: BigInt(word(8)) * 1024n,
    superOffset,
    superBytes: 4096n,
    devNumber: word(thisDisk),
    role: roleOf(thisDisk),
    roles,
    events: (BigInt(word(40)) << 32n) | BigInt(word(39)),
    recoveryOffset: null,
    bitmap: null,
    badBlockLog: null,
  };
}

/** Find an md superblock of any version on a device, or null. */
export async function findMdSuperblock(src: ByteSource): Promise<MdSuperblock | null> {
  const size = src.size;
  if (size < 128n * 1024n) return null;
  const tryAt = async (offset: bigint, version: '1.0' | '1.1' | '1.2') => {
    if (offset < 0n || offset + 4096n > size) return null;
    const b = await src.read(offset, 4096);
    if (b.readUInt32LE(0) !== MD_MAGIC || b.readUInt32LE(4) !== 1) return null;
    const sb = parseMd1(b, version);
    return sb.superOffset === offset ? sb : null;
  };
  const v12 = await tryAt(4096n, '1.2');
  if (v12) return v12;
  const v11 = await tryAt(0n, '1.1');
  if (v11) return v11;
  const v10 = await tryAt(((size - 8192n) / 4096n) * 4096n, '1.0');
  if (v10) return v10;
  const off090 = (size & ~(65536n - 1n)) - 65536n;
  const b = await src.read(off090, 4096);
  if (b.readUInt32LE(0) === MD_MAGIC && b.readUInt32LE(4) === 0) return parseMd090(b, off090);
  return null;
}

/** The write-intent bitmap's length: its own superblock says how many chunks it tracks. */
export async function bitmapBytes(src: ByteSource, sb: MdSuperblock): Promise<bigint> {
  if (!sb.bitmap || sb.bitmap.offset + 256n > src.size) return 0n;
  const b = await src.read(sb.bitmap.offset, 256);
  if (b.readUInt32LE(0) !== 0x6d746962) return 4096n; // "bitm"
  const syncSectors = b.readBigUInt64LE(40);
  const chunk = BigInt(b.readUInt32LE(52));
  if (chunk === 0n) return 4096n;
  const bits = (syncSectors * S + chunk - 1n) / chunk;
  const bytes = 256n + (bits + 7n) / 8n;
  return ((bytes + 4095n) / 4096n) * 4096n;
}

export const LEVEL_NAMES: Record<number, string> = {
  [-1]: 'linear',
  0: 'RAID 0',
  1: 'RAID 1',
  4: 'RAID 4',
  5: 'RAID 5',
  6: 'RAID 6',
  10: 'RAID 10',
};
