// XFS directory entries, in the two places they live: short-form directories inside the inode,
// and data blocks (of block, leaf and node directories; "XDB3"/"XDD3", or "XD2B"/"XD2D" without
// CRCs). The hash-index and free-index blocks of larger directories hold no names.

export interface DirEntry {
  ino: bigint;
  name: string;
}

/** Directory blocks at or past this byte offset of the directory are indexes, not entries. */
export const DIR_LEAF_OFFSET = 32n << 30n;
export const DIR_FREE_OFFSET = 64n << 30n;

const BLOCK_MAGICS = new Set([0x58444233, 0x58443242]); // XDB3, XD2B: one-block directory (entries + index)
const DATA_MAGICS = new Set([0x58444433, 0x58443244]); // XDD3, XD2D

/** Entries of a short-form directory (the inode's data fork). */
export function parseShortform(b: Buffer, ftype: boolean): DirEntry[] {
  const out: DirEntry[] = [];
  if (b.length < 6) return out;
  const count = b.readUInt8(0);
  const wide = b.readUInt8(1) > 0;
  const inoSize = wide ? 8 : 4;
  let off = 2 + inoSize;
  for (let i = 0; i < count; i++) {
    if (off + 3 > b.length) break;
    const nameLen = b.readUInt8(off);
    const nameAt = off + 3;
    const inoAt = nameAt + nameLen + (ftype ? 1 : 0);
    if (nameLen === 0 || inoAt + inoSize > b.length) break;
    out.push({
      name: b.toString('utf8', nameAt, nameAt + nameLen),
      ino: wide ? b.readBigUInt64BE(inoAt) : BigInt(b.readUInt32BE(inoAt)),
    });
    off = inoAt + inoSize;
  }
  return out;
}

/** Entries of one directory data block (`dirBlockSize` bytes); [] if it is not one. */
export function parseDataBlock(b: Buffer, crc: boolean, ftype: boolean): DirEntry[] {
  const out: DirEntry[] = [];
  const magic = b.readUInt32BE(0);
  let end = b.length;
  if (BLOCK_MAGICS.has(magic)) {
    // A one-block directory ends with its hash index: count × 8 bytes, then an 8-byte tail.
    const count = b.readUInt32BE(b.length - 8);
    end = b.length - 8 - count * 8;
  } else if (!DATA_MAGICS.has(magic)) return out;
  let off = crc ? 64 : 16;
  while (off + 8 <= end) {
    if (b.readUInt16BE(off) === 0xffff) {
      // Unused space: freetag, length.
      const len = b.readUInt16BE(off + 2);
      if (len < 8 || len % 8) break;
      off += len;
      continue;
    }
    const nameLen = b.readUInt8(off + 8);
    const size = (8 + 1 + nameLen + (ftype ? 1 : 0) + 2 + 7) & ~7;
    if (nameLen === 0 || off + size > end) break;
    out.push({ ino: b.readBigUInt64BE(off), name: b.toString('utf8', off + 9, off + 9 + nameLen) });
    off += size;
  }
  return out;
}
