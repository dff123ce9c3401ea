// The decoded structure of a byte space (a disk, a partition, an md array, an LVM volume) as a
// tree of regions. Decoders build it; flatten.ts turns it into labelled leaf ranges per disk and
// chain.ts answers "what is at this byte". All offsets are bigint bytes relative to the space.

import type { RegionKind, StructureObject } from '../shared/structure.ts';

/** Describes a sub-range of a region in words, e.g. "/etc/passwd, bytes 0–4095 (inode 12)". */
export type Describe = (relStart: bigint, relEnd: bigint) => string;

/** "block 12" or "blocks 12–20": 4 KiB blocks of a virtual device (md array, LV), as the grid counts them. */
export const blocksText = (a: bigint, b: bigint) =>
  a / 4096n === (b - 1n) / 4096n ? `block ${a / 4096n}` : `blocks ${a / 4096n}–${(b - 1n) / 4096n}`;

export interface Region {
  start: bigint;
  end: bigint;
  kind: RegionKind;
  /** One link of the chain; '' adds no link (a container that only passes its content on). */
  label: string;
  /** Overrides `label` with words for the exact sub-range shown (file offsets, array blocks). */
  describe?: Describe;
  /** Key into the decode's object table (a file, "inode tables", a partition). */
  object?: string;
  /** Other objects these bytes belong to as much as to `object` (files sharing reflinked blocks). */
  sharedWith?: string[];
  /** Chain links shown before `label` without a range of their own ("group 3" › "inode table"). */
  prefix?: string[];
  /** What is inside this region, in coordinates relative to region.start. */
  inner?: Space;
}

/** A space whose regions are laid out in its own byte order (sorted, non-overlapping). */
export interface LinearSpace {
  type: 'linear';
  regions: Region[];
}

/**
 * A piece of a member device that holds another (virtual) device's bytes or is computed from
 * them: "data of md0 chunk 37" (target set) or "parity (P) of stripe 12" (no target).
 */
export interface Piece {
  start: bigint;
  end: bigint;
  kind: RegionKind;
  label: string;
  describe?: Describe;
  object?: string;
  /** The virtual device holding these bytes, and where in it piece.start lands. */
  target?: { space: Space; offset: bigint };
  /** The stripe this piece belongs to (md), so a file's parity can be found: "md:<uuid>:<stripe>". */
  stripe?: string;
}

/** A space computed piece by piece (an md member's data area, an LVM physical volume's extents). */
export interface MappedSpace {
  type: 'mapped';
  size: bigint;
  /** Pieces overlapping [from, to), in order. */
  pieces(from: bigint, to: bigint): Iterable<Piece>;
}

/** A member whose meaning comes from assembling several disks; resolved after assembly. */
export interface MemberRef {
  type: 'member';
  key: string;
  /** Shown when assembly found no meaning for it ("md data area (array not assembled)"). */
  fallback: string;
  /**
   * Where this space's offset 0 lies in the member's resolved space: 0 but for the part of a
   * data area cut off by an overlapping region (spaceFrom), which still holds the same member bytes.
   */
  offset?: bigint;
}

export type Space = LinearSpace | MappedSpace | MemberRef;

/** Something a person can pick: listed in the panel, highlighted on every disk. */
export interface DecodedObject {
  id: string;
  kind: StructureObject['kind'];
  label: string;
  where: string;
}

export function linear(regions: Region[]): LinearSpace {
  return { type: 'linear', regions: normalise(regions) };
}

/**
 * The part of `r` from `start` on. Its words and its content stay those of the same bytes:
 * `describe` and `inner` take offsets relative to the region's start, so the part's are
 * shifted by what was cut.
 */
function partFrom(r: Region, start: bigint): Region {
  const part = { ...r, start };
  const cut = start - r.start;
  const describe = r.describe;
  if (describe) part.describe = (a, b) => describe(a + cut, b + cut);
  if (r.inner) part.inner = spaceFrom(r.inner, cut);
  return part;
}

/** Linear spaces made by spaceFrom: the space they were cut from, and where. */
const cutFrom = new WeakMap<LinearSpace, { whole: LinearSpace; cut: bigint }>();

