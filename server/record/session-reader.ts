// Opens a session file for playback: reads the header and walks the blocks from the oldest
// kept one (following the ring's wrap), building the index from headers and prefixes only.
// A torn last block (the writer was killed) ends the walk; anything else wrong is an error
// that names the file and the byte.

import { open } from 'node:fs/promises';
import { FormatError } from './bytes.ts';
import {
  BLOCK_HEADER,
  BlockType,
  HEADER_SIZE,
  blockLength,
  checkCrc,
  decodeBlockHeader,
  decodeHeader,
  type FileHeader,
} from './format.ts';
import { SessionIndex, entryFrom, parseMarks } from './session-index.ts';

export interface OpenSession {
  header: FileHeader;
  index: SessionIndex;
  close(): Promise<void>;
}

export async function openSession(path: string): Promise<OpenSession> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new FormatError(`${path}: cannot open the recording (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    const size = (await fh.stat()).size;
    const hb = Buffer.alloc(HEADER_SIZE);
    await fh.read(hb, 0, Math.min(HEADER_SIZE, size), 0);
    const header = decodeHeader(hb, path);
    const index = new SessionIndex(fh, path);
    const wrapped = (header.flags & 1) === 1;
    let pos = header.ringStart;
    // Kept blocks all lie in the current lap unless the oldest sits past the write head.
    let lapped = !wrapped || header.ringStart < header.writeHead;
    let lastSeq = -1;
    const hbuf = Buffer.alloc(BLOCK_HEADER);
    for (;;) {
      if (!lapped && header.wrapAt && pos >= header.wrapAt) {
        pos = HEADER_SIZE;
        lapped = true;
      }
      // Past the recorded write head only blocks that verify count (a crash before the header update).
      const trusted = lapped ? pos < header.writeHead : true;
      if (pos + BLOCK_HEADER > size) break;
      await fh.read(hbuf, 0, BLOCK_HEADER, pos);
      const h = decodeBlockHeader(hbuf);
      if (!h || h.seq <= lastSeq || pos + blockLength(h) > size) {
        if (trusted)
          throw new FormatError(`${path}: recording is damaged at byte ${pos} (no block where one should be)`);
        break;
      }
      if (h.type === BlockType.WRAP) {
        if (lapped) {
          if (trusted) throw new FormatError(`${path}: recording is damaged at byte ${pos} (wrapped twice)`);
          break;
        }
        lastSeq = h.seq;
        pos = HEADER_SIZE;
        lapped = true;
        continue;
      }
      const rest = Buffer.alloc(h.prefixLength + (h.type === BlockType.MARKS || !trusted ? h.bodyLength : 0));
      await fh.read(rest, 0, rest.length, pos + BLOCK_HEADER);
      if (!trusted && !checkCrc(h, rest)) break;
      const e = entryFrom(pos, h, rest.subarray(0, h.prefixLength), null);
      if (h.type === BlockType.MARKS) {
        if (!checkCrc(h, rest)) throw new FormatError(`${path}: block at byte ${pos} is damaged (CRC mismatch)`);
        e.marks = parseMarks(rest.subarray(h.prefixLength));
      }
      index.add(e);
      lastSeq = h.seq;
      pos += blockLength(h);
    }
    if (index.firstCheckpoint < 0)
      throw new FormatError(`${path}: the recording holds no keyframe (nothing can be rebuilt)`);
    return { header, index, close: () => fh.close() };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
