// One decode pass over a set of disks: probe each disk, assemble what spans disks (md arrays,
// LVM volume groups) and decode their content, and record which blocks of which disk every
// answer depended on. Pure with respect to the engine: it only reads through the sources.

import { contentSpace, DecodeContext } from './context.ts';
import { flatten, type Leaf } from './flatten.ts';
import { assembleLvm } from './lvm/vg.ts';
import { assembleMd, type ArrayInfo } from './md/array.ts';
import type { DecodedObject, Space } from './model.ts';
import { probe } from './probe.ts';
import {
  BudgetExhausted,
  DecodeBudget,
  DependencySet,
  TrackedSource,
  locateOnDisk,
  type ByteSource,
  type PageCache,
} from './source.ts';

export interface DiskInput {
  disk: number;
  source: ByteSource;
  /** Pages kept from an earlier decode (the live service drops the written ones). */
  cache?: PageCache;
}

export interface DecodeResult {
  /** What each disk holds (null: nothing recognised). */
  trees: Map<number, Space | null>;
  /** Meaning of md/LVM member data areas, by member key. */
  members: Map<string, Space>;
  /** md arrays assembled from the disks. */
  arrays: ArrayInfo[];
  objects: Map<string, DecodedObject>;
  /** Per disk, the 4 KiB block runs this answer was read from. */
  deps: Map<number, Array<[number, number]>>;
  warnings: string[];
  truncated: boolean;
  ms: number;
}

export interface DecodeOptions {
  maxBytes?: number;
  maxFiles?: number;
}

export async function decodeDisks(inputs: DiskInput[], o: DecodeOptions = {}): Promise<DecodeResult> {
  const t0 = performance.now();
  const budget = new DecodeBudget(o.maxBytes, o.maxFiles);
  const ctx = new DecodeContext(budget, probe);
  const depSets = new Map<number, DependencySet>();
  const trees = new Map<number, Space | null>();
  const members = new Map<string, Space>();
  const arrays: ArrayInfo[] = [];
  const roots = new Map<ByteSource, number>();
  try {
    for (const { disk, source, cache } of inputs) {
      const deps = new DependencySet();
      depSets.set(disk, deps);
      const tracked = new TrackedSource(source, deps, budget, cache);
      roots.set(tracked, disk);
      const found = await probe(tracked, ctx, { id: `d${disk}`, where: `disk ${disk}` });
      trees.set(disk, found ? contentSpace(found, source.size) : null);
    }
    await assembleMd(ctx.members, ctx, members, arrays, (src) => locateOnDisk(src, roots));
    await assembleLvm(ctx.members, ctx, members);
  } catch (err) {
    if (!(err instanceof BudgetExhausted)) throw err;
    budget.warn(err.message);
  }
  const deps = new Map<number, Array<[number, number]>>();
  for (const [disk, set] of depSets) deps.set(disk, set.merged());
  return {
    trees,
    members,
    arrays,
    objects: ctx.objects,
    deps,
    warnings: budget.warnings,
    truncated: budget.truncated,
    ms: performance.now() - t0,
  };
}

/** Labelled leaves of one disk within [from, to) bytes. */
export function leavesOf(r: DecodeResult, disk: number, from: bigint, to: bigint, maxLeaves = 1_000_000): Leaf[] {
  const out: Leaf[] = [];
  flatten(
    r.trees.get(disk) ?? undefined,
    from,
    to,
    { shift: 0n, chain: [] },
    { resolve: (k) => r.members.get(k), maxLeaves },
    out,
  );
  return out;
}
