// ext directory blocks: a chain of variable-length entries (inode u32, rec_len u16, name_len
// u8, file_type u8, name). Hash-tree (htree) directories read the same way: their index blocks
// look like one empty entry spanning the block, so a linear read yields just the real entries.

export interface DirEntry {
  inode: number;
  name: string;
  fileType: number;
}

export function parseDirBlock(b: Buffer, hasFileType: boolean): DirEntry[] {
  const out: DirEntry[] = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const inode = b.readUInt32LE(off);
    const recLen = b.readUInt16LE(off + 4);
    const nameLen = b.readUInt8(off + 6) | (hasFileType ? 0 : b.readUInt8(off + 7) << 8);
    // rec_len 0 in a 64 KiB block means 65536; anything else invalid ends the block.
    const len = recLen === 0 && b.length === 65536 ? 65536 : recLen;
    if (len < 8 || len % 4 || off + len > b.length || 8 + nameLen > len) break;
    if (inode !== 0 && nameLen > 0) {
      out.push({
        inode,
        name: b.toString('utf8', off + 8, off + 8 + nameLen),
        fileType: hasFileType ? b.readUInt8(off + 7) : 0,
      });
    }
    off += len;
  }
  return out;
}
