// Grid geometry: which pixel ("cell") shows which blocks. Pure; shared by engine and UI.
// One cell is one 4 KiB block until a disk has more blocks than the grid can hold; then
// 2^k blocks merge into one cell (and the UI says "1 px = 64 KiB").

import { BLOCK_SIZE, type GridGeometry } from './types.ts';

/** Most cells one disk's grid may have (512 × 512). */
export const DEFAULT_MAX_CELLS = 262144;

const BLOCK_SHIFT = 12n;

export function geometryFor(sizeBytes: bigint, maxCells = DEFAULT_MAX_CELLS): GridGeometry {
  // A partial last block is a real block.
  const blocks = Number((sizeBytes + BigInt(BLOCK_SIZE - 1)) >> BLOCK_SHIFT);
  let blocksPerCell = 1;
  while (Math.ceil(blocks / blocksPerCell) > maxCells) blocksPerCell *= 2;
  const cells = Math.max(1, Math.ceil(blocks / blocksPerCell));
  // A power-of-two row width that makes the grid near square: 64 MiB → 128 × 128.
  const width = 2 ** Math.ceil(Math.log2(Math.sqrt(cells)));
  const height = Math.max(1, Math.ceil(cells / width));
  return { blocks, blocksPerCell, cells, width, height };
}

/** Below this, offset + length (< 2^52 + 2^32) is exact as a Number: the fast path. */
const NUMBER_PATH = 2n ** 52n;

/** Blocks touched by [offset, offset+length): partially covered blocks count. */
export function blockRange(offset: bigint, length: number): [first: number, end: number] {
  // Every request of every disk comes through here: one bigint compare and one conversion
  // instead of four bigint operations (which were 15 % of DiskStats' time under a flood).
  if (offset < NUMBER_PATH) {
    const o = Number(offset);
    const start = Math.floor(o / BLOCK_SIZE);
    return [start, Math.max(Math.ceil((o + length) / BLOCK_SIZE), start + (length > 0 ? 1 : 0))];
  }
  const first = Number(offset >> BLOCK_SHIFT);
  const endByte = offset + BigInt(length);
  const end = Number((endByte + BigInt(BLOCK_SIZE - 1)) >> BLOCK_SHIFT);
  return [first, Math.max(end, first + (length > 0 ? 1 : 0))];
}

export function cellOfBlock(g: GridGeometry, block: number): number {
  return Math.floor(block / g.blocksPerCell);
}

/** The byte offset where a cell starts (bigint: cells of a 7 EiB disk start past 2^53). */
export function cellStartByte(g: GridGeometry, cell: number): bigint {
  return BigInt(cell) * BigInt(g.blocksPerCell) * BigInt(BLOCK_SIZE);
}

/** "1 px = 4 KiB", "1 px = 64 KiB", "1 px = 32 TiB". */
export function cellLabel(g: GridGeometry): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = g.blocksPerCell * 4;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `1 px = ${v} ${units[u]}`;
}