/**
 * What `space` holds from `cut` on, with `cut` as its offset 0 (the content of a region's part
 * from `cut` on). A linear space's regions are clipped and moved when first read (a cut is rare,
 * but a filesystem has many regions, and a part cut again is cut from the whole once); a mapped
 * space's pieces are moved as they are listed, their words and targets unchanged (both relative
 * to the piece). A member is resolved only after assembly: it keeps its key and records the
 * offset, since the cut part holds the same member bytes and assembly read them where they are.
 */
function spaceFrom(space: Space, cut: bigint): Space {
  if (cut === 0n) return space;
  if (space.type === 'member') return { ...space, offset: (space.offset ?? 0n) + cut };
  if (space.type === 'mapped')
    return {
      type: 'mapped',
      size: space.size > cut ? space.size - cut : 0n,
      *pieces(from, to) {
        for (const p of space.pieces(from + cut, to + cut)) yield { ...p, start: p.start - cut, end: p.end - cut };
      },
    };
  const earlier = cutFrom.get(space);
  const whole = earlier?.whole ?? space;
  const total = (earlier?.cut ?? 0n) + cut;
  let regions: Region[] | undefined;
  const part: LinearSpace = {
    type: 'linear',
    get regions() {
      return (regions ??= regionsFrom(whole.regions, total));
    },
  };
  cutFrom.set(part, { whole, cut: total });
  return part;
}

/** Sorted, disjoint `regions` from `cut` on, moved so that `cut` is 0. */
function regionsFrom(regions: Region[], cut: bigint): Region[] {
  const out: Region[] = [];
  for (let i = firstRegionEndingAfter(regions, cut); i < regions.length; i++) {
    const r = regions[i].start < cut ? partFrom(regions[i], cut) : regions[i];
    out.push({ ...r, start: r.start - cut, end: r.end - cut });
  }
  return out;
}

/**
 * Sort regions and resolve overlaps so every byte belongs to at most one region: where regions
 * overlap, the one listed later wins (decoders list defaults before details). Overlaps are
 * rare, so the sweep is O(n log n) plus a little for each overlap.
 */
export function normalise(regions: Region[]): Region[] {
  const rank = new Map<Region, number>();
  const pending = regions.filter((r) => r.end > r.start);
  pending.forEach((r, i) => rank.set(r, i));
  pending.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : rank.get(a)! - rank.get(b)!));
  const out: Region[] = [];
  const requeue = (r: Region, from: number) => {
    let j = from;
    while (j < pending.length && pending[j].start <= r.start) j++;
    pending.splice(j, 0, r);
  };
  for (let i = 0; i < pending.length; i++) {
    const r = pending[i];
    const last = out[out.length - 1];
    if (!last || last.end <= r.start) {
      out.push(r);
      continue;
    }
    if (rank.get(r)! > rank.get(last)!) {
      // r wins: cut `last` short; what `last` had beyond r comes back later.
      if (last.end > r.end) {
        const tail = partFrom(last, r.end);
        rank.set(tail, rank.get(last)!);
        requeue(tail, i + 1);
      }
      last.end = r.start;
      if (last.end <= last.start) out.pop();
      i--; // compare r with the new last
      continue;
    }
    // `last` wins: r keeps only what lies beyond it.
    if (r.end > last.end) {
      const rest = partFrom(r, last.end);
      rank.set(rest, rank.get(r)!);
      requeue(rest, i + 1);
    }
  }
  return out;
}

/** Cover the gaps of sorted, disjoint `regions` within [start, end) with copies of `filler`. */
export function fillGaps(
  regions: Region[],
  start: bigint,
  end: bigint,
  filler: Omit<Region, 'start' | 'end'>,
): Region[] {
  const out: Region[] = [];
  let at = start;
  for (const r of regions) {
    if (r.start > at) out.push({ ...filler, start: at, end: r.start < end ? r.start : end });
    out.push(r);
    if (r.end > at) at = r.end;
  }
  if (at < end) out.push({ ...filler, start: at, end });
  return out;
}

/** Index of the first region whose end is after `offset` (binary search). */
export function firstRegionEndingAfter(regions: readonly { end: bigint }[], offset: bigint): number {
  let lo = 0;
  let hi = regions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (regions[mid].end <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Error for on-disk data that contradicts itself (the decoder stops at that structure). */
export class DecodeError extends Error {}
