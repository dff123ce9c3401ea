// Every allocated inode's blocks, named by path: the inobt's chunks say which inodes are in use;
// each one's forks give its data extents and block-map B+tree blocks; directories (short-form
// in the inode, or data blocks) give the names. Bounded like the ext walk: at most maxFiles
// inodes and directory entries, then the rest is summarised. Blocks that several files share
// (reflink) name all of them: see ../sharing.ts.

import type { Region } from '../model.ts';
import { DecodeError } from '../model.ts';
import { pathOf, type NameLinks } from '../paths.ts';
import type { InodeChunk } from './ag.ts';
import { DIR_FREE_OFFSET, DIR_LEAF_OFFSET, parseDataBlock, parseShortform, type DirEntry } from './dir.ts';
import type { XfsFs } from './fs.ts';
import { SHARERS_NAMED, SHARERS_PICKABLE, splitByOwners, type Claim, type OwnedPiece } from '../sharing.ts';
import {
  FORMAT_LOCAL,
  forkExtents,
  isDir,
  parseInode,
  isSymlink,
  type Extent,
  type MapBlock,
  type XfsInode,
} from './inode.ts';

interface Walked {
  inode: XfsInode;
  data: { extents: Extent[]; maps: MapBlock[] };
  attr: { extents: Extent[]; maps: MapBlock[] };
}

type Names = NameLinks<bigint>;

/** Counts inodes and directory entries against the budget; false once it is spent. */
function counter(fs: XfsFs): () => boolean {
  let visited = 0;
  return () => {
    if (++visited <= fs.ctx.budget.maxFiles) return true;
    if (!fs.ctx.budget.truncated) {
      fs.ctx.budget.truncated = true;
      fs.ctx.budget.warn(
        `${fs.place.where}: more than ${fs.ctx.budget.maxFiles} inodes or directory entries; the rest are not itemised`,
      );
    }
    return false;
  };
}

async function walkInodes(fs: XfsFs, chunks: InodeChunk[], more: () => boolean): Promise<Map<bigint, Walked>> {
  const found = new Map<bigint, Walked>();
  const warn = (ino: bigint, err: unknown) => {
    if (!(err instanceof DecodeError) && !(err instanceof RangeError)) throw err;
    fs.ctx.budget.warn(`${fs.place.where}: inode ${ino}: ${err.message}`);
  };
  for (const c of chunks) {
    for (let i = 0; i < 64; i++) {
      if ((c.holemask >> (i >> 2)) & 1 || (c.free >> BigInt(i)) & 1n) continue;
      const ino = fs.ino(c.ag, c.startAgino + i);
      if (!more()) return found;
      let inode: XfsInode;
      try {
        inode = parseInode(await fs.readInode(ino), ino);
      } catch (err) {
        warn(ino, err);
        continue;
      }
      if (inode.mode === 0) continue;
      const w: Walked = { inode, data: { extents: [], maps: [] }, attr: { extents: [], maps: [] } };
      found.set(ino, w);
      try {
        if (!inode.realtime) await forkExtents(fs, inode.data, w.data);
        if (inode.attr) await forkExtents(fs, inode.attr, w.attr);
      } catch (err) {
        warn(ino, err);
      }
      await fs.ctx.budget.breathe();
    }
  }
  return found;
}

/** Entries of a directory's data blocks: each is dirBlockSize bytes, possibly several fs blocks. */
async function dirBlockEntries(fs: XfsFs, extents: Extent[], each: (e: DirEntry) => boolean): Promise<void> {
  const bs = BigInt(fs.blockSize);
  const per = BigInt(fs.sb.dirBlockSize / fs.blockSize);
  let parts: Buffer[] = [];
  let expect = -1n;
  for (const x of [...extents].sort((a, b) => (a.logical < b.logical ? -1 : 1))) {
    for (let k = 0; k < x.length && (x.logical + BigInt(k)) * bs < DIR_LEAF_OFFSET; k++) {
      const logical = x.logical + BigInt(k);
      if (logical % per === 0n) {
        parts = [];
        expect = logical;
      }
      if (logical !== expect) continue; // a directory block with a hole in it: skipped
      parts.push(await fs.readBlock(x.ag, x.agbno + k));
      expect++;
      if (BigInt(parts.length) < per) continue;
      for (const e of parseDataBlock(Buffer.concat(parts), fs.crc, fs.sb.ftype)) if (!each(e)) return;
      await fs.ctx.budget.breathe();
    }
  }
}

/** child inode → its first (parent, name) as the directories list them. */
async function readNames(fs: XfsFs, inodes: Map<bigint, Walked>, more: () => boolean): Promise<Names> {
  const names: Names = new Map();
  for (const [ino, w] of inodes) {
    if (!isDir(w.inode)) continue;
    const add = (e: DirEntry) => {
      if (e.name !== '.' && e.name !== '..' && !names.has(e.ino)) names.set(e.ino, { parent: ino, name: e.name });
      return more();
    };
    if (w.inode.data.format === FORMAT_LOCAL) {
      for (const e of parseShortform(w.inode.data.bytes, fs.sb.ftype)) if (!add(e)) return names;
    } else {
      try {
        await dirBlockEntries(fs, w.data.extents, add);
      } catch (err) {
        if (!(err instanceof DecodeError) && !(err instanceof RangeError)) throw err;
        fs.ctx.budget.warn(`${fs.place.where}: directory inode ${ino}: ${err.message}`);
      }
    }
    if (fs.ctx.budget.truncated) return names;
  }
  return names;
}

