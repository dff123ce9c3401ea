// NTFS multi-sector records (FILE records of the MFT, INDX records of directory indexes) and
// what an MFT record holds: attributes, and the run lists of non-resident ones. Parsing never
// throws: every offset and length read from a record is checked against the record first, and
// what does not fit is the string returned (the caller's warning).

/** Fixups are laid per 512 bytes whatever the sector size (ntfs-3g's NTFS_BLOCK_SIZE). */
const FIXUP_STRIDE = 512;

/**
 * Apply the update sequence array in place: the last two bytes of each 512-byte stride were
 * replaced on write by the update sequence number, their real value kept in the array. A stride
 * not ending in that number was torn (or damaged): the record is refused.
 */
export function applyFixups(rec: Buffer, magic: 'FILE' | 'INDX'): string | null {
  if (rec.toString('latin1', 0, 4) !== magic) return `no ${magic} signature`;
  const usaOffset = rec.readUInt16LE(4);
  const usaCount = rec.readUInt16LE(6);
  if (usaCount !== rec.length / FIXUP_STRIDE + 1)
    return `update sequence of ${usaCount} entries does not fit a ${rec.length}-byte record`;
  if (usaOffset % 2 !== 0 || usaOffset < 8 || usaOffset + usaCount * 2 > FIXUP_STRIDE - 2)
    return `update sequence offset ${usaOffset} is outside the record header`;
  const usn = rec.readUInt16LE(usaOffset);
  for (let i = 1; i < usaCount; i++) {
    const end = i * FIXUP_STRIDE - 2;
    if (rec.readUInt16LE(end) !== usn) return `fixup of stride ${i} does not match (torn or damaged record)`;
    rec.writeUInt16LE(rec.readUInt16LE(usaOffset + 2 * i), end);
  }
  return null;
}

export const ATTR = {
  standardInformation: 0x10,
  attributeList: 0x20,
  fileName: 0x30,
  volumeName: 0x60,
  data: 0x80,
  indexRoot: 0x90,
  indexAllocation: 0xa0,
  bitmap: 0xb0,
} as const;

const ATTR_NAMES: Record<number, string> = {
  0x10: '$STANDARD_INFORMATION',
  0x20: '$ATTRIBUTE_LIST',
  0x30: '$FILE_NAME',
  0x40: '$OBJECT_ID',
  0x50: '$SECURITY_DESCRIPTOR',
  0x60: '$VOLUME_NAME',
  0x70: '$VOLUME_INFORMATION',
  0x80: '$DATA',
  0x90: '$INDEX_ROOT',
  0xa0: '$INDEX_ALLOCATION',
  0xb0: '$BITMAP',
  0xc0: '$REPARSE_POINT',
  0xd0: '$EA_INFORMATION',
  0xe0: '$EA',
  0x100: '$LOGGED_UTILITY_STREAM',
};
export const attrTypeName = (type: number) => ATTR_NAMES[type] ?? `attribute 0x${type.toString(16)}`;

/** Attribute flags (ntfs-3g ATTR_FLAGS). */
export const ATTR_COMPRESSED = 0x0001;
export const ATTR_ENCRYPTED = 0x4000;

/** One extent of a non-resident attribute: `count` clusters from VCN `vcn` at LCN `lcn` (null: sparse). */
export interface Run {
  vcn: bigint;
  lcn: bigint | null;
  count: bigint;
}

export interface Attribute {
  type: number;
  name: string;
  flags: number;
  /** Resident: its value. */
  value?: Buffer;
  /** Non-resident: this segment's runs, and (in the first segment) the stream's sizes. */
  runs?: Run[];
  startVcn: bigint;
  dataSize: bigint;
  compressionUnit: number;
}

export interface FileName {
  parent: number;
  namespace: number;
  name: string;
  directory: boolean;
}

export interface MftRecord {
  inUse: boolean;
  directory: boolean;
  /** The record this one extends (its attributes are that record's), 0 for a base record. */
  base: number;
  attributes: Attribute[];
  /** Why some attributes were not read, if any. */
  problem: string;
}

const RECORD_IN_USE = 0x0001;
const RECORD_IS_DIRECTORY = 0x0002;
/** File name namespaces: POSIX 0, Win32 1, DOS 2, Win32 and DOS at once 3. */
const NAMESPACE_DOS = 2;
/** A run list of a 64 KiB record cannot hold more runs than this (two bytes the shortest run). */
const MAX_RUNS = 32768;
/** Attribute header flag bits on a file name's attributes word: a directory (ntfs-3g FILE_ATTR_DUP_FILE_NAME_INDEX_PRESENT). */
const FILE_NAME_DIRECTORY = 0x10000000;

/** The 48-bit record number of a file reference (the top 16 bits are the sequence number). */
const recordNumber = (b: Buffer, at: number) => b.readUInt32LE(at) + b.readUInt16LE(at + 4) * 2 ** 32;

