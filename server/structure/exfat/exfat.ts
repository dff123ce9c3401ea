// The exFAT decoder: main and backup boot regions, the FAT(s), and in the cluster heap the
// allocation bitmap, the up-case table, every directory (with its entry sets) and every file by
// path. Only metadata is read: directories, the bitmap, and the FAT pages of chained files.
// Anything that contradicts itself (a chain that loops or leaves the heap, a bad entry set
// checksum) is a warning and stops only that walk.

import type { Decoder, Place } from '../context.ts';
import { fillGaps, linear, normalise, type Region } from '../model.ts';
import { looksLikeExfat } from './boot.ts';
import { BOOT_REGION, chooseBootRegion } from './boot-region.ts';
import { ENTRY, parseDirectory, type DirItem } from './entries.ts';
import {
  MAX_DIRECTORY_BYTES,
  clusterByte,
  clusters,
  firstClusters,
  readRuns,
  runsByte,
  warn,
  type Exfat,
  type Runs,
} from './volume.ts';

export const decodeExfat: Decoder = async (src, ctx, place) => {
  if (src.size < 24n * 512n) return null;
  const sector0 = await src.read(0n, 512);
  if (!looksLikeExfat(sector0)) return null;
  const { boot, fromBackup, warnings } = await chooseBootRegion(src, sector0);
  const fsPlace: Place = { id: `${place.id}.exfat`, where: `exFAT on ${place.where}` };
  const x: Exfat = {
    src,
    boot,
    ctx,
    place: fsPlace,
    clusterBytes: boot.bytesPerSector * boot.sectorsPerCluster,
    heapStart: BigInt(boot.clusterHeapOffset) * BigInt(boot.bytesPerSector),
    fatPages: new Map(),
    owned: new Map(),
    itemised: true,
    regions: [],
  };
  const fsObject = ctx.object({ id: fsPlace.id, kind: 'filesystem', label: 'exFAT', where: place.where });
  for (const w of warnings) warn(x, w);
  x.regions.push(...fixedRegions(x, fromBackup));
  const label = await treeRegions(x);
  const name = `exFAT${label ? ` "${label}"` : ''}`;
  ctx.objects.get(fsObject)!.label = name;

  const S = BigInt(boot.bytesPerSector);
  const volumeEnd = boot.volumeLength * S < src.size ? boot.volumeLength * S : src.size;
  const heapEnd = clusterByte(x, boot.clusterCount + 2);
  const filled = fillGaps(normalise(x.regions), 0n, heapEnd < volumeEnd ? heapEnd : volumeEnd, {
    kind: 'reserved',
    label: x.itemised ? 'in use (no owner found)' : 'in use (not itemised)',
  });
  if (heapEnd < volumeEnd)
    filled.push({ start: heapEnd, end: volumeEnd, kind: 'reserved', label: 'after the cluster heap' });
  if (volumeEnd < src.size)
    filled.push({ start: volumeEnd, end: src.size, kind: 'reserved', label: 'after the volume' });
  return { name, space: linear(filled), object: fsObject };
};

/** The boot regions, the FAT(s) and what lies between; `fromBackup`: the main boot region was refused. */
function fixedRegions(x: Exfat, fromBackup: boolean): Region[] {
  const b = x.boot;
  const S = BigInt(b.bytesPerSector);
  const sec = (n: number) => BigInt(n) * S;
  const where = x.place.where;
  const bootObj = x.ctx.object({ id: `${x.place.id}.boot`, kind: 'superblock', label: 'boot regions', where });
  const fatObj = x.ctx.object({ id: `${x.place.id}.fats`, kind: 'fat', label: 'FAT', where });
  const out: Region[] = [
    { start: sec(24), end: sec(b.fatOffset), kind: 'reserved', label: 'reserved (before the FAT)' },
  ];
  // The main boot region (sectors 0–11) and its backup (12–23), laid out alike (§3).
  for (const [base, prefix, suffix] of [
    [0, '', fromBackup ? ' (refused)' : ''],
    [12, 'backup ', ''],
  ] as const) {
    const part = (from: number, to: number, label: string) =>
      out.push({
        start: sec(base + from),
        end: sec(base + to),
        kind: 'superblock',
        label: prefix + label + suffix,
        object: bootObj,
      });
    for (const [from, to, name] of BOOT_REGION) part(from, to, name);
  }
  for (let k = 0; k < b.fats; k++) {
    const start = sec(b.fatOffset + k * b.fatLength);
    // A second FAT exists only for TexFAT (transaction-safe exFAT), which keeps one FAT in use and the other as its shadow.
    out.push({ start, end: start + sec(b.fatLength), kind: 'fat', label: `FAT ${k + 1}`, object: fatObj });
  }
  const fatsEnd = b.fatOffset + b.fats * b.fatLength;
  out.push({
    start: sec(fatsEnd),
    end: sec(b.clusterHeapOffset),
    kind: 'reserved',
    label: 'reserved (before the cluster heap)',
  });
  return out;
}

