// Files of btrfs subvolumes: each fs tree's INODE_REF / INODE_EXTREF items name an inode in its
// parent directory (paths are built from them), its EXTENT_DATA items say where each piece of
// the file is, in logical addresses (struct btrfs_file_extent_item of btrfs_tree.h). Inline
// extents live inside their leaf and holes have no blocks; compressed extents are labelled as a
// whole (their bytes are not the file's bytes in order), preallocated ones say so.

import type { Region } from '../model.ts';
import { SHARERS_NAMED, SHARERS_PICKABLE, splitByOwners, type Claim, type OwnedPiece } from '../sharing.ts';
import { warn, itemsOf, type Btrfs, type TreeBlock } from './tree.ts';

const KEY = { inodeItem: 1, inodeRef: 12, inodeExtref: 13, extentData: 108, rootBackref: 144 } as const;
/** The root directory of every subvolume (BTRFS_FIRST_FREE_OBJECTID). */
const ROOT_DIR = 256n;
const FS_TREE = 5n;
const COMPRESSION = ['', 'zlib', 'lzo', 'zstd'];
const EXTENT = { inline: 0, regular: 1, prealloc: 2 } as const;
/** Deepest path followed: a parent chain longer than this is a loop or damage. */
const MAX_DEPTH = 256;
/** File extents labelled at most: damaged trees must not make millions of regions. */
const MAX_EXTENTS = 1_000_000;

interface FileExtent {
  inode: bigint;
  /** Where in the file, and how many bytes of it. */
  fileOffset: bigint;
  numBytes: bigint;
  /** The extent on disk (logical), and where in it (uncompressed) the file's bytes start. */
  diskBytenr: bigint;
  diskNumBytes: bigint;
  offset: bigint;
  compression: number;
  prealloc: boolean;
}

export interface Subvolume {
  id: bigint;
  /** Each inode's first name and the directory holding it. */
  names: Map<bigint, { parent: bigint; name: string }>;
  extents: FileExtent[];
}

/** Where each subvolume is attached (ROOT_BACKREF of the root tree): its parent subvolume, directory and name. */
export type Attachments = Map<bigint, { parent: bigint; dir: bigint; name: string }>;

export interface FileState {
  subvolumes: Map<bigint, Subvolume>;
  attachments: Attachments;
  inodes: number;
  extents: number;
  outOfInodes: boolean;
  paths: Map<string, string>;
}

export const newFileState = (): FileState => ({
  subvolumes: new Map(),
  attachments: new Map(),
  inodes: 0,
  extents: 0,
  outOfInodes: false,
  paths: new Map(),
});

/** A root tree leaf's ROOT_BACKREF items: key (subvolume, ROOT_BACKREF, parent), struct btrfs_root_ref. */
export function collectAttachments(x: Btrfs, f: FileState, leaf: TreeBlock): void {
  for (const it of itemsOf(x, leaf)) {
    if (it.type !== KEY.rootBackref || it.data.length < 18) continue;
    const len = it.data.readUInt16LE(16);
    if (18 + len > it.data.length) continue;
    f.attachments.set(it.objectid, {
      parent: it.offset,
      dir: it.data.readBigUInt64LE(0),
      name: it.data.toString('utf8', 18, 18 + len),
    });
  }
}

/** An fs tree leaf's names and extents, into `sv`; within the budget of inodes and extents. */
export function collectFiles(x: Btrfs, f: FileState, sv: Subvolume, leaf: TreeBlock): void {
  for (const it of itemsOf(x, leaf)) {
    if (f.outOfInodes) return;
    if (it.type === KEY.inodeItem) {
      if (++f.inodes > x.ctx.budget.maxFiles) {
        f.outOfInodes = true;
        x.ctx.budget.truncated = true;
        warn(x, `more than ${x.ctx.budget.maxFiles} inodes; the rest are not read`);
      }
    } else if (it.type === KEY.inodeRef) {
      // struct btrfs_inode_ref: index, name_len, name; the key's offset is the directory.
      if (it.data.length < 10 || sv.names.has(it.objectid)) continue;
      const len = it.data.readUInt16LE(8);
      if (10 + len <= it.data.length)
        sv.names.set(it.objectid, { parent: it.offset, name: it.data.toString('utf8', 10, 10 + len) });
    } else if (it.type === KEY.inodeExtref) {
      // struct btrfs_inode_extref: parent, index, name_len, name (names past what an inode_ref holds).
      if (it.data.length < 18 || sv.names.has(it.objectid)) continue;
      const len = it.data.readUInt16LE(16);
      if (18 + len <= it.data.length)
        sv.names.set(it.objectid, { parent: it.data.readBigUInt64LE(0), name: it.data.toString('utf8', 18, 18 + len) });
    } else if (it.type === KEY.extentData) {
      const e = parseExtent(it.objectid, it.offset, it.data);
      if (!e) continue;
      if (++f.extents > MAX_EXTENTS) {
        if (f.extents === MAX_EXTENTS + 1) warn(x, `more than ${MAX_EXTENTS} file extents; the rest are not labelled`);
        x.ctx.budget.truncated = true;
        continue;
      }
      sv.extents.push(e);
    }
  }
}

/** A regular or preallocated extent with blocks; null for inline data, holes, and items too short. */
function parseExtent(inode: bigint, fileOffset: bigint, d: Buffer): FileExtent | null {
  if (d.length < 53) return null;
  const type = d[20];
  if (type !== EXTENT.regular && type !== EXTENT.prealloc) return null;
  const diskBytenr = d.readBigUInt64LE(21);
  if (diskBytenr === 0n) return null; // a hole (without the NO_HOLES feature)
  return {
    inode,
    fileOffset,
    diskBytenr,
    diskNumBytes: d.readBigUInt64LE(29),
    offset: d.readBigUInt64LE(37),
    numBytes: d.readBigUInt64LE(45),
    compression: d[16],
    prealloc: type === EXTENT.prealloc,
  };
}