/** Names of the inodes no directory lists (superblock fields point at them). */
function specialNames(fs: XfsFs): Map<bigint, string> {
  const m = new Map<bigint, string>([
    [fs.sb.rbmIno, 'realtime bitmap inode'],
    [fs.sb.rsumIno, 'realtime summary inode'],
  ]);
  for (const [ino, name] of fs.sb.quotaInos) if (ino !== 0n && ino !== 0xffffffffffffffffn) m.set(ino, name);
  return m;
}

const dirPart = (logical: bigint, bs: number) => {
  const byte = logical * BigInt(bs);
  return byte >= DIR_FREE_OFFSET ? ', free index' : byte >= DIR_LEAF_OFFSET ? ', hash index' : '';
};

/** A file's data extent, as a claim on disk bytes, with the words its label needs. */
interface FileClaim extends Claim {
  name: string;
  object: string;
  /** File byte at `start`. */
  fileStart: bigint;
  unwritten: boolean;
  symlink: boolean;
}

const fileBytes = (c: FileClaim, a: bigint, b: bigint) => {
  const from = c.fileStart + (a - c.start);
  return `bytes ${from}–${from + (b - a) - 1n}`;
};

/** One piece of file data: "/a, bytes 0–4095 (inode 131)", or with the files sharing it. */
function fileDataRegion(p: OwnedPiece<FileClaim>): Region {
  const [own, ...others] = p.claims;
  const what = (c: FileClaim) => `${c.symlink ? 'symlink target of ' : ''}${c.name}`;
  const shown = others.slice(0, SHARERS_NAMED);
  const more = p.count - 1 - shown.length;
  const tail = more > 0 ? ` and ${more} more` : '';
  const region: Region = {
    start: p.start,
    end: p.end,
    kind: 'file',
    label: others.length ? `${what(own)} (shared with ${shown.map(what).join(', ')}${tail})` : what(own),
    object: own.object,
    describe: (a, b) => {
      const range = (c: FileClaim) => fileBytes(c, p.start + a, p.start + b);
      const flag = (c: FileClaim) => (c.unwritten ? ', unwritten' : '');
      const self = `${what(own)}, ${range(own)} (inode ${own.ino}${flag(own)})`;
      if (!others.length) return self;
      const sharers = shown.map((c) => `${what(c)} (${range(c)}, inode ${c.ino}${flag(c)})`);
      return `${self}, shared with ${sharers.join(', ')}${tail}`;
    },
  };
  // A file reflinked onto itself names its own object once.
  const sharedWith = [...new Set(others.map((c) => c.object))].filter((o) => o !== own.object);
  if (sharedWith.length) region.sharedWith = sharedWith;
  return region;
}

export async function fileRegions(fs: XfsFs, chunks: InodeChunk[]): Promise<Region[]> {
  const more = counter(fs);
  const inodes = await walkInodes(fs, chunks, more);
  const names = await readNames(fs, inodes, more);
  const special = specialNames(fs);
  const bs = BigInt(fs.blockSize);
  const out: Region[] = [];
  const data: FileClaim[] = [];
  for (const [ino, w] of inodes) {
    const name = pathOf(ino, fs.sb.rootIno, names) ?? special.get(ino) ?? `inode ${ino} (in no directory)`;
    const dir = isDir(w.inode);
    const object = fs.ctx.object({
      id: `${fs.place.id}.i${ino}`,
      kind: dir ? 'directory' : 'file',
      label: dir ? `${name}${name.endsWith('/') ? '' : '/'}` : name,
      where: fs.place.where,
    });
    for (const x of w.data.extents) {
      const start = fs.byte(x.ag, x.agbno);
      const end = fs.byte(x.ag, x.agbno + x.length);
      if (!dir) {
        // Regular file, symlink or quota data: reflink may share it, so it is split by owners below.
        const symlink = isSymlink(w.inode);
        data.push({ start, end, ino, name, object, fileStart: x.logical * bs, unwritten: x.unwritten, symlink });
        continue;
      }
      const part = dirPart(x.logical, fs.blockSize);
      out.push({
        start,
        end,
        kind: 'directory',
        label: `directory ${name}${part}`,
        object,
        describe: () => `directory ${name}${part} (inode ${ino})`,
      });
    }
    const maps = (fork: Walked['data'], what: string) => {
      for (const m of fork.maps)
        out.push({
          start: fs.byte(m.ag, m.agbno),
          end: fs.byte(m.ag, m.agbno + 1),
          kind: 'file-map',
          label: `${what} B+tree ${m.level === 0 ? 'leaf' : 'node'} of ${name}`,
          object,
        });
    };
    maps(w.data, 'block-map');
    maps(w.attr, 'attribute-fork block-map');
    for (const x of w.attr.extents)
      out.push({
        start: fs.byte(x.ag, x.agbno),
        end: fs.byte(x.ag, x.agbno + x.length),
        kind: 'file-map',
        label: `extended attributes of ${name}`,
        object,
      });
  }
  // File data first: where a damaged inode's data overlaps metadata, the metadata's label wins.
  return [...splitByOwners(data, SHARERS_PICKABLE).map(fileDataRegion), ...out];
}
