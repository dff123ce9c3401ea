// One btrfs filesystem being decoded, and its B-trees: a tree block is read through the chunk
// map (logical → this device), checked (checksum, the bytenr and fsid it says it has, the level
// its parent expects) and, for DUP, read from its second copy when the first fails. Walks are
// bounded: a budget of blocks, levels that must go down by one (so a block pointing back up the
// tree is refused, never followed round), a block reached twice within one tree is skipped.
// Layouts: struct btrfs_header, btrfs_item, btrfs_key_ptr of the kernel's ctree.h.

import type { RegionKind } from '../../shared/structure.ts';
import type { DecodeContext, Place } from '../context.ts';
import type { Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { isLinear, profileOf, type ChunkMap } from './chunks.ts';
import type { Checksum } from './checksum.ts';
import type { Superblock } from './superblock.ts';

export interface Btrfs {
  src: ByteSource;
  sb: Superblock;
  ctx: DecodeContext;
  place: Place;
  check: Checksum;
  chunks: ChunkMap;
  /** Where this device ends for the filesystem: its dev_item size, within the space. */
  devEnd: bigint;
  /** Regions in logical addresses (tree blocks, file extents, free space), placed in block groups at the end. */
  logical: Region[];
  /** Tree blocks already labelled: a block snapshots share is named after the first tree that reached it. */
  labelled: Set<bigint>;
  nodesRead: number;
  maxNodes: number;
  /** Set once the block budget ran out (walks stop). */
  outOfNodes: boolean;
}

export const warn = (x: Btrfs, message: string) => x.ctx.budget.warn(`${x.place.where}: ${message}`);

/** struct btrfs_header, struct btrfs_item, struct btrfs_key_ptr. */
export const HEADER_BYTES = 0x65;
const ITEM_BYTES = 25;
const KEY_PTR_BYTES = 33;
/** BTRFS_MAX_LEVEL: levels 0–7. */
export const MAX_LEVEL = 8;

export interface TreeBlock {
  logical: bigint;
  level: number;
  owner: bigint;
  nritems: number;
  b: Buffer;
}

export interface Item {
  objectid: bigint;
  type: number;
  offset: bigint;
  data: Buffer;
}

/**
 * The physical bytes on this device of logical [logical, logical+length): one per copy (DUP:
 * two); or why there are none, in words that follow "block at logical N".
 */
export function physicalCopies(x: Btrfs, logical: bigint, length: bigint): bigint[] | string {
  const c = x.chunks.find(logical, length);
  if (!c) return 'is in no chunk';
  if (!isLinear(c)) return `is in a ${profileOf(c.type)} chunk, whose stripes are not mapped`;
  const copies = c.stripes.filter((s) => s.devid === x.sb.devid).map((s) => s.offset + (logical - c.logical));
  if (copies.length === 0) return 'has no copy on this device';
  return copies;
}

/** Read and check the tree block at `logical`, expected at `level`; a copy that fails gives way to the next. */
export async function readTreeBlock(x: Btrfs, logical: bigint, level: number): Promise<TreeBlock | string> {
  const N = x.sb.nodeSize;
  const copies = physicalCopies(x, logical, BigInt(N));
  if (typeof copies === 'string') return copies;
  const problems: string[] = [];
  for (const at of copies) {
    const problem = await blockProblem(x, at, logical, level);
    if (typeof problem !== 'string') {
      if (problems.length)
        warn(x, `tree block at logical ${logical}: copy 1 ${problems[0]}; copy ${problems.length + 1} used`);
      return problem;
    }
    problems.push(problem);
  }
  if (problems.length === 1) return problems[0];
  return `has no good copy (${problems.map((p, i) => `copy ${i + 1} ${p}`).join('; ')})`;
}

async function blockProblem(x: Btrfs, at: bigint, logical: bigint, level: number): Promise<TreeBlock | string> {
  const N = x.sb.nodeSize;
  if (at + BigInt(N) > x.devEnd) return `lies at byte ${at}, past the device's end`;
  const b = await x.src.read(at, N);
  if (!x.check(b)) return 'has a checksum that does not match';
  const bytenr = b.readBigUInt64LE(0x30);
  if (bytenr !== logical) return `says it is at logical ${bytenr}`;
  if (!b.subarray(0x20, 0x30).equals(x.sb.metadataFsid)) return 'belongs to another filesystem (fsid)';
  const got = b[0x64];
  if (got !== level) return `is at level ${got}, its parent says ${level}`;
  const nritems = b.readUInt32LE(0x60);
  const each = level === 0 ? ITEM_BYTES : KEY_PTR_BYTES;
  if (HEADER_BYTES + nritems * each > N) return `holds ${nritems} items, more than fit`;
  return { logical, level, owner: b.readBigUInt64LE(0x58), nritems, b };
}

/** The items of a leaf; one whose data lies outside the block is a warning and skipped. */
export function* itemsOf(x: Btrfs, leaf: TreeBlock): Generator<Item> {
  const N = leaf.b.length;
  for (let i = 0; i < leaf.nritems; i++) {
    const at = HEADER_BYTES + i * ITEM_BYTES;
    const off = leaf.b.readUInt32LE(at + 17);
    const size = leaf.b.readUInt32LE(at + 21);
    if (HEADER_BYTES + off + size > N) {
      warn(x, `leaf at logical ${leaf.logical}: item ${i} lies outside the block`);
      continue;
    }
    yield {
      objectid: leaf.b.readBigUInt64LE(at),
      type: leaf.b[at + 8],
      offset: leaf.b.readBigUInt64LE(at + 9),
      data: leaf.b.subarray(HEADER_BYTES + off, HEADER_BYTES + off + size),
    };
  }
}

export interface TreeToWalk {
  /** "fs tree", "csum tree", "subvolume 257 tree". */
  name: string;
  kind: RegionKind;
  object: string;
  root: bigint;
  level: number;
  /** Called with each leaf, in key order. */
  leaf?: (leaf: TreeBlock) => void;
}

/** Walk a tree, labelling each block; false when part of it could not be read (or the budget ran out). */
export async function walkTree(x: Btrfs, t: TreeToWalk): Promise<boolean> {
  if (t.level >= MAX_LEVEL) {
    warn(x, `${t.name}: root level ${t.level} is above ${MAX_LEVEL - 1}`);
    return false;
  }
  let whole = true;
  const seen = new Set<bigint>();
  const stack: Array<[bigint, number]> = [[t.root, t.level]];
  while (stack.length) {
    const [logical, level] = stack.pop()!;
    if (seen.has(logical)) {
      warn(x, `${t.name}: block at logical ${logical} is reached twice; followed once`);
      whole = false;
      continue;
    }
    seen.add(logical);
    if (++x.nodesRead > x.maxNodes) {
      if (!x.outOfNodes) warn(x, `more than ${x.maxNodes} tree blocks; the rest are not read`);
      x.outOfNodes = true;
      x.ctx.budget.truncated = true;
      return false;
    }
    const block = await readTreeBlock(x, logical, level);
    if (typeof block === 'string') {
      warn(x, `${t.name}: block at logical ${logical} ${block}; not followed`);
      whole = false;
      continue;
    }
    label(x, t, block);
    if (level === 0) t.leaf?.(block);
    else
      for (let i = block.nritems - 1; i >= 0; i--) {
        const at = HEADER_BYTES + i * KEY_PTR_BYTES;
        stack.push([block.b.readBigUInt64LE(at + 17), level - 1]);
      }
    await x.ctx.budget.breathe();
  }
  return whole;
}

function label(x: Btrfs, t: TreeToWalk, block: TreeBlock): void {
  if (x.labelled.has(block.logical)) return;
  x.labelled.add(block.logical);
  x.logical.push({
    start: block.logical,
    end: block.logical + BigInt(x.sb.nodeSize),
    kind: t.kind,
    label: block.level === 0 ? `${t.name} leaf` : `${t.name} node (level ${block.level})`,
    object: t.object,
  });
}
