// The btrfs decoder: the superblock and its copies; the chunk tree (bootstrapped from the
// superblock's sys_chunk_array), which places every block group's stripes on this device; the
// root tree and every tree it names, each tree block labelled by its tree and level (for DUP,
// both copies); the files of every subvolume by path with their byte offsets, from the fs trees'
// INODE_REF and EXTENT_DATA items; free space inside block groups from the extent tree, and the
// space no chunk uses as unallocated. Only metadata is read. Damage (a checksum that fails, a
// block outside the device, a tree that loops) is a warning and costs only what it hides.

import type { RegionKind } from '../../shared/structure.ts';
import type { Decoder, Place } from '../context.ts';
import { DecodeError, fillGaps, normalise, type Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { ChunkMap, parseChunk } from './chunks.ts';
import { checksumFor } from './checksum.ts';
import {
  collectAttachments,
  collectFiles,
  fileRegions,
  newFileState,
  subvolumePath,
  type FileState,
  type Subvolume,
} from './files.ts';
import { blockGroupRegions, collectUsed, freeRegions, newUsed, type Used } from './space.ts';
import { SUPER_BYTES, SUPER_OFFSETS, hasMagic, parseSuperblock, type Superblock } from './superblock.ts';
import { itemsOf, walkTree, warn, type Btrfs, type TreeBlock } from './tree.ts';

const CHUNK_ITEM = 228;
const ROOT_ITEM = 132;
/** struct btrfs_root_item up to its level byte (bytenr at 176, level at 238). */
const ROOT_ITEM_MIN = 239;
/** The space btrfs never allocates, before its first superblock and after (1 MiB). */
const FIRST_MIB = 1n << 20n;
const U64 = 1n << 64n;

/** Tree objectids of btrfs_tree.h, their names and the tint of their blocks. */
const TREES = new Map<bigint, [string, RegionKind]>([
  [1n, ['root tree', 'group-descriptors']],
  [2n, ['extent tree', 'bitmap']],
  [3n, ['chunk tree', 'group-descriptors']],
  [4n, ['device tree', 'group-descriptors']],
  [5n, ['fs tree', 'inode-table']],
  [7n, ['csum tree', 'file-map']],
  [8n, ['quota tree', 'group-descriptors']],
  [9n, ['uuid tree', 'group-descriptors']],
  [10n, ['free space tree', 'bitmap']],
  [11n, ['block group tree', 'group-descriptors']],
  [12n, ['raid stripe tree', 'group-descriptors']],
  [U64 - 6n, ['log tree', 'journal']],
  [U64 - 8n, ['reloc tree', 'inode-table']],
  [U64 - 9n, ['data reloc tree', 'inode-table']],
]);
/** Subvolumes and snapshots: objectids from BTRFS_FIRST_FREE_OBJECTID to BTRFS_LAST_FREE_OBJECTID. */
const isSubvolume = (id: bigint) => id === 5n || (id >= 256n && id <= U64 - 256n);

export const decodeBtrfs: Decoder = async (src, ctx, place) => {
  if (src.size < SUPER_OFFSETS[0] + BigInt(SUPER_BYTES)) return null;
  if (!hasMagic(await src.read(SUPER_OFFSETS[0], SUPER_BYTES))) return null;
  const fsPlace: Place = { id: `${place.id}.btrfs`, where: `btrfs on ${place.where}` };
  const warnings: string[] = [];
  const { sb, copies } = await readSuperblocks(src, warnings);
  const check = checksumFor(sb.csumType)!;
  const devEnd = sb.devBytes < src.size ? sb.devBytes : src.size;
  const x: Btrfs = {
    src,
    sb,
    ctx,
    place: fsPlace,
    check,
    chunks: new ChunkMap(),
    devEnd,
    logical: [],
    labelled: new Set(),
    nodesRead: 0,
    // Half the decode's byte budget for tree blocks: the rest of the disks get theirs.
    maxNodes: Math.max(16, Math.floor(ctx.budget.maxBytes / 2 / sb.nodeSize)),
    outOfNodes: false,
  };
  for (const w of warnings) warn(x, w);
  if (sb.devBytes > src.size) warn(x, `the device is ${sb.devBytes} bytes, the space only ${src.size}`);
  if (sb.numDevices > 1n)
    warn(x, `a filesystem of ${sb.numDevices} devices: only what lies on this one (device ${sb.devid}) is shown`);
  for (const c of sb.sysChunks.all) x.chunks.add(c);
  const fsObject = ctx.object({ id: fsPlace.id, kind: 'filesystem', label: 'btrfs', where: place.where });
  const name = sb.label ? `btrfs "${sb.label}"` : 'btrfs';
  ctx.objects.get(fsObject)!.label = name;

  await walkTree(
    x,
    tree(x, 3n, sb.chunkRoot, sb.chunkRootLevel, (leaf) => collectChunks(x, leaf)),
  );
  const files = newFileState();
  const used = newUsed();
  const roots: Array<{ id: bigint; bytenr: bigint; level: number }> = [];
  await walkTree(
    x,
    tree(x, 1n, sb.root, sb.rootLevel, (leaf) => {
      collectRoots(x, leaf, roots);
      collectAttachments(x, files, leaf);
    }),
  );
  await walkRoots(x, roots, files, used);
  nameSubvolumeTrees(x, files);
  if (sb.logRoot !== 0n) await walkLog(x);

  const freeObject = ctx.object({ id: `${fsPlace.id}.free`, kind: 'free', label: 'free space', where: fsPlace.where });
  if (!used.complete) warn(x, 'the extent tree was not read whole: free space inside block groups is not shown');
  // Listed by priority: free space, then tree blocks, then files (later wins where they overlap).
  const logical = [...freeRegions(x, used, freeObject), ...x.logical, ...fileRegions(x, files)];
  const regions: Region[] = [
    { start: 0n, end: FIRST_MIB < devEnd ? FIRST_MIB : devEnd, kind: 'reserved', label: 'reserved (first MiB)' },
    ...blockGroupRegions(x, logical),
    ...superblockRegions(x, copies),
  ];
  const filled = fillGaps(normalise(regions), 0n, devEnd, { kind: 'free', label: 'unallocated', object: freeObject });
  if (devEnd < src.size) filled.push({ start: devEnd, end: src.size, kind: 'reserved', label: 'after the filesystem' });
  return { name, space: { type: 'linear', regions: filled }, object: fsObject };
};

type Copy = { at: bigint; problem: string | null };

/**
 * Every superblock copy inside the space, and the one to use: the primary when it checks out,
 * else the copy with the highest generation that does (with a warning). None: refused.
 */
async function readSuperblocks(src: ByteSource, warnings: string[]): Promise<{ sb: Superblock; copies: Copy[] }> {
  const copies: Copy[] = [];
  let best: Superblock | null = null;
  let primary: Superblock | string = 'not read';
  for (const at of SUPER_OFFSETS) {
    if (at + BigInt(SUPER_BYTES) > src.size) break;
    const parsed = parseSuperblock(await src.read(at, SUPER_BYTES), at);
    if (at === SUPER_OFFSETS[0]) primary = parsed;
    copies.push({ at, problem: typeof parsed === 'string' ? parsed : null });
    if (typeof parsed !== 'string' && (!best || parsed.generation > best.generation)) best = parsed;
  }
  if (typeof primary !== 'string') best = primary;
  if (!best) throw new DecodeError(`superblock: ${copies.map((c) => `at byte ${c.at}: ${c.problem}`).join('; ')}`);
  // Copies past the device's end are not the filesystem's (left from an earlier, larger one).
  const mine = copies.filter((c) => c.at + BigInt(SUPER_BYTES) <= best.devBytes);
  if (typeof primary === 'string')
    warnings.push(`superblock at byte ${SUPER_OFFSETS[0]}: ${primary}; the copy at byte ${best.at} is used`);
  for (const c of mine)
    if (c.problem && c.at !== SUPER_OFFSETS[0]) warnings.push(`superblock copy at byte ${c.at}: ${c.problem}`);
  return { sb: best, copies: mine };
}

function superblockRegions(x: Btrfs, copies: Copy[]): Region[] {
  const object = x.ctx.object({
    id: `${x.place.id}.super`,
    kind: 'superblock',
    label: 'superblocks',
    where: x.place.where,
  });
  return copies.map((c, i) => ({
    start: c.at,
    end: c.at + BigInt(SUPER_BYTES),
    kind: 'superblock' as const,
    label: `${i === 0 ? 'superblock' : `superblock copy ${i}`}${c.problem ? ` (${c.problem})` : ''}`,
    object,
  }));
}

function tree(x: Btrfs, id: bigint, root: bigint, level: number, leaf?: (l: TreeBlock) => void, name?: string) {
  const [known, kind] = TREES.get(id) ?? [`subvolume ${id} tree`, 'inode-table' as const];
  const label = name ?? known;
  const object = x.ctx.object({ id: `${x.place.id}.tree.${label}`, kind, label, where: x.place.where });
  return { name: label, kind, object, root, level, leaf };
}

/**
 * "subvolume 256 (/sub) tree": a subvolume's path is known only once its parent's tree was read
 * (ROOT_BACKREF names a directory there), so its tree's blocks and object are renamed after the walks.
 */
function nameSubvolumeTrees(x: Btrfs, files: FileState): void {
  const renamed = new Map<string, string>();
  for (const id of files.subvolumes.keys()) {
    if (id === 5n) continue;
    const object = x.ctx.objects.get(`${x.place.id}.tree.subvolume ${id} tree`);
    if (!object) continue;
    const name = `subvolume ${id} (${subvolumePath(x, files, id)}) tree`;
    renamed.set(object.id, name);
    object.label = name;
  }
  for (const r of x.logical) {
    const name = r.object && renamed.get(r.object);
    if (name) r.label = r.label.replace(/^subvolume \d+ tree/, name);
  }
}

/** Chunk tree leaves: key (256, CHUNK_ITEM, logical) → struct btrfs_chunk. */
function collectChunks(x: Btrfs, leaf: TreeBlock): void {
  for (const it of itemsOf(x, leaf)) {
    if (it.type !== CHUNK_ITEM) continue;
    const chunk = parseChunk(it.data, 0, it.data.length, it.offset);
    const refused = typeof chunk === 'string' ? chunk : x.chunks.add(chunk);
    if (refused) warn(x, `chunk tree: ${refused}`);
  }
}

/** Root tree leaves: key (tree id, ROOT_ITEM, …) → struct btrfs_root_item's bytenr and level. */
function collectRoots(x: Btrfs, leaf: TreeBlock, roots: Array<{ id: bigint; bytenr: bigint; level: number }>): void {
  for (const it of itemsOf(x, leaf)) {
    if (it.type !== ROOT_ITEM) continue;
    if (it.data.length < ROOT_ITEM_MIN) {
      warn(x, `root tree: the root item of tree ${it.objectid} is ${it.data.length} bytes`);
      continue;
    }
    roots.push({ id: it.objectid, bytenr: it.data.readBigUInt64LE(176), level: it.data[238] });
  }
}

/** Every tree the root tree names: the extent tree's allocations and the subvolumes' files are kept. */
async function walkRoots(
  x: Btrfs,
  roots: Array<{ id: bigint; bytenr: bigint; level: number }>,
  files: FileState,
  used: Used,
): Promise<void> {
  const walked = new Set<bigint>();
  for (const r of roots) {
    // A tree named twice (damage): walked once.
    if (walked.has(r.id) || x.outOfNodes) continue;
    walked.add(r.id);
    let leaf: ((l: TreeBlock) => void) | undefined;
    if (r.id === 2n) leaf = (l) => collectUsed(x, used, l);
    else if (isSubvolume(r.id)) {
      const sv: Subvolume = { id: r.id, names: new Map(), extents: [] };
      files.subvolumes.set(r.id, sv);
      leaf = (l) => collectFiles(x, files, sv, l);
    }
    const whole = await walkTree(x, tree(x, r.id, r.bytenr, r.level, leaf));
    if (r.id === 2n && !whole) used.complete = false;
  }
  if (!walked.has(2n)) used.complete = false;
}

/** The log root tree (fsync's journal) and the per-subvolume log trees it names. */
async function walkLog(x: Btrfs): Promise<void> {
  const logs: Array<{ id: bigint; bytenr: bigint; level: number }> = [];
  const log = U64 - 6n;
  await walkTree(
    x,
    tree(x, log, x.sb.logRoot, x.sb.logRootLevel, (l) => collectRoots(x, l, logs), 'log root tree'),
  );
  for (const r of logs) await walkTree(x, tree(x, log, r.bytenr, r.level));
}
