// Which files own each disk byte when several files' extents cover the same blocks: XFS reflink
// (`cp --reflink`, on by default) and btrfs reflinks and snapshots let inodes share blocks until
// a write to one copies the written part away. The extents are split at every boundary of every other extent (one sweep
// over them sorted by disk byte), so a partly shared extent gives pieces that name all their
// owners and pieces that name one.

/** Other files named in a shared piece's label; the rest are counted ("and 3 more"). */
export const SHARERS_NAMED = 3;
/** Sharers a shared piece is listed under for picking (the object table); past that, counted only. */
export const SHARERS_PICKABLE = 64;

/** One inode's claim on a range of disk bytes (a data extent). */
export interface Claim {
  /** Disk bytes [start, end) relative to the filesystem (btrfs: logical bytes). */
  start: bigint;
  end: bigint;
  ino: bigint;
}

/** A range of disk bytes and the claims covering all of it. */
export interface OwnedPiece<C extends Claim> {
  start: bigint;
  end: bigint;
  /** The first `maxListed` covering claims by inode number (then disk byte). */
  claims: C[];
  /** How many claims cover the piece (claims.length unless the list was cut). */
  count: number;
}

const byKey = (a: Claim, b: Claim) => (a.ino !== b.ino ? (a.ino < b.ino ? -1 : 1) : a.start < b.start ? -1 : 1);

/**
 * Split `claims` into pieces of disk bytes with one unchanging set of owners, in disk order.
 * O(n log n) for the sort, plus per piece the length of its owner list (at most `maxListed`)
 * and the move of the active list when a claim starts or ends (a memmove of the claims active
 * there: a handful, unless thousands of files share one block).
 */
export function splitByOwners<C extends Claim>(claims: readonly C[], maxListed: number): OwnedPiece<C>[] {
  const starts = claims.filter((c) => c.end > c.start).sort((a, b) => (a.start < b.start ? -1 : 1));
  const ends = [...starts].sort((a, b) => (a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  // The claims covering the current position, ordered by byKey (binary search to insert).
  const active: C[] = [];
  const out: OwnedPiece<C>[] = [];
  let at = 0n;
  let i = 0;
  let j = 0;
  while (j < ends.length) {
    const next = i < starts.length && starts[i].start < ends[j].end ? starts[i].start : ends[j].end;
    if (active.length && next > at)
      out.push({ start: at, end: next, claims: active.slice(0, maxListed), count: active.length });
    at = next;
    for (; j < ends.length && ends[j].end === next; j++) active.splice(active.indexOf(ends[j]), 1);
    for (; i < starts.length && starts[i].start === next; i++) {
      let lo = 0;
      let hi = active.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (byKey(active[mid], starts[i]) < 0) lo = mid + 1;
        else hi = mid;
      }
      active.splice(lo, 0, starts[i]);
    }
  }
  return out;
}