/** Parse a FILE record whose fixups were applied. */
export function parseMftRecord(rec: Buffer): MftRecord {
  const flags = rec.readUInt16LE(22);
  const out: MftRecord = {
    inUse: (flags & RECORD_IN_USE) !== 0,
    directory: (flags & RECORD_IS_DIRECTORY) !== 0,
    base: recordNumber(rec, 32),
    attributes: [],
    problem: '',
  };
  const used = Math.min(rec.readUInt32LE(24), rec.length);
  let off = rec.readUInt16LE(20);
  while (off + 8 <= used) {
    const type = rec.readUInt32LE(off);
    if (type === 0xffffffff) return out;
    const length = rec.readUInt32LE(off + 4);
    if (length < 24 || length % 8 !== 0 || off + length > used) {
      out.problem = `${attrTypeName(type)} at offset ${off}: length ${length} does not fit the record`;
      return out;
    }
    const attr = parseAttribute(rec.subarray(off, off + length), type);
    if (typeof attr === 'string') {
      out.problem = `${attrTypeName(type)} at offset ${off}: ${attr}`;
      return out;
    }
    out.attributes.push(attr);
    off += length;
  }
  out.problem = 'no end marker after the attributes';
  return out;
}

function parseAttribute(a: Buffer, type: number): Attribute | string {
  const nonResident = a[8] !== 0;
  const nameLength = a[9];
  const nameOffset = a.readUInt16LE(10);
  if (nameLength && nameOffset + nameLength * 2 > a.length) return 'its name runs past the attribute';
  const base = {
    type,
    name: nameLength ? a.toString('utf16le', nameOffset, nameOffset + nameLength * 2) : '',
    flags: a.readUInt16LE(12),
    startVcn: 0n,
    dataSize: 0n,
    compressionUnit: 0,
  };
  if (!nonResident) {
    const valueLength = a.readUInt32LE(16);
    const valueOffset = a.readUInt16LE(20);
    if (valueOffset + valueLength > a.length) return `its value (${valueLength} bytes) runs past the attribute`;
    return { ...base, value: a.subarray(valueOffset, valueOffset + valueLength), dataSize: BigInt(valueLength) };
  }
  if (a.length < 64) return 'a non-resident header needs 64 bytes';
  const startVcn = a.readBigUInt64LE(16);
  const lastVcn = a.readBigInt64LE(24);
  const runsOffset = a.readUInt16LE(32);
  if (runsOffset >= a.length) return `run list offset ${runsOffset} is past the attribute`;
  const runs = decodeRuns(a.subarray(runsOffset), startVcn);
  if (typeof runs === 'string') return runs;
  const end = runs.length ? runs[runs.length - 1].vcn + runs[runs.length - 1].count : startVcn;
  if (end !== BigInt(lastVcn) + 1n && !(runs.length === 0 && lastVcn === -1n))
    return `its runs end at VCN ${end}, the header says ${BigInt(lastVcn) + 1n}`;
  return {
    ...base,
    runs,
    startVcn,
    dataSize: a.readBigUInt64LE(48),
    compressionUnit: a.readUInt16LE(34),
  };
}

/** Little-endian integer of `n` bytes at `at`, signed or not. */
function intAt(b: Buffer, at: number, n: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]);
  if (signed && n > 0 && b[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
  return v;
}

/**
 * A mapping pairs array: each run is a header byte (low nibble: bytes of the length, high
 * nibble: bytes of the LCN delta, 0 for a sparse run), the length, then the LCN as a signed
 * delta from the previous run's. A zero header byte ends the list.
 */
export function decodeRuns(b: Buffer, startVcn: bigint): Run[] | string {
  const runs: Run[] = [];
  let vcn = startVcn;
  let lcn = 0n;
  let at = 0;
  while (at < b.length && b[at] !== 0) {
    const lenBytes = b[at] & 0x0f;
    const lcnBytes = b[at] >> 4;
    if (lenBytes === 0 || lenBytes > 8 || lcnBytes > 8) return `run header 0x${b[at].toString(16)} is invalid`;
    if (at + 1 + lenBytes + lcnBytes > b.length) return 'the run list runs past the attribute';
    const count = intAt(b, at + 1, lenBytes, false);
    if (count <= 0n) return `a run of ${count} clusters`;
    if (lcnBytes === 0) runs.push({ vcn, lcn: null, count });
    else {
      lcn += intAt(b, at + 1 + lenBytes, lcnBytes, true);
      runs.push({ vcn, lcn, count });
    }
    vcn += count;
    at += 1 + lenBytes + lcnBytes;
    if (runs.length > MAX_RUNS) return `more than ${MAX_RUNS} runs`;
  }
  return runs;
}

/** A $FILE_NAME value, or null if it is too short for what it says. */
export function parseFileName(v: Buffer): FileName | null {
  if (v.length < 66) return null;
  const length = v[64];
  if (66 + length * 2 > v.length) return null;
  return {
    parent: recordNumber(v, 0),
    namespace: v[65],
    name: v.toString('utf16le', 66, 66 + length * 2),
    directory: (v.readUInt32LE(56) & FILE_NAME_DIRECTORY) !== 0,
  };
}

/** The name a person would use: Win32 (or Win32 and DOS) first, POSIX next, the 8.3 DOS name last. */
export function bestName(names: FileName[]): FileName | null {
  let best: FileName | null = null;
  const rank = (n: FileName) => (n.namespace === NAMESPACE_DOS ? 0 : n.namespace === 0 ? 1 : 2);
  for (const n of names) if (!best || rank(n) > rank(best)) best = n;
  return best;
}
