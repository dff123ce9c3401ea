// One directory tree of an ISO 9660 volume (the primary one, or Joliet's), walked breadth first
// from the root record of its volume descriptor: every directory's extent with its path, every
// file's extents with their offsets in the file (a file larger than 4 GiB, or made so, is several
// records of one name, all but the last flagged multi-extent). Bounded: a directory reached twice
// (a loop), one nested deeper than MAX_DEPTH or larger than MAX_DIRECTORY_BYTES, an extent past
// the image, are warnings; so is running out of the decode's file budget.

import type { DecodeBudget, ByteSource } from '../source.ts';
import { cleanName, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, parseRecords, suspName, type DirRecord } from './records.ts';

/** Continuation areas followed for one name at most (a CE chain that loops ends here). */
const MAX_CONTINUATIONS = 8;

/** Rock Ridge allows deeper trees than ISO 9660's 8 levels; past this it is a loop or damage. */
const MAX_DEPTH = 64;
/** A directory larger than this is damage (a real one of 100,000 entries is about 5 MiB). */
const MAX_DIRECTORY_BYTES = 32 * 1024 * 1024;

export interface Extent {
  start: bigint;
  end: bigint;
  /** Where in the file these bytes are. */
  fileOffset: bigint;
}

export interface TreeFile {
  path: string;
  /** The name came from Rock Ridge (NM): preferred over any other tree's. */
  rockRidge: boolean;
  extents: Extent[];
}

export interface TreeDirectory {
  path: string;
  start: bigint;
  end: bigint;
}

export interface Tree {
  directories: TreeDirectory[];
  files: TreeFile[];
  /** Records visited (files and directories), for the budget shared by both trees. */
  visited: number;
}

interface Walk {
  src: ByteSource;
  blockSize: bigint;
  joliet: boolean;
  budget: DecodeBudget;
  warn: (m: string) => void;
}

/** The bytes of a record's extent on the image, clipped to it (with a warning), or null. */
function extentOf(w: Walk, r: DirRecord, path: string): { start: bigint; end: bigint } | null {
  const start = (BigInt(r.extent) + BigInt(r.xattrBlocks)) * w.blockSize;
  const end = start + BigInt(r.size);
  if (r.size === 0) return null;
  if (start >= w.src.size) {
    w.warn(`${path}: its extent (block ${r.extent}, ${r.size} bytes) lies past the end of the image`);
    return null;
  }
  if (end > w.src.size) {
    w.warn(`${path}: its extent (block ${r.extent}, ${r.size} bytes) runs past the end of the image: cut there`);
    return { start, end: w.src.size };
  }
  return { start, end };
}

/** A Rock Ridge name whose NM entries go on in continuation areas (CE), read and completed. */
async function longName(w: Walk, r: DirRecord): Promise<string | undefined> {
  let rest = r.rrRest;
  for (let hops = 0; rest?.next && hops < MAX_CONTINUATIONS; hops++) {
    const { block, offset, length } = rest.next;
    const start = BigInt(block) * w.blockSize + BigInt(offset);
    if (offset + length > Number(w.blockSize) || start + BigInt(length) > w.src.size) {
      w.warn(
        `${r.name}: its Rock Ridge continuation area (block ${block}, ${length} bytes at ${offset}) is not inside a block of the image`,
      );
      break;
    }
    rest = suspName(await w.src.read(start, length), { name: rest.name, open: rest.open });
  }
  return rest?.name ? cleanName(rest.name) : r.rrName;
}

export async function walkTree(
  src: ByteSource,
  blockSize: number,
  joliet: boolean,
  root: DirRecord,
  budget: DecodeBudget,
  alreadyVisited: number,
  warn: (m: string) => void,
): Promise<Tree> {
  const w: Walk = { src, blockSize: BigInt(blockSize), joliet, budget, warn };
  const tree: Tree = { directories: [], files: [], visited: alreadyVisited };
  const seen = new Map<number, string>();
  const queue: Array<{ path: string; record: DirRecord; depth: number }> = [{ path: '', record: root, depth: 0 }];
  while (queue.length) {
    const { path, record, depth } = queue.shift()!;
    const shown = path || '/';
    const earlier = seen.get(record.extent);
    if (earlier !== undefined) {
      warn(
        `directory ${shown} is the extent of ${earlier || '/'} again (block ${record.extent}): a loop, not followed`,
      );
      continue;
    }
    seen.set(record.extent, path);
    if (depth > MAX_DEPTH) {
      warn(`directory ${shown} is nested deeper than ${MAX_DEPTH} levels: not followed`);
      continue;
    }
    const place = extentOf(w, record, `directory ${shown}`);
    if (!place) continue;
    let end = place.end;
    if (end - place.start > BigInt(MAX_DIRECTORY_BYTES)) {
      warn(`directory ${shown} claims ${record.size} bytes: only its first ${MAX_DIRECTORY_BYTES} are read`);
      end = place.start + BigInt(MAX_DIRECTORY_BYTES);
    }
    tree.directories.push({ path: shown, start: place.start, end: place.end });
    const buf = await src.read(place.start, Number(end - place.start));
    const records = parseRecords(buf, joliet, (m) => warn(`directory ${shown}: ${m}`));
    /** The file whose earlier extents were flagged multi-extent, waiting for the rest. */
    let open: TreeFile | null = null;
    let openOffset = 0n;
    for (const r of records) {
      if (r.self) continue;
      if (++tree.visited > budget.maxFiles) {
        budget.truncated = true;
        warn(`more than ${budget.maxFiles} directory records: the rest are not itemised`);
        return tree;
      }
      const rr = r.rrRest ? await longName(w, r) : r.rrName;
      const name = rr ?? r.name;
      const full = `${path}/${name}`;
      if (r.flags & FLAG_DIRECTORY) {
        open = null;
        queue.push({ path: full, record: r, depth: depth + 1 });
        continue;
      }
      let file: TreeFile;
      if (open && open.path === full) file = open;
      else {
        file = { path: full, rockRidge: rr !== undefined, extents: [] };
        tree.files.push(file);
        openOffset = 0n;
      }
      const ext = extentOf(w, r, full);
      if (ext) file.extents.push({ ...ext, fileOffset: openOffset });
      openOffset += BigInt(r.size);
      open = r.flags & FLAG_MULTI_EXTENT ? file : null;
      await budget.breathe();
    }
  }
  return tree;
}
