// One exFAT volume being decoded, and how its clusters are found: cluster chains through the
// FAT (read a page at a time, never whole), contiguous NoFatChain runs, and a bit per cluster
// saying it is already claimed, so that a chain that loops or runs into another stops.

import type { DecodeContext, Place } from '../context.ts';
import type { Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { FAT_END, type ExfatBoot } from './boot.ts';
import type { Allocation } from './entries.ts';

/** Runs of consecutive clusters: [first cluster, count]. */
export type Runs = Array<[number, number]>;

export interface Exfat {
  src: ByteSource;
  boot: ExfatBoot;
  ctx: DecodeContext;
  place: Place;
  clusterBytes: number;
  heapStart: bigint;
  /** FAT pages read so far (the FAT of a large volume is never read whole). */
  fatPages: Map<number, Buffer>;
  /**
   * Clusters already given to something, one bit each, in chunks of 64 Ki clusters made when first
   * claimed: a second claim is a loop or a cross-link. (A whole bitmap up front would be 512 MiB
   * for a boot sector claiming 2^32 clusters of a huge sparse disk.)
   */
  owned: Map<number, Uint8Array>;
  /** The budget's file count ran out: clusters nobody claimed may belong to files not walked. */
  itemised: boolean;
  regions: Region[];
}

const FAT_PAGE = 64 * 1024;
/** exFAT caps a directory at 256 MiB (specification §6.2.3); the root has no length to say so. */
export const MAX_DIRECTORY_BYTES = 256n * 1024n * 1024n;

export const clusterByte = (x: Exfat, c: number) => x.heapStart + BigInt(c - 2) * BigInt(x.clusterBytes);
export const warn = (x: Exfat, message: string) => x.ctx.budget.warn(`${x.place.where}: ${message}`);
const inHeap = (x: Exfat, c: number) => c >= 2 && c < x.boot.clusterCount + 2;

/** Mark cluster c owned; true when it already was. */
function claim(x: Exfat, c: number): boolean {
  let chunk = x.owned.get(c >>> 16);
  if (!chunk) x.owned.set(c >>> 16, (chunk = new Uint8Array(8192)));
  const i = (c & 0xffff) >>> 3;
  const bit = 1 << (c & 7);
  const was = (chunk[i] & bit) !== 0;
  chunk[i] |= bit;
  return was;
}

/** FAT entry of cluster c, reading the FAT a page at a time. */
async function fatEntry(x: Exfat, c: number): Promise<number> {
  const page = Math.floor((c * 4) / FAT_PAGE);
  let buf = x.fatPages.get(page);
  if (!buf) {
    const fatStart = BigInt(x.boot.fatOffset) * BigInt(x.boot.bytesPerSector);
    const tableBytes = (x.boot.clusterCount + 2) * 4;
    const from = page * FAT_PAGE;
    buf = await x.src.read(fatStart + BigInt(from), Math.min(FAT_PAGE, tableBytes - from));
    x.fatPages.set(page, buf);
  }
  return buf.readUInt32LE((c * 4) % FAT_PAGE);
}

/**
 * The clusters of an allocation, as runs. `length` null: follow the FAT to its end (the root
 * directory has no length of its own). Loops, cross-links, chains leaving the heap and chains
 * ending early stop the walk with a warning.
 */
export async function clusters(x: Exfat, what: string, alloc: Allocation, length: bigint | null): Promise<Runs> {
  const runs: Runs = [];
  const first = alloc.firstCluster;
  const cb = BigInt(x.clusterBytes);
  const max = x.boot.clusterCount;
  // No length (the root directory): as far as the FAT goes, up to a directory's largest size.
  const bound = length ?? MAX_DIRECTORY_BYTES;
  let need = Number((bound + cb - 1n) / cb > BigInt(max) ? BigInt(max) : (bound + cb - 1n) / cb);
  if (need === 0) return runs;
  if (!inHeap(x, first)) {
    warn(x, `${what}: first cluster ${first} is not in the cluster heap`);
    return runs;
  }
  if (alloc.noFatChain) {
    if (first + need > max + 2) {
      warn(x, `${what}: its ${need} contiguous clusters run past the cluster heap`);
      need = max + 2 - first;
    }
    let shared = -1;
    for (let c = first; c < first + need; c++) {
      if (claim(x, c) && shared < 0) shared = c;
      if ((c & 0xfffff) === 0) await x.ctx.budget.breathe();
    }
    // Once, not per cluster: a damaged length can make millions overlap.
    if (shared >= 0) warn(x, `${what}: cluster ${shared} (and maybe more after it) also belongs to something else`);
    return [[first, need]];
  }
  let c = first;
  for (let n = 0; n < need; n++) {
    if (claim(x, c)) {
      warn(x, `${what}: the cluster chain loops or joins another at cluster ${c}`);
      break;
    }
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === c) last[1]++;
    else runs.push([c, 1]);
    const next = await fatEntry(x, c);
    if (length === null && next === FAT_END) break;
    if (length === null && n + 1 === need) {
      const most =
        need < max ? `${need} clusters (${bound >> 20n} MiB, the most a directory holds)` : `all ${max} clusters`;
      warn(x, `${what}: its cluster chain goes on past ${most}; the rest is not read`);
      break;
    }
    if (n + 1 < need && !inHeap(x, next)) {
      const why = next === FAT_END ? 'ends' : `leaves the cluster heap (FAT entry 0x${next.toString(16)})`;
      warn(x, `${what}: the cluster chain ${why} after ${n + 1} of ${need} clusters`);
      break;
    }
    c = next;
    if (n % 4096 === 4095) await x.ctx.budget.breathe();
  }
  return runs;
}

export async function readRuns(x: Exfat, runs: Runs): Promise<Buffer> {
  const bufs: Buffer[] = [];
  for (const [c, n] of runs) bufs.push(await x.src.read(clusterByte(x, c), n * x.clusterBytes));
  return Buffer.concat(bufs);
}

/** The first `n` clusters of `runs` (a DataLength larger than needed is not read). */
export function firstClusters(runs: Runs, n: number): Runs {
  const out: Runs = [];
  for (const [c, k] of runs) {
    if (n <= 0) break;
    out.push([c, Math.min(k, n)]);
    n -= k;
  }
  return out;
}

/** Disk byte of byte `off` of the content laid out in `runs`. */
export function runsByte(x: Exfat, runs: Runs, off: number): bigint {
  let left = off;
  for (const [c, n] of runs) {
    if (left < n * x.clusterBytes) return clusterByte(x, c) + BigInt(left);
    left -= n * x.clusterBytes;
  }
  return -1n;
}
