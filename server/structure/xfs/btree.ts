// XFS B+trees, one walker for all of them: the per-AG trees (free space by block and by size,
// inodes, free inodes, reverse mapping, reference counts; short-form blocks with 32-bit
// AG-relative pointers) and a file's block map (long-form blocks with 64-bit filesystem block
// pointers). The walk checks each block's magic and level and visits no block twice, so a
// corrupt or looping tree ends in a DecodeError, never a hang.

import { DecodeError } from '../model.ts';
import type { AgBlock, XfsFs } from './fs.ts';

export interface BtreeShape {
  /** Short name for labels: "bnobt". */
  name: string;
  /** Block magic with CRCs (v5) and without (v4); 0 where the tree does not exist in that version. */
  magic: { v5: number; v4: number };
  recSize: number;
  /** Bytes of keys per node entry (the overlapping rmap tree keeps a low and a high key). */
  keySize: number;
  /** Long-form blocks (the block map): 64-bit sibling and child pointers. */
  long?: boolean;
}

const m = (s: string) => Buffer.from(s, 'latin1').readUInt32BE(0);

export const BNOBT: BtreeShape = { name: 'bnobt', magic: { v5: m('AB3B'), v4: m('ABTB') }, recSize: 8, keySize: 8 };
export const CNTBT: BtreeShape = { name: 'cntbt', magic: { v5: m('AB3C'), v4: m('ABTC') }, recSize: 8, keySize: 8 };
export const INOBT: BtreeShape = { name: 'inobt', magic: { v5: m('IAB3'), v4: m('IABT') }, recSize: 16, keySize: 4 };
export const FINOBT: BtreeShape = { name: 'finobt', magic: { v5: m('FIB3'), v4: m('FIBT') }, recSize: 16, keySize: 4 };
export const RMAPBT: BtreeShape = { name: 'rmapbt', magic: { v5: m('RMB3'), v4: 0 }, recSize: 24, keySize: 40 };
export const REFCOUNTBT: BtreeShape = {
  name: 'refcountbt',
  magic: { v5: m('R3FC'), v4: 0 },
  recSize: 12,
  keySize: 4,
};
export const BMBT: BtreeShape = {
  name: 'bmbt',
  magic: { v5: m('BMA3'), v4: m('BMAP') },
  recSize: 16,
  keySize: 8,
  long: true,
};

/** Deepest tree the walk accepts (XFS's own limits are 9 for bmbt and lower for the AG trees). */
const MAX_LEVELS = 12;

export function headerSize(fs: XfsFs, shape: BtreeShape): number {
  if (shape.long) return fs.crc ? 72 : 24;
  return fs.crc ? 56 : 16;
}

export interface BtreeVisitor {
  /** Every block of the tree, with its level (0 = leaf) and whether it is the root. */
  onBlock(at: AgBlock, level: number, root: boolean): void;
  /** Leaf records: `count` of them at block[first + i·recSize]. */
  onLeaf(block: Buffer, first: number, count: number): void | Promise<void>;
}

/**
 * Walk the subtrees under `ptrs` (AG block numbers of AG `ag` for short-form trees, filesystem
 * block numbers for long-form ones), whose blocks sit at `level`. `visited` is shared by all
 * the walks of one tree so that two parents pointing at one child count as a loop.
 */
export async function walkBtree(
  fs: XfsFs,
  shape: BtreeShape,
  ag: number,
  ptrs: bigint[],
  level: number,
  visitor: BtreeVisitor,
  /** The root block's pointer (null: the root lives in an inode). */
  rootPtr: bigint | null,
  visited: Set<bigint> = new Set(),
): Promise<void> {
  const magic = fs.crc ? shape.magic.v5 : shape.magic.v4;
  if (!magic) throw new DecodeError(`${shape.name} exists only with CRCs (v5)`);
  if (level < 0 || level >= MAX_LEVELS) throw new DecodeError(`${shape.name}: ${level + 1} levels is out of range`);
  const hdr = headerSize(fs, shape);
  const ptrSize = shape.long ? 8 : 4;
  const bs = fs.blockSize;
  for (const ptr of ptrs) {
    const at: AgBlock = shape.long ? fs.fsb(ptr) : { ag, agbno: Number(ptr) };
    if (!fs.valid(at.ag, at.agbno)) throw new DecodeError(`${shape.name}: block ${ptr} is outside the filesystem`);
    const key = fs.byte(at.ag, at.agbno);
    if (visited.has(key)) throw new DecodeError(`${shape.name}: block ${ptr} is reached twice (a loop)`);
    visited.add(key);
    const b = await fs.readBlock(at.ag, at.agbno);
    if (b.readUInt32BE(0) !== magic) throw new DecodeError(`${shape.name}: block ${ptr} has no ${shape.name} magic`);
    const blockLevel = b.readUInt16BE(4);
    const numrecs = b.readUInt16BE(6);
    if (blockLevel !== level)
      throw new DecodeError(`${shape.name}: block ${ptr} is at level ${blockLevel}, its parent says ${level}`);
    visitor.onBlock(at, level, ptr === rootPtr);
    if (level === 0) {
      if (hdr + numrecs * shape.recSize > bs)
        throw new DecodeError(`${shape.name}: block ${ptr} holds too many records`);
      await visitor.onLeaf(b, hdr, numrecs);
      continue;
    }
    const maxrecs = Math.floor((bs - hdr) / (shape.keySize + ptrSize));
    if (numrecs > maxrecs || numrecs === 0) throw new DecodeError(`${shape.name}: block ${ptr} has ${numrecs} entries`);
    const ptrBase = hdr + maxrecs * shape.keySize;
    const children: bigint[] = [];
    for (let i = 0; i < numrecs; i++)
      children.push(shape.long ? b.readBigUInt64BE(ptrBase + i * 8) : BigInt(b.readUInt32BE(ptrBase + i * 4)));
    await walkBtree(fs, shape, at.ag, children, level - 1, visitor, rootPtr, visited);
    await fs.ctx.budget.breathe();
  }
}

/** Walk a per-AG tree from its root (as the AGF or AGI records it). */
export function walkAgBtree(
  fs: XfsFs,
  shape: BtreeShape,
  ag: number,
  root: number,
  levels: number,
  visitor: BtreeVisitor,
): Promise<void> {
  if (levels < 1) throw new DecodeError(`${shape.name}: ${levels} levels`);
  return walkBtree(fs, shape, ag, [BigInt(root)], levels - 1, visitor, BigInt(root));
}
