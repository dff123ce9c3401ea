// The exFAT decoder's safety limits, each on a volume written field by field onto a sparse RAM
// disk (the memory backend, so a 2 TiB volume costs only the pages written): what a hostile
// or damaged boot sector or root directory could make it allocate, read or list is bounded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SparseMemoryBackend } from '../../backends/memory.ts';
import { BackendSource } from '../backend-source.ts';
import { decodeDisks, leavesOf, type DecodeOptions } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import type { ByteSource } from '../source.ts';
import { lastLabel } from '../test-support.ts';
import { bootChecksum, FAT_END } from './boot.ts';

const S = 512;
const MiB = 1 << 20;

/**
 * An exFAT volume of `clusterCount` clusters of 2^clusterShift sectors, its root directory at
 * cluster `root`: main and backup boot regions, one FAT (entries 0 and 1 set, the rest zero)
 * right after them, the cluster heap right after the FAT, the disk just large enough.
 */
function exfatDisk(clusterShift: number, clusterCount: number, root: number) {
  const fatLength = Math.ceil(((clusterCount + 2) * 4) / S);
  const heapOffset = 24 + fatLength;
  const volumeLength = BigInt(heapOffset) + BigInt(clusterCount) * BigInt(2 ** clusterShift);
  const disk = new SparseMemoryBackend(volumeLength * BigInt(S));
  const put = (at: bigint | number, b: Buffer) => disk.pwrite(b, BigInt(at));
  const boot = Buffer.alloc(12 * S);
  Buffer.from([0xeb, 0x76, 0x90]).copy(boot, 0);
  boot.write('EXFAT   ', 3, 'latin1');
  boot.writeBigUInt64LE(volumeLength, 72);
  boot.writeUInt32LE(24, 80);
  boot.writeUInt32LE(fatLength, 84);
  boot.writeUInt32LE(heapOffset, 88);
  boot.writeUInt32LE(clusterCount, 92);
  boot.writeUInt32LE(root, 96);
  boot.writeUInt16LE(0x0100, 104);
  boot.writeUInt8(9, 108);
  boot.writeUInt8(clusterShift, 109);
  boot.writeUInt8(1, 110);
  boot.writeUInt16LE(0xaa55, 510);
  const sum = bootChecksum(boot, S);
  for (let i = 11 * S; i < 12 * S; i += 4) boot.writeUInt32LE(sum, i);
  const clusterByte = (c: number) => BigInt(heapOffset) * BigInt(S) + BigInt(c - 2) * BigInt(S << clusterShift);
  const fat = (c: number, next: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(next >>> 0);
    return put(24 * S + c * 4, b);
  };
  return {
    disk,
    clusterByte,
    fat,
    async init() {
      await put(0, boot);
      await put(12 * S, boot);
      await fat(0, 0xfffffff8);
      await fat(1, FAT_END);
    },
    put,
    /** A chain first → first+1 → … of n clusters, ended. */
    async chain(first: number, n: number) {
      for (let c = first; c < first + n; c++) await fat(c, c + 1 < first + n ? c + 1 : FAT_END);
    },
    /** The root directory's first cluster: an Allocation Bitmap entry and nothing after it. */
    rootWithBitmap(bitmapCluster: number, bitmapBytes: number) {
      const e = Buffer.alloc(32);
      e.writeUInt8(0x81, 0);
      e.writeUInt32LE(bitmapCluster, 20);
      e.writeBigUInt64LE(BigInt(bitmapBytes), 24);
      return put(clusterByte(root), e);
    },
  };
}

/** The label of the leaf holding `byte`. */
const labelAt = (leaves: Leaf[], byte: bigint) => lastLabel(leaves.find((l) => l.start <= byte && byte < l.end)!);

async function decode(source: ByteSource, o: DecodeOptions = {}): Promise<{ warnings: string[]; leaves: Leaf[] }> {
  const r = await decodeDisks([{ disk: 1, source }], o);
  return { warnings: r.warnings, leaves: leavesOf(r, 1, 0n, source.size) };
}