/** Regions for runs holding logical bytes of one object; `name` set: sub-ranges are named by their logical offsets. */
function runRegions(x: Exfat, runs: Runs, base: Omit<Region, 'start' | 'end'>, name?: string): void {
  let logical = 0n;
  for (const [c, n] of runs) {
    const at = logical;
    const start = clusterByte(x, c);
    const describe =
      name === undefined ? undefined : (a: bigint, b: bigint) => `${name}, bytes ${at + a}–${at + b - 1n}`;
    x.regions.push({ ...base, start, end: start + BigInt(n * x.clusterBytes), describe });
    logical += BigInt(n * x.clusterBytes);
  }
}

/**
 * Bytes [validDataLength, dataLength) of a file are allocated but were never written (reads
 * return zeros): listed after the file's own regions, so they win there.
 */
function unwrittenRegions(
  x: Exfat,
  runs: Runs,
  base: Omit<Region, 'start' | 'end'>,
  name: string,
  from: bigint,
  to: bigint,
) {
  let logical = 0n;
  for (const [c, n] of runs) {
    const len = BigInt(n * x.clusterBytes);
    const a = from > logical ? from : logical;
    const b = to < logical + len ? to : logical + len;
    if (a < b) {
      const start = clusterByte(x, c) + (a - logical);
      x.regions.push({
        ...base,
        start,
        end: start + (b - a),
        describe: (p, q) => `${name}, bytes ${a + p}–${a + q - 1n}, not yet written`,
      });
    }
    logical += len;
  }
}

/** Regions for every entry set of a directory, so its bytes say whose entries they are. */
function entryRegions(x: Exfat, runs: Runs, items: DirItem[], path: string, object: string) {
  for (const it of items) {
    const start = runsByte(x, runs, it.at);
    if (start < 0n) continue;
    if (it.type !== 'file') {
      const label =
        it.type === 'bitmap'
          ? 'allocation bitmap entry'
          : it.type === 'upcase'
            ? 'up-case table entry'
            : `volume label entry "${it.label}"`;
      x.regions.push({ start, end: start + BigInt(ENTRY), kind: 'directory', label, object });
      continue;
    }
    const whose = `${path}/${it.name || '?'}${it.problem ? ' (bad entry set)' : ''}`;
    // An entry set may cross a cluster boundary: each 32-byte entry is placed on its own.
    for (let k = 0; k < it.entries; k++) {
      const s = runsByte(x, runs, it.at + k * ENTRY);
      const what = k === 0 ? 'File entry' : k === 1 ? 'Stream Extension entry' : 'File Name entry';
      if (s >= 0n)
        x.regions.push({ start: s, end: s + BigInt(ENTRY), kind: 'directory', label: `${what} of ${whose}`, object });
    }
  }
}

/** Free runs listed at most: a bitmap of alternating bits would otherwise make a region per cluster. */
const MAX_FREE_RUNS = 65536;

async function freeRegions(x: Exfat, bitmap: Buffer): Promise<void> {
  const object = x.ctx.object({ id: `${x.place.id}.free`, kind: 'free', label: 'free space', where: x.place.where });
  const last = x.boot.clusterCount + 2;
  let run = -1;
  let runs = 0;
  for (let c = 2; c <= last; c++) {
    const i = c - 2;
    const free = c < last && (bitmap[i >>> 3] & (1 << (i & 7))) === 0;
    if (free && run < 0) run = c;
    if (!free && run >= 0) {
      x.regions.push({ start: clusterByte(x, run), end: clusterByte(x, c), kind: 'free', label: 'free', object });
      run = -1;
      if (++runs === MAX_FREE_RUNS) {
        warn(x, `free space in more than ${MAX_FREE_RUNS} pieces: the rest is not shown as free`);
        return;
      }
    }
    if ((c & 0xfffff) === 0) await x.ctx.budget.breathe();
  }
}