/** "/docs/a.bin" within subvolume `sv` ("" for its root directory). */
function pathIn(x: Btrfs, f: FileState, sv: Subvolume, inode: bigint): string {
  const key = `${sv.id}:${inode}`;
  const known = f.paths.get(key);
  if (known !== undefined) return known;
  const chain: string[] = [];
  const seen = new Set<bigint>();
  let at = inode;
  let prefix = '';
  while (at !== ROOT_DIR) {
    const name = sv.names.get(at);
    if (seen.has(at) || chain.length >= MAX_DEPTH) {
      warn(x, `subvolume ${sv.id}, inode ${inode}: its parent references loop (at inode ${at})`);
      prefix = `/<loop at inode ${at}>`;
      break;
    }
    seen.add(at);
    if (!name) {
      prefix = `/<inode ${at}>`;
      break;
    }
    chain.push(name.name);
    at = name.parent;
  }
  const path =
    prefix +
    chain
      .reverse()
      .map((n) => `/${n}`)
      .join('');
  f.paths.set(key, path);
  return path;
}

/** Where subvolume `id` is in the filesystem's tree of names ("" for the top level, subvolume 5). */
export function subvolumePath(x: Btrfs, f: FileState, id: bigint, depth = 0): string {
  if (id === FS_TREE) return '';
  const a = f.attachments.get(id);
  const parent = a && f.subvolumes.get(a.parent);
  if (!a || !parent || depth > MAX_DEPTH) return `/<subvolume ${id}>`;
  return `${subvolumePath(x, f, a.parent, depth + 1)}${pathIn(x, f, parent, a.dir)}/${a.name}`;
}

/** A file's claim on logical bytes, with the words its label needs. */
interface FileClaim extends Claim {
  path: string;
  object: string;
  /** File byte at `start`. */
  fileStart: bigint;
  /** A compressed extent's words (its bytes are not the file's in order), else null. */
  compressed: string | null;
  note: string;
}

/** What logical bytes [a, b) are to claim `c`: "/x, bytes 0–4095", or its compressed extent. */
const claimWords = (c: FileClaim, a: bigint, b: bigint) =>
  c.compressed ?? `${c.path}, bytes ${c.fileStart + (a - c.start)}–${c.fileStart + (b - c.start) - 1n}${c.note}`;

/**
 * Regions (logical addresses) for every file extent of every subvolume. Extents several files
 * share (a snapshot's files, reflinked copies) name all of them, each with its own offsets.
 */
export function fileRegions(x: Btrfs, f: FileState): Region[] {
  const claims: FileClaim[] = [];
  for (const sv of f.subvolumes.values()) {
    const top = subvolumePath(x, f, sv.id);
    for (const e of sv.extents) {
      const path = `${top}${pathIn(x, f, sv, e.inode)}` || '/';
      const object = x.ctx.object({ id: `${x.place.id}:${path}`, kind: 'file', label: path, where: x.place.where });
      const c = extentClaim(e, path, object, (sv.id << 64n) | e.inode);
      if (c.end <= c.start) continue;
      if (!x.chunks.find(c.start, c.end - c.start)) {
        warn(x, `${path}: extent at logical ${c.start} (${c.end - c.start} bytes) lies in no chunk`);
        continue;
      }
      claims.push(c);
    }
  }
  return splitByOwners(claims, SHARERS_PICKABLE).map(pieceRegion);
}

function extentClaim(e: FileExtent, path: string, object: string, ino: bigint): FileClaim {
  const last = e.fileOffset + e.numBytes - 1n;
  const claim = { ino, path, object, fileStart: e.fileOffset, compressed: null, note: '' };
  if (e.compression !== 0) {
    const how = COMPRESSION[e.compression] ?? `compression ${e.compression}`;
    const words = `${path}, ${how}-compressed extent of file bytes ${e.fileOffset}–${last}`;
    return { ...claim, start: e.diskBytenr, end: e.diskBytenr + e.diskNumBytes, compressed: words };
  }
  const start = e.diskBytenr + e.offset;
  return { ...claim, start, end: start + e.numBytes, note: e.prealloc ? ' (preallocated, reads as zeros)' : '' };
}

/** One piece of file data with one set of owners: "/a, bytes 0–4095", or with the files sharing it. */
function pieceRegion(p: OwnedPiece<FileClaim>): Region {
  const [own, ...others] = p.claims;
  const shown = others.slice(0, SHARERS_NAMED);
  const more = p.count - 1 - shown.length;
  const tail = more > 0 ? ` and ${more} more` : '';
  const describe = (a: bigint, b: bigint) => {
    const self = claimWords(own, p.start + a, p.start + b);
    if (!others.length) return self;
    return `${self}, shared with ${shown.map((c) => claimWords(c, p.start + a, p.start + b)).join(', ')}${tail}`;
  };
  const region: Region = {
    start: p.start,
    end: p.end,
    kind: 'file',
    label: describe(0n, p.end - p.start),
    object: own.object,
    describe,
  };
  // A file reflinked onto itself names its own object once.
  const sharedWith = [...new Set(others.map((c) => c.object))].filter((o) => o !== own.object);
  if (sharedWith.length) region.sharedWith = sharedWith;
  return region;
}
