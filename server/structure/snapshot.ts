// One decode's answers, ready for the API: per-disk labelled leaves (sorted, for binary search),
// per-cell kinds for the overlay, the object list with sizes, and the blocks of an object on
// every disk (a file on RAID 5: its data and the parity of the stripes it touches).

import { kindIndex, linkBelongsTo, NO_KIND, type ChainLink, type StructureObject } from '../shared/structure.ts';
import type { GridGeometry } from '../shared/types.ts';
import { leavesOf, type DecodeResult } from './decode.ts';
import type { Leaf } from './flatten.ts';
import { firstRegionEndingAfter } from './model.ts';

/** Most leaves kept per disk for the map and the overlay (the hover chain is always exact). */
export const MAX_LEAVES_PER_DISK = 400_000;

export interface DiskAnswer {
  leaves: Leaf[];
  truncated: boolean;
}

export class StructureSnapshot {
  readonly disks = new Map<number, DiskAnswer>();
  private objectBytes = new Map<string, bigint>();
  /** The disks each object has bytes on (the panel says where a region is). */
  private objectDisks = new Map<string, Set<number>>();

  constructor(
    readonly result: DecodeResult,
    sizes: Map<number, bigint>,
  ) {
    for (const [disk, size] of sizes) {
      const leaves = leavesOf(result, disk, 0n, size, MAX_LEAVES_PER_DISK);
      this.disks.set(disk, { leaves, truncated: leaves.length >= MAX_LEAVES_PER_DISK });
      for (const l of leaves) {
        const bytes = l.end - l.start;
        // Each object once per leaf (a chain may name one twice, rarely); shared blocks count
        // for every file sharing them, as each file's size does.
        const ids = new Set<string>();
        for (const c of l.chain) {
          if (c.object) ids.add(c.object);
          if (c.sharedWith) for (const id of c.sharedWith) ids.add(id);
        }
        for (const id of ids) {
          this.objectBytes.set(id, (this.objectBytes.get(id) ?? 0n) + bytes);
          let on = this.objectDisks.get(id);
          if (!on) this.objectDisks.set(id, (on = new Set()));
          on.add(disk);
        }
      }
    }
  }

  leaves(disk: number): Leaf[] {
    return this.disks.get(disk)?.leaves ?? [];
  }

  /** Leaves overlapping [from, to), exact (re-flattened from the tree, so labels name exact offsets). */
  partsAt(disk: number, from: bigint, to: bigint): Leaf[] {
    return leavesOf(this.result, disk, from, to, 64);
  }

  /** The leaf containing `offset`, from the kept leaves (cheap: used per request for the activity line). */
  leafAt(disk: number, offset: bigint): Leaf | undefined {
    const leaves = this.leaves(disk);
    const i = firstRegionEndingAfter(leaves, offset);
    return i < leaves.length && leaves[i].start <= offset ? leaves[i] : undefined;
  }

  /** One byte per grid cell: the highest-priority kind any leaf in the cell has (NO_KIND if none). */
  overlay(disk: number, g: GridGeometry): Uint8Array {
    const cells = new Uint8Array(g.cells).fill(NO_KIND);
    const cellBytes = BigInt(g.blocksPerCell) * 4096n;
    for (const l of this.leaves(disk)) {
      const k = kindIndex(l.kind);
      const first = Number(l.start / cellBytes);
      const last = Math.min(g.cells - 1, Number((l.end - 1n) / cellBytes));
      for (let c = first; c <= last; c++) if (cells[c] === NO_KIND || cells[c] < k) cells[c] = k;
    }
    return cells;
  }

  objects(): StructureObject[] {
    const out: StructureObject[] = [];
    for (const o of this.result.objects.values()) {
      const bytes = this.objectBytes.get(o.id) ?? 0n;
      if (bytes > 0n) out.push({ ...o, bytes: bytes.toString(), disks: this.disksOf(o.id) });
    }
    return out;
  }

  object(id: string): StructureObject | null {
    const o = this.result.objects.get(id);
    return o ? { ...o, bytes: (this.objectBytes.get(id) ?? 0n).toString(), disks: this.disksOf(id) } : null;
  }

  private disksOf(id: string): number[] {
    return [...(this.objectDisks.get(id) ?? [])].sort((a, b) => a - b);
  }

  /** Block runs of an object on every disk, and of the parity covering its stripes. */
  objectBlocks(
    id: string,
  ): Array<{ disk: number; runs: Array<[number, number]>; parityRuns: Array<[number, number]> }> {
    const has = (chain: ChainLink[]) => chain.some((c) => linkBelongsTo(c, id));
    const stripes = new Set<string>();
    for (const d of this.disks.values())
      for (const l of d.leaves) if (l.stripe && l.kind !== 'parity' && has(l.chain)) stripes.add(l.stripe);
    const out = [];
    for (const [disk, d] of this.disks) {
      const runs = blockRuns(d.leaves.filter((l) => has(l.chain)));
      const parityRuns = stripes.size
        ? blockRuns(d.leaves.filter((l) => l.kind === 'parity' && l.stripe && stripes.has(l.stripe)))
        : [];
      if (runs.length || parityRuns.length) out.push({ disk, runs, parityRuns });
    }
    return out;
  }
}

/** Merge leaves into [first, end) runs of 4 KiB blocks (partial blocks count). */
function blockRuns(leaves: Leaf[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const l of leaves) {
    const a = Number(l.start / 4096n);
    const b = Number((l.end + 4095n) / 4096n);
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