test('a boot sector claiming 2^32 clusters: claimed-cluster bits are made where claimed, not 512 MiB of them', async () => {
  // Root directory at cluster 2, allocation bitmap at the heap's far end (2 TiB in): both are
  // claimed. A bit per cluster of the whole heap would be 512 MiB (ArrayBuffer memory).
  const count = 0xfffffff5;
  const far = count - 8;
  const v = exfatDisk(0, count, 2);
  await v.init();
  await v.chain(2, 1);
  await v.chain(far, 1);
  await v.rootWithBitmap(far, 512);
  const source = new BackendSource(v.disk);
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  // Sampled at every read: the claims happen between reads.
  const sampling: ByteSource = {
    size: source.size,
    read: (offset, length) => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      return source.read(offset, length);
    },
  };
  const { warnings, leaves } = await decode(sampling);
  peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  assert.deepEqual(warnings, [
    `exFAT on disk 1: allocation bitmap: 512 bytes cannot cover ${count} clusters`,
    'exFAT on disk 1: no allocation bitmap in the root directory: free space is not shown',
  ]);
  assert.equal(labelAt(leaves, v.clusterByte(2) + 32n), 'root directory');
  assert.equal(labelAt(leaves, v.clusterByte(far)), 'allocation bitmap');
  assert.ok(v.clusterByte(far) > 2n ** 41n, 'the bitmap lies 2 TiB in');
  assert.ok(peak - before < 64 * MiB, `ArrayBuffer memory grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
});

test('a root directory whose FAT chain goes on past 256 MiB is read to 256 MiB, and says so', async () => {
  // 32 MiB clusters: the bitmap at cluster 2, the root's chain 3 → 4 → … → 11 (288 MiB).
  const v = exfatDisk(16, 16, 3);
  await v.init();
  await v.chain(2, 1);
  await v.chain(3, 9);
  await v.rootWithBitmap(2, 2);
  await v.put(v.clusterByte(2), Buffer.from([0xff, 0x0f])); // clusters 2–13 in use
  // The default budget (256 MiB a pass) would stop the decode before either limit is reached.
  const { warnings, leaves } = await decode(new BackendSource(v.disk), { maxBytes: 1024 * MiB });
  assert.equal(labelAt(leaves, v.clusterByte(3) + 32n), 'root directory');
  assert.equal(labelAt(leaves, v.clusterByte(11) - 1n), 'root directory');
  assert.equal(labelAt(leaves, v.clusterByte(11)), 'in use (no owner found)');
  assert.deepEqual(warnings, [
    'exFAT on disk 1: root directory: its cluster chain goes on past 8 clusters (256 MiB, the most a directory holds); the rest is not read',
  ]);
});

test('free space in more pieces than 65,536: the first 65,536 listed, and a warning', async () => {
  // 512-byte clusters; the bitmap says clusters 2–41 (root, bitmap) are in use, then every
  // other cluster: 66,016 free clusters, none next to another.
  const count = 2 * 65536 + 1000;
  const bitmapBytes = Math.ceil(count / 8);
  const bitmapClusters = Math.ceil(bitmapBytes / S);
  const v = exfatDisk(0, count, 2);
  await v.init();
  await v.chain(2, 1);
  await v.chain(3, bitmapClusters);
  await v.rootWithBitmap(3, bitmapBytes);
  const bitmap = Buffer.alloc(bitmapBytes, 0x55);
  bitmap.fill(0xff, 0, 5);
  await v.put(v.clusterByte(3), bitmap);
  const t0 = performance.now();
  const { warnings, leaves } = await decode(new BackendSource(v.disk));
  assert.ok(performance.now() - t0 < 5000, 'decoded in under 5 s');
  const free = leaves.filter((l) => l.kind === 'free');
  assert.equal(free.length, 65536);
  assert.ok(free.every((l) => l.end - l.start === BigInt(S)));
  assert.equal(free[0].start, v.clusterByte(43));
  assert.equal(free.at(-1)!.start, v.clusterByte(43 + 2 * 65535));
  assert.equal(labelAt(leaves, v.clusterByte(43 + 2 * 65536)), 'in use (no owner found)');
  assert.deepEqual(warnings, ['exFAT on disk 1: free space in more than 65536 pieces: the rest is not shown as free']);
});
