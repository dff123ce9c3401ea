// btrfs checksums of superblocks and tree blocks: the csum_type of the superblock says which.
// crc32c (Castagnoli, mkfs.btrfs's default) is computed here, sha256 by node:crypto; xxhash64
// and blake2b-256 are not available, so a filesystem using them is refused with a warning. The
// checksum covers everything after the 32-byte csum field and is stored at its start (crc32c as
// a little-endian u32, the rest of the field zero).

import { createHash } from 'node:crypto';

/** The csum_type values of the kernel's btrfs_tree.h (BTRFS_CSUM_TYPE_*). */
export const CSUM_TYPES: Record<number, string> = { 0: 'crc32c', 1: 'xxhash64', 2: 'sha256', 3: 'blake2b' };

/** Bytes at the start of a superblock or tree block that hold its checksum. */
export const CSUM_FIELD = 32;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `b` (initial value and final xor ~0, as the kernel's crc32c shash computes it). */
export function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC32C_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A checker for one csum_type, or null when this decoder cannot compute it. */
export type Checksum = (block: Buffer) => boolean;

export function checksumFor(type: number): Checksum | null {
  if (type === 0) return (block) => crc32c(block.subarray(CSUM_FIELD)) === block.readUInt32LE(0);
  if (type === 2)
    return (block) =>
      createHash('sha256').update(block.subarray(CSUM_FIELD)).digest().equals(block.subarray(0, CSUM_FIELD));
  return null;
}
