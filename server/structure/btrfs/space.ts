// Where things are on this device: the extent tree's EXTENT_ITEM and METADATA_ITEM keys say which
// logical bytes are allocated (what a block group holds besides them is free), and each chunk's
// stripes on this device are its block group's bytes here. What was found in logical addresses
// (tree blocks, file extents, free space) is placed into every copy of its block group.

import { firstRegionEndingAfter, normalise, type LinearSpace, type Region } from '../model.ts';
import { isLinear, profileOf, stripeBytes, usageOf, type Chunk } from './chunks.ts';
import { itemsOf, warn, type Btrfs, type TreeBlock } from './tree.ts';

const EXTENT_ITEM = 168;
const METADATA_ITEM = 169;
/** Allocated extents listed at most (each a pair of numbers). */
const MAX_USED = 4_000_000;
/** Free pieces listed at most: a fragmented filesystem would otherwise make a region per gap. */
const MAX_FREE = 65536;

/** Allocated extents in logical addresses, as the extent tree lists them (in key order). */
export interface Used {
  starts: bigint[];
  ends: bigint[];
  complete: boolean;
}

export const newUsed = (): Used => ({ starts: [], ends: [], complete: true });

/** An extent tree leaf's allocations: key (bytenr, EXTENT_ITEM, length) or (bytenr, METADATA_ITEM, level). */
export function collectUsed(x: Btrfs, used: Used, leaf: TreeBlock): void {
  for (const it of itemsOf(x, leaf)) {
    if (it.type !== EXTENT_ITEM && it.type !== METADATA_ITEM) continue;
    if (used.starts.length >= MAX_USED) {
      if (used.complete)
        warn(x, `more than ${MAX_USED} allocated extents: free space inside block groups is not shown`);
      used.complete = false;
      return;
    }
    used.starts.push(it.objectid);
    used.ends.push(it.objectid + (it.type === EXTENT_ITEM ? it.offset : BigInt(x.sb.nodeSize)));
  }
}

/** Free logical ranges of each block group: what no allocated extent covers. */
export function freeRegions(x: Btrfs, used: Used, object: string): Region[] {
  const out: Region[] = [];
  if (!used.complete) return out;
  // Key order is bytenr order; sort anyway (damage can disorder keys), by index.
  const order = used.starts
    .map((_, i) => i)
    .sort((a, b) => (used.starts[a] < used.starts[b] ? -1 : used.starts[a] > used.starts[b] ? 1 : 0));
  let k = 0;
  for (const c of x.chunks.all) {
    let at = c.logical;
    const end = c.logical + c.length;
    while (k < order.length && used.ends[order[k]] <= c.logical) k++;
    for (let j = k; j < order.length && used.starts[order[j]] < end; j++) {
      const s = used.starts[order[j]];
      if (s > at) out.push({ start: at, end: s, kind: 'free', label: 'free', object });
      if (used.ends[order[j]] > at) at = used.ends[order[j]];
      if (out.length >= MAX_FREE) {
        warn(x, `free space in more than ${MAX_FREE} pieces: the rest is not shown as free`);
        return out;
      }
    }
    if (at < end) out.push({ start: at, end, kind: 'free', label: 'free', object });
  }
  return out;
}

/**
 * A region per stripe of each chunk on this device, named after its block group; the content of
 * linear profiles (single, DUP, RAID1…) is the logical regions inside the chunk, the same for
 * every copy.
 */
export function blockGroupRegions(x: Btrfs, logical: Region[]): Region[] {
  const sorted = normalise(logical);
  const out: Region[] = [];
  let striped = false;
  for (const c of x.chunks.all) {
    const mine = c.stripes.filter((s) => s.devid === x.sb.devid);
    if (mine.length === 0) continue;
    const usage = usageOf(c.type);
    const profile = profileOf(c.type);
    const object = x.ctx.object({
      id: `${x.place.id}.bg.${c.logical}`,
      kind: 'reserved',
      label: `${usage} block group at logical ${c.logical} (${profile})`,
      where: x.place.where,
    });
    const bytes = stripeBytes(c);
    const inner = isLinear(c) ? contentOf(c, sorted) : undefined;
    if (!inner && !striped) {
      striped = true;
      warn(x, `${profile} block groups are striped across devices: their content is not mapped`);
    }
    mine.forEach((s, i) => {
      if (bytes === 0n || s.offset + bytes > x.devEnd) {
        warn(
          x,
          `${usage} block group at logical ${c.logical}: its stripe at byte ${s.offset} lies past the device's end`,
        );
        return;
      }
      const copy = mine.length > 1 ? `, copy ${i + 1}` : '';
      out.push({
        start: s.offset,
        end: s.offset + bytes,
        kind: 'reserved',
        label: `${usage} block group (${profile}${copy})`,
        object,
        inner,
      });
    });
  }
  return out;
}

/** The regions inside chunk `c`, moved so that the chunk's logical start is 0 (cut at its end). */
function contentOf(c: Chunk, sorted: Region[]): LinearSpace {
  const end = c.logical + c.length;
  const regions: Region[] = [];
  for (let i = firstRegionEndingAfter(sorted, c.logical); i < sorted.length && sorted[i].start < end; i++) {
    const r = sorted[i];
    // Everything was checked to lie inside one chunk; a region starting before it is not this chunk's.
    if (r.start < c.logical) continue;
    regions.push({ ...r, start: r.start - c.logical, end: (r.end < end ? r.end : end) - c.logical });
  }
  return { type: 'linear', regions };
}
