// exFAT directory entries (specification §6–7): 32-byte entries, a file being an entry set of
// one File entry (0x85), one Stream Extension (0xC0) and 1–17 File Name entries (0xC1, 15
// UTF-16 characters each). Parsing never throws: what contradicts itself becomes a warning.

export const ENTRY = 32;

/** Where a file's (or the bitmap's, the up-case table's) clusters are. */
export interface Allocation {
  firstCluster: number;
  dataLength: bigint;
  noFatChain: boolean;
}

export type DirItem =
  | { type: 'bitmap'; at: number; alloc: Allocation; second: boolean }
  | { type: 'upcase'; at: number; alloc: Allocation }
  | { type: 'label'; at: number; label: string }
  | {
      type: 'file';
      /** Offset of the File entry in the directory, and how many entries the set has. */
      at: number;
      entries: number;
      name: string;
      dir: boolean;
      alloc: Allocation;
      validDataLength: bigint;
      /** Nothing for a good set, else why it is suspect (bad checksum, missing entries). */
      problem: string;
    };

/** The entry set checksum (§6.3.3): every byte of the set except SetChecksum itself. */
export function entrySetChecksum(set: Buffer): number {
  let sum = 0;
  for (let i = 0; i < set.length; i++) {
    if (i === 2 || i === 3) continue;
    sum = ((((sum & 1) << 15) | (sum >> 1)) + set[i]) & 0xffff;
  }
  return sum;
}

const ATTR_DIRECTORY = 0x10;
/** Stream Extension GeneralSecondaryFlags bit 1: the clusters are contiguous, the FAT is not used. */
const NO_FAT_CHAIN = 0x02;

const allocationAt = (buf: Buffer, off: number, flags: number): Allocation => ({
  firstCluster: buf.readUInt32LE(off + 20),
  dataLength: buf.readBigUInt64LE(off + 24),
  noFatChain: (flags & NO_FAT_CHAIN) !== 0,
});

/** The items of one directory's bytes, up to the end-of-directory entry (type 0x00). */
export function parseDirectory(buf: Buffer): DirItem[] {
  const out: DirItem[] = [];
  for (let off = 0; off + ENTRY <= buf.length; off += ENTRY) {
    const type = buf[off];
    if (type === 0x00) break;
    if (type === 0x81)
      out.push({ type: 'bitmap', at: off, alloc: allocationAt(buf, off, 0), second: (buf[off + 1] & 1) === 1 });
    else if (type === 0x82) out.push({ type: 'upcase', at: off, alloc: allocationAt(buf, off, 0) });
    else if (type === 0x83) {
      const n = Math.min(buf[off + 1], 11);
      out.push({ type: 'label', at: off, label: buf.toString('utf16le', off + 2, off + 2 + n * 2) });
    } else if (type === 0x85) {
      const item = fileSet(buf, off);
      out.push(item);
      off += (item.entries - 1) * ENTRY;
    }
    // Anything else (deleted entries with the InUse bit clear, GUIDs, vendor entries) is skipped.
  }
  return out;
}

function fileSet(buf: Buffer, off: number): Extract<DirItem, { type: 'file' }> {
  const secondaries = buf[off + 1];
  const dir = (buf.readUInt16LE(off + 4) & ATTR_DIRECTORY) !== 0;
  const stream = off + ENTRY;
  const broken = (why: string, entries = 1) => ({
    type: 'file' as const,
    at: off,
    entries,
    name: '',
    dir,
    alloc: { firstCluster: 0, dataLength: 0n, noFatChain: false },
    validDataLength: 0n,
    problem: why,
  });
  if (secondaries < 2 || secondaries > 18) return broken(`SecondaryCount ${secondaries} is outside 2–18`);
  const end = off + (secondaries + 1) * ENTRY;
  if (end > buf.length) return broken('the entry set runs past the end of the directory');
  if (buf[stream] !== 0xc0) return broken('no Stream Extension entry after the File entry');
  const nameLength = buf[stream + 3];
  const nameEntries = Math.ceil(nameLength / 15);
  if (nameLength === 0 || nameEntries > secondaries - 1)
    return broken(`NameLength ${nameLength} does not fit ${secondaries - 1} File Name entries`, secondaries + 1);
  const parts: string[] = [];
  for (let k = 0; k < nameEntries; k++) {
    const e = stream + ENTRY * (k + 1);
    if (buf[e] !== 0xc1) return broken(`entry ${k + 2} of the set is not a File Name entry`, secondaries + 1);
    parts.push(buf.toString('utf16le', e + 2, e + 32));
  }
  const flags = buf[stream + 1];
  const stored = buf.readUInt16LE(off + 2);
  const computed = entrySetChecksum(buf.subarray(off, end));
  return {
    type: 'file',
    at: off,
    entries: secondaries + 1,
    name: parts.join('').slice(0, nameLength),
    dir,
    alloc: allocationAt(buf, stream, flags),
    validDataLength: buf.readBigUInt64LE(stream + 8),
    problem:
      stored === computed
        ? ''
        : `SetChecksum 0x${stored.toString(16)} is not the checksum of its entries (0x${computed.toString(16)})`,
  };
}
