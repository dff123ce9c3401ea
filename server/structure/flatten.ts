// Turn a decoded tree into labelled leaf ranges of one disk, for any window of it: the whole
// disk (the map, the overlay) or one 4 KiB block (the hover chain). Each leaf carries its full
// chain of labels, outermost first, with exact words for its own range (file offsets, array
// blocks). Mapped spaces (md members, LVM PVs) recurse into the virtual device they hold.

import type { ChainLink, RegionKind } from '../shared/structure.ts';
import { firstRegionEndingAfter, type Describe, type Space } from './model.ts';

export interface Leaf {
  start: bigint;
  end: bigint;
  kind: RegionKind;
  chain: ChainLink[];
  /** md stripe this leaf belongs to ("md:<uuid>:<stripe>"), data or parity. */
  stripe?: string;
}

export interface FlattenOptions {
  /** Resolve members of assembled devices (md data areas, LVM data areas). */
  resolve: (key: string) => Space | undefined;
  /** Stop after this many leaves (the caller reports the map as truncated). */
  maxLeaves: number;
}

interface Frame {
  /** Added to space offsets to get disk offsets. */
  shift: bigint;
  chain: ChainLink[];
  stripe?: string;
}

const link = (label: string, object?: string, sharedWith?: string[]): ChainLink => {
  const l: ChainLink = object ? { label, object } : { label };
  if (sharedWith) l.sharedWith = sharedWith;
  return l;
};
const words = (label: string, describe: Describe | undefined, a: bigint, b: bigint) =>
  describe ? describe(a, b) : label;

/** Leaves of `space` within [from, to) (space coordinates), appended to `out` in disk order. */
export function flatten(
  space: Space | undefined,
  from: bigint,
  to: bigint,
  f: Frame,
  o: FlattenOptions,
  out: Leaf[],
): void {
  if (!space || from >= to || out.length >= o.maxLeaves) return;
  if (space.type === 'member') {
    const resolved = o.resolve(space.key);
    const at = space.offset ?? 0n;
    if (resolved) flatten(resolved, from + at, to + at, { ...f, shift: f.shift - at }, o, out);
    else
      out.push({
        start: from + f.shift,
        end: to + f.shift,
        kind: 'container',
        chain: [...f.chain, link(space.fallback)],
      });
    return;
  }
  if (space.type === 'mapped') {
    for (const p of space.pieces(from, to)) {
      if (out.length >= o.maxLeaves) return;
      const a = p.start > from ? p.start : from;
      const b = p.end < to ? p.end : to;
      if (a >= b) continue;
      const stripe = p.stripe ?? f.stripe;
      if (!p.target) {
        out.push({
          start: a + f.shift,
          end: b + f.shift,
          kind: p.kind,
          chain: [...f.chain, link(words(p.label, p.describe, a - p.start, b - p.start), p.object)],
          ...(stripe ? { stripe } : {}),
        });
        continue;
      }
      // The piece holds target bytes [t + (a - p.start), …): flatten the target there, then
      // name this piece's link for each sub-leaf's exact range.
      const t = p.target.offset - p.start;
      const first = out.length;
      flatten(p.target.space, a + t, b + t, { shift: 0n, chain: [] }, o, out);
      const inner = out.splice(first);
      let at = a;
      const emit = (x: bigint, y: bigint, rest: ChainLink[], kind: RegionKind) =>
        out.push({
          start: x + f.shift,
          end: y + f.shift,
          kind,
          chain: [...f.chain, link(words(p.label, p.describe, x - p.start, y - p.start), p.object), ...rest],
          ...(stripe ? { stripe } : {}),
        });
      for (const leaf of inner) {
        const x = leaf.start - t;
        if (x > at) emit(at, x, [], p.kind);
        emit(x, leaf.end - t, leaf.chain, leaf.kind);
        at = leaf.end - t;
      }
      if (at < b) emit(at, b, [], p.kind);
    }
    return;
  }
  const regions = space.regions;
  for (let i = firstRegionEndingAfter(regions, from); i < regions.length && regions[i].start < to; i++) {
    if (out.length >= o.maxLeaves) return;
    const r = regions[i];
    const a = r.start > from ? r.start : from;
    const b = r.end < to ? r.end : to;
    // Chains are built once per region and shared by its leaves (thousands: keep garbage down).
    const chain = r.prefix ? [...f.chain, ...r.prefix.map((l) => link(l))] : f.chain;
    const full = r.label
      ? [...chain, link(words(r.label, r.describe, a - r.start, b - r.start), r.object, r.sharedWith)]
      : chain;
    if (!r.inner) {
      const leaf: Leaf = { start: a + f.shift, end: b + f.shift, kind: r.kind, chain: full };
      if (f.stripe) leaf.stripe = f.stripe;
      out.push(leaf);
      continue;
    }
    // Content of the region; what the content leaves uncovered is the region itself.
    const first = out.length;
    flatten(r.inner, a - r.start, b - r.start, { shift: f.shift + r.start, chain: full, stripe: f.stripe }, o, out);
    fillHoles(out, first, a + f.shift, b + f.shift, r.kind, full, f.stripe);
  }
}

/** Insert leaves for the parts of [a, b) that out[first…] does not cover. */
function fillHoles(
  out: Leaf[],
  first: number,
  a: bigint,
  b: bigint,
  kind: RegionKind,
  chain: ChainLink[],
  stripe?: string,
): void {
  const inner = out.splice(first);
  let at = a;
  const hole = (x: bigint, y: bigint) => out.push({ start: x, end: y, kind, chain, ...(stripe ? { stripe } : {}) });
  for (const leaf of inner) {
    if (leaf.start > at) hole(at, leaf.start);
    out.push(leaf);
    at = leaf.end;
  }
  if (at < b) hole(at, b);
}
