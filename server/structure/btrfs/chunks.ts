// Chunks: btrfs's logical address space is cut into chunks (one per block group), each placed
// on devices by its stripes. The superblock's sys_chunk_array holds the system chunks (where
// the chunk tree lives), the chunk tree all of them. Layouts from the kernel's btrfs_tree.h
// (struct btrfs_chunk, struct btrfs_stripe).

/** Block group type and profile bits (BTRFS_BLOCK_GROUP_*). */
export const BG = {
  data: 1n << 0n,
  system: 1n << 1n,
  metadata: 1n << 2n,
  raid0: 1n << 3n,
  raid1: 1n << 4n,
  dup: 1n << 5n,
  raid10: 1n << 6n,
  raid5: 1n << 7n,
  raid6: 1n << 8n,
  raid1c3: 1n << 9n,
  raid1c4: 1n << 10n,
} as const;

const PROFILES: Array<[bigint, string]> = [
  [BG.raid0, 'RAID0'],
  [BG.raid1, 'RAID1'],
  [BG.dup, 'DUP'],
  [BG.raid10, 'RAID10'],
  [BG.raid5, 'RAID5'],
  [BG.raid6, 'RAID6'],
  [BG.raid1c3, 'RAID1C3'],
  [BG.raid1c4, 'RAID1C4'],
];

export interface Stripe {
  devid: bigint;
  /** Byte on that device where this stripe starts. */
  offset: bigint;
}

export interface Chunk {
  /** Logical address of the chunk (the key's offset) and its length. */
  logical: bigint;
  length: bigint;
  type: bigint;
  stripeLen: bigint;
  subStripes: number;
  stripes: Stripe[];
}

/** Fixed part of struct btrfs_chunk, and one struct btrfs_stripe. */
export const CHUNK_ITEM_BYTES = 48;
export const STRIPE_BYTES = 32;
/** More stripes than any chunk item fits in a 64 KiB leaf: damage. */
const MAX_STRIPES = 2048;

/** Parse a chunk item at `b[at…]` (at most `limit` bytes), or say why it cannot be one. */
export function parseChunk(b: Buffer, at: number, limit: number, logical: bigint): Chunk | string {
  if (limit < CHUNK_ITEM_BYTES) return `chunk item of ${limit} bytes is shorter than ${CHUNK_ITEM_BYTES}`;
  const n = b.readUInt16LE(at + 44);
  if (n === 0 || n > MAX_STRIPES) return `chunk at logical ${logical} has ${n} stripes`;
  if (CHUNK_ITEM_BYTES + n * STRIPE_BYTES > limit)
    return `chunk at logical ${logical}: ${n} stripes do not fit its ${limit} bytes`;
  const length = b.readBigUInt64LE(at);
  if (length === 0n) return `chunk at logical ${logical} has length 0`;
  const stripes: Stripe[] = [];
  for (let i = 0; i < n; i++) {
    const s = at + CHUNK_ITEM_BYTES + i * STRIPE_BYTES;
    stripes.push({ devid: b.readBigUInt64LE(s), offset: b.readBigUInt64LE(s + 8) });
  }
  return {
    logical,
    length,
    type: b.readBigUInt64LE(at + 24),
    stripeLen: b.readBigUInt64LE(at + 16),
    subStripes: b.readUInt16LE(at + 46),
    stripes,
  };
}

/** "single", "DUP", "RAID1" …: the profile of a chunk's type bits. */
export function profileOf(type: bigint): string {
  for (const [bit, name] of PROFILES) if (type & bit) return name;
  return 'single';
}

/** "data", "metadata", "system", "data+metadata" (mixed block groups). */
export function usageOf(type: bigint): string {
  const parts = [];
  if (type & BG.data) parts.push('data');
  if (type & BG.metadata) parts.push('metadata');
  if (type & BG.system) parts.push('system');
  return parts.join('+') || 'untyped';
}

/**
 * Bytes each stripe of `c` holds on its device (the kernel's calc_stripe_length): a whole copy
 * for single, DUP and the RAID1s; a share for the striped profiles. 0 when the numbers do not
 * add up (damage).
 */
export function stripeBytes(c: Chunk): bigint {
  const n = BigInt(c.stripes.length);
  if (c.type & BG.raid0) return c.length / n;
  if (c.type & BG.raid10) return c.subStripes > 0 ? (c.length * BigInt(c.subStripes)) / n : 0n;
  if (c.type & BG.raid5) return n > 1n ? c.length / (n - 1n) : 0n;
  if (c.type & BG.raid6) return n > 2n ? c.length / (n - 2n) : 0n;
  return c.length;
}

/**
 * True when every stripe of `c` holds the chunk's bytes in order (single, DUP, RAID1, RAID1C3/4,
 * or a RAID0 of one stripe): logical byte chunk.logical + x is at stripe.offset + x. The striped
 * profiles spread the chunk over several devices; they are named but their content not mapped.
 */
export const isLinear = (c: Chunk) =>
  (c.type & (BG.raid0 | BG.raid10 | BG.raid5 | BG.raid6)) === 0n ||
  ((c.type & BG.raid0) !== 0n && c.stripes.length === 1);

/** Chunks sorted by logical address, with lookups. */
export class ChunkMap {
  private chunks: Chunk[] = [];

  /** Add a chunk; one overlapping a chunk already known is refused (the reason returned). */
  add(c: Chunk): string | null {
    const i = this.indexAfter(c.logical);
    const before = this.chunks[i - 1];
    const after = this.chunks[i];
    if (before && before.logical === c.logical && before.length === c.length) return null; // known (sys_chunk_array)
    if ((before && before.logical + before.length > c.logical) || (after && c.logical + c.length > after.logical))
      return `chunk at logical ${c.logical} (${c.length} bytes) overlaps another`;
    this.chunks.splice(i, 0, c);
    return null;
  }

  get all(): readonly Chunk[] {
    return this.chunks;
  }

  /** The chunk holding logical bytes [logical, logical+length), or undefined. */
  find(logical: bigint, length: bigint): Chunk | undefined {
    const c = this.chunks[this.indexAfter(logical) - 1];
    return c && logical + length <= c.logical + c.length ? c : undefined;
  }

  /** Index of the first chunk starting after `logical`. */
  private indexAfter(logical: bigint): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.chunks[mid].logical <= logical) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