/** Walk the tree from the root; returns the volume label. */
async function treeRegions(x: Exfat): Promise<string> {
  const where = x.place.where;
  const rootObj = x.ctx.object({ id: `${x.place.id}:/`, kind: 'directory', label: '/', where });
  const root = { firstCluster: x.boot.rootCluster, dataLength: 0n, noFatChain: false };
  const rootRuns = await clusters(x, 'root directory', root, null);
  const rootItems = parseDirectory(await readRuns(x, rootRuns));
  runRegions(x, rootRuns, { kind: 'directory', label: 'root directory', object: rootObj });
  entryRegions(x, rootRuns, rootItems, '', rootObj);

  let volumeLabel = '';
  let bitmap: Buffer | null = null;
  for (const it of rootItems) {
    if (it.type === 'label') volumeLabel = it.label;
    if (it.type === 'bitmap' || it.type === 'upcase') {
      const label = it.type === 'bitmap' ? `allocation bitmap${it.second ? ' 2' : ''}` : 'up-case table';
      const object = x.ctx.object({
        id: `${x.place.id}.${it.type}`,
        kind: it.type === 'bitmap' ? 'bitmap' : 'superblock',
        label,
        where,
      });
      const runs = await clusters(x, label, it.alloc, it.alloc.dataLength);
      runRegions(x, runs, { kind: it.type === 'bitmap' ? 'bitmap' : 'superblock', label, object });
      if (it.type === 'bitmap' && !it.second) {
        const want = Math.ceil(x.boot.clusterCount / 8);
        if (it.alloc.dataLength < BigInt(want))
          warn(x, `allocation bitmap: ${it.alloc.dataLength} bytes cannot cover ${x.boot.clusterCount} clusters`);
        else bitmap = (await readRuns(x, firstClusters(runs, Math.ceil(want / x.clusterBytes)))).subarray(0, want);
      }
    }
  }
  if (bitmap && bitmap.length === Math.ceil(x.boot.clusterCount / 8)) await freeRegions(x, bitmap);
  else warn(x, 'no allocation bitmap in the root directory: free space is not shown');

  const queue: Array<{ path: string; items: DirItem[] }> = [{ path: '', items: rootItems }];
  let visited = 0;
  while (queue.length) {
    const { path, items } = queue.shift()!;
    for (const it of items) {
      if (it.type !== 'file') continue;
      const full = `${path}/${it.name || '?'}`;
      // The driver refuses such a set (the file is not there for it), and its cluster and length
      // fields are as likely damaged as the rest: its clusters stay "in use (no owner found)".
      if (it.problem) {
        warn(x, `entry set of ${full}: ${it.problem}; its clusters are not followed`);
        continue;
      }
      if (++visited > x.ctx.budget.maxFiles) {
        x.ctx.budget.truncated = true;
        x.itemised = false;
        warn(x, `more than ${x.ctx.budget.maxFiles} files and directories; the rest are not itemised`);
        return volumeLabel;
      }
      const object = x.ctx.object({
        id: `${x.place.id}:${full}`,
        kind: it.dir ? 'directory' : 'file',
        label: it.dir ? `${full}/` : full,
        where,
      });
      const length = it.dir && it.alloc.dataLength > MAX_DIRECTORY_BYTES ? MAX_DIRECTORY_BYTES : it.alloc.dataLength;
      const runs = await clusters(x, full, it.alloc, length);
      if (it.dir) {
        runRegions(x, runs, { kind: 'directory', label: `directory ${full}`, object });
        const sub = parseDirectory(await readRuns(x, runs));
        entryRegions(x, runs, sub, full, object);
        queue.push({ path: full, items: sub });
      } else {
        runRegions(x, runs, { kind: 'file', label: full, object }, full);
        if (it.validDataLength < it.alloc.dataLength)
          unwrittenRegions(
            x,
            runs,
            { kind: 'file', label: full, object },
            full,
            it.validDataLength,
            it.alloc.dataLength,
          );
      }
      await x.ctx.budget.breathe();
    }
  }
  return volumeLabel;
}
