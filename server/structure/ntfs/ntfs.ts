// The NTFS decoder: the boot sector and its backup, the MFT record by record (named after the
// file each record describes), the system files as what they are ($MFTMirr, $LogFile, $Bitmap,
// $UpCase, …), every file's non-resident streams by path, directories' index allocations (their
// INDX records checked), and the free space $Bitmap records. Only metadata is read: the MFT,
// the in-use index records and $Bitmap. Anything that contradicts itself (a torn record, a run
// outside the volume, parent references that loop, clusters two runs claim) is a warning and
// costs only that piece.

import type { Decoder, Place } from '../context.ts';
import { DecodeError, fillGaps, linear, normalise, type Region } from '../model.ts';
import type { RegionKind } from '../../shared/structure.ts';
import { looksLikeNtfs } from './boot.ts';
import { chooseBootSector } from './boot-choice.ts';
import { warnCrossLinks } from './cross-links.ts';
import {
  ATTR,
  ATTR_COMPRESSED,
  ATTR_ENCRYPTED,
  applyFixups,
  attrTypeName,
  type Attribute,
  type Run,
} from './records.ts';
import {
  lcnByte,
  mftDataOf,
  pathOf,
  readMft,
  readStream,
  runsInside,
  streamRuns,
  warn,
  newVolume,
  type Ntfs,
  type NtfsFile,
} from './volume.ts';

/** The system files of records 0–10 (ntfs-3g's FILE_MFT … FILE_UpCase), and the kind of their data. */
const SYSTEM_FILES: Record<number, [string, RegionKind]> = {
  0: ['$MFT', 'inode-table'],
  1: ['$MFTMirr', 'inode-table'],
  2: ['$LogFile', 'journal'],
  3: ['$Volume', 'superblock'],
  4: ['$AttrDef', 'superblock'],
  6: ['$Bitmap', 'bitmap'],
  7: ['$Boot', 'superblock'],
  8: ['$BadClus', 'reserved'],
  9: ['$Secure', 'superblock'],
  10: ['$UpCase', 'superblock'],
};
const MFT = 0;
const BITMAP = 6;
const VOLUME = 3;
/** Runs labelled at most: damaged run lists must not make millions of regions. */
const MAX_RUN_REGIONS = 1_000_000;
/** Free runs listed at most: a bitmap of alternating bits would otherwise make a region per cluster. */
const MAX_FREE_RUNS = 65536;
/** $Bitmap read at most (a bit per cluster: 2 TiB of 4 KiB clusters). */
const MAX_BITMAP_BYTES = 64 * 1024 * 1024;

export const decodeNtfs: Decoder = async (src, ctx, place) => {
  if (src.size < 8192n) return null;
  const sector0 = await src.read(0n, 512);
  if (!looksLikeNtfs(sector0)) return null;
  const { boot, fromBackup, warnings } = await chooseBootSector(src, sector0);
  const fsPlace: Place = { id: `${place.id}.ntfs`, where: `NTFS on ${place.where}` };
  const x = newVolume(src, boot, ctx, fsPlace);
  const fsObject = ctx.object({ id: fsPlace.id, kind: 'filesystem', label: 'NTFS', where: place.where });
  for (const w of warnings) warn(x, w);
  await findMft(x);
  await readMft(x, x.mftDataSize);
  await freeRegions(x);
  mftRegions(x);
  for (const file of [...x.files.values()].sort((a, b) => a.record - b.record)) await fileRegions(x, file);
  warnCrossLinks(x, x.claims);
  const [bootSector, backup] = bootRegions(x, fromBackup);
  x.regions.push(bootSector);
  const label = volumeName(x);
  const name = `NTFS${label ? ` "${label}"` : ''}`;
  ctx.objects.get(fsObject)!.label = name;

  const volumeEnd = boot.totalSectors * BigInt(boot.bytesPerSector);
  const clustersEnd = boot.clusterCount * BigInt(boot.clusterBytes);
  const filled = fillGaps(normalise(x.regions), 0n, clustersEnd, {
    kind: 'reserved',
    label: 'in use (no owner found)',
  });
  // Sectors past the last whole cluster belong to no cluster (and have no bit in $Bitmap).
  if (clustersEnd < volumeEnd)
    filled.push({ start: clustersEnd, end: volumeEnd, kind: 'reserved', label: 'after the last cluster' });
  if (volumeEnd < src.size)
    filled.push({ start: volumeEnd, end: src.size, kind: 'reserved', label: 'after the volume' });
  if (backup) filled.push(backup);
  return { name, space: linear(filled), object: fsObject };
};

/** Record 0 says where the MFT is; if it is torn, the mirror's copy of it is used (with a warning). */
async function findMft(x: Ntfs): Promise<void> {
  const R = x.boot.mftRecordBytes;
  // Copies: fixups are applied in place, and the source may hand out its cached pages.
  const main = mftDataOf(Buffer.from(await x.src.read(lcnByte(x, x.boot.mftLcn), R)));
  let found = main;
  if (typeof main === 'string') {
    const mirror = mftDataOf(Buffer.from(await x.src.read(lcnByte(x, x.boot.mftMirrLcn), R)));
    if (typeof mirror === 'string') throw new DecodeError(`MFT record 0: ${main}; its copy in $MFTMirr: ${mirror}`);
    warn(x, `MFT record 0: ${main}; its copy in $MFTMirr is used`);
    found = mirror;
  }
  if (typeof found === 'string') return;
  if (found.attributeList) warn(x, '$MFT has an attribute list: only the runs in record 0 are followed');
  x.mftRuns = runsInside(x, '$MFT', found.runs);
  x.mftDataSize = found.dataSize;
}

/**
 * The boot sector, and its backup in the sector after the volume (listed last: it lies past the
 * volume's end); `fromBackup`: the boot sector was refused and the volume is decoded from the backup.
 */
function bootRegions(x: Ntfs, fromBackup: boolean): [Region, Region | null] {
  const S = BigInt(x.boot.bytesPerSector);
  const object = x.ctx.object({
    id: `${x.place.id}.boot`,
    kind: 'superblock',
    label: 'boot sectors',
    where: x.place.where,
  });
  // TotalSectors is one less than the partition's: the last sector holds the backup.
  const backup = x.boot.totalSectors * S;
  return [
    { start: 0n, end: S, kind: 'superblock', label: fromBackup ? 'boot sector (refused)' : 'boot sector', object },
    backup + S <= x.src.size
      ? { start: backup, end: backup + S, kind: 'superblock', label: 'backup boot sector', object }
      : null,
  ];
}

/** A region for each record in use, named after its file; the rest of the MFT as unused records. */
function mftRegions(x: Ntfs): void {
  const R = BigInt(x.boot.mftRecordBytes);
  const cb = BigInt(x.boot.clusterBytes);
  const object = x.ctx.object({ id: `${x.place.id}:/$MFT`, kind: 'inode-table', label: '/$MFT', where: x.place.where });
  const recordAt = (vcnByte: bigint) => vcnByte / R;
  for (const r of x.mftRuns) {
    if (r.lcn === null) continue;
    x.claims.push({ start: Number(r.lcn), end: Number(r.lcn + r.count), owner: '/$MFT' });
    const logical = r.vcn * cb;
    x.regions.push({
      start: lcnByte(x, r.lcn),
      end: lcnByte(x, r.lcn) + r.count * cb,
      kind: 'inode-table',
      label: 'MFT (records not in use)',
      object,
      describe: (a, b) => {
        const first = recordAt(logical + a);
        const last = recordAt(logical + b - 1n);
        return first === last ? `MFT record ${first} (not in use)` : `MFT records ${first}–${last} (not in use)`;
      },
    });
  }
  const label = (n: number) => {
    const base = x.extensionOf.get(n);
    if (base !== undefined) return `MFT record ${n} (extension of ${pathOf(x, base)})`;
    if (x.refused.has(n)) return `MFT record ${n} (refused: its fixups do not match)`;
    // mkntfs marks records 12–15 in use, reserved for system files yet to come, with no name.
    if (x.files.get(n)?.names.length === 0) return `MFT record ${n} (in use, no file name)`;
    return `MFT record ${n} (${pathOf(x, n)})`;
  };
  const numbers = [...x.files.keys(), ...x.extensionOf.keys(), ...x.refused];
  for (const n of numbers) {
    const at = byteOfVcnOffset(x, x.mftRuns, BigInt(n) * R);
    if (at === null) continue;
    x.regions.push({ start: at, end: at + R, kind: 'inode-table', label: label(n), object });
  }
}

/** Disk byte of stream byte `off` of `runs` (sorted by VCN: a binary search), null where sparse or unmapped. */
function byteOfVcnOffset(x: Ntfs, runs: Run[], off: bigint): bigint | null {
  const cb = BigInt(x.boot.clusterBytes);
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((runs[mid].vcn + runs[mid].count) * cb <= off) lo = mid + 1;
    else hi = mid;
  }
  const r = runs[lo];
  if (!r || r.lcn === null || off < r.vcn * cb) return null;
  return lcnByte(x, r.lcn) + (off - r.vcn * cb);
}

/** Non-resident attributes of one file, grouped into streams (one per type and name). */
function streamsOf(file: NtfsFile): Map<string, Attribute[]> {
  const out = new Map<string, Attribute[]>();
  for (const a of file.attributes) {
    if (!a.runs) continue;
    const key = `${a.type}:${a.name}`;
    const list = out.get(key);
    if (list) list.push(a);
    else out.set(key, [a]);
  }
  return out;
}

/** How one stream's regions are called, and of what kind. */
function streamWords(
  x: Ntfs,
  file: NtfsFile,
  first: Attribute,
  path: string,
): { kind: RegionKind; label: string; bytes: boolean; owner: string } {
  const system = SYSTEM_FILES[file.record];
  if (first.type === ATTR.data) {
    const stream = first.name ? `${path}:${first.name}` : path;
    const how =
      first.flags & ATTR_ENCRYPTED
        ? ', encrypted data'
        : first.flags & ATTR_COMPRESSED && first.compressionUnit
          ? ', compressed data'
          : '';
    if (system && !first.name) return { kind: system[1], label: `${system[0]}${how}`, bytes: true, owner: stream };
    return { kind: system ? system[1] : 'file', label: `${stream}${how}`, bytes: true, owner: stream };
  }
  const words = (kind: RegionKind, label: string) => ({ kind, label, bytes: false, owner: label });
  if (first.type === ATTR.indexAllocation) return words('directory', `index ${first.name} of ${path}`);
  if (first.type === ATTR.bitmap && file.record === MFT) return words('bitmap', 'MFT bitmap');
  if (first.type === ATTR.attributeList) return words('file-map', `attribute list of ${path}`);
  const what = `${attrTypeName(first.type)}${first.name ? `:${first.name}` : ''}`;
  return words(file.directory ? 'directory' : 'file-map', `${what} of ${path}`);
}

async function fileRegions(x: Ntfs, file: NtfsFile): Promise<void> {
  const path = pathOf(x, file.record);
  const system = SYSTEM_FILES[file.record];
  const object = x.ctx.object({
    id: `${x.place.id}:${path}`,
    kind: system ? system[1] : file.directory ? 'directory' : 'file',
    label: file.directory && path !== '/' ? `${path}/` : path,
    where: x.place.where,
  });
  const cb = BigInt(x.boot.clusterBytes);
  for (const segments of streamsOf(file).values()) {
    const first = segments.find((s) => s.startVcn === 0n) ?? segments[0];
    // The MFT's own data is labelled record by record (mftRegions).
    if (file.record === MFT && first.type === ATTR.data && !first.name) continue;
    const words = streamWords(x, file, first, path);
    const runs = runsInside(x, words.label, streamRuns(segments));
    for (const r of runs) {
      if (r.lcn === null) continue;
      if (++x.runsLabelled > MAX_RUN_REGIONS) {
        x.ctx.budget.truncated = true;
        warn(x, `more than ${MAX_RUN_REGIONS} runs; the rest are not labelled`);
        return;
      }
      x.claims.push({ start: Number(r.lcn), end: Number(r.lcn + r.count), owner: words.owner });
      const logical = r.vcn * cb;
      const start = lcnByte(x, r.lcn);
      const describe = words.bytes
        ? (a: bigint, b: bigint) => `${words.label}, bytes ${logical + a}–${logical + b - 1n}`
        : undefined;
      x.regions.push({ start, end: start + r.count * cb, kind: words.kind, label: words.label, object, describe });
    }
    if (first.type === ATTR.indexAllocation) await checkIndexRecords(x, file, first, runs, path);
  }
  await x.ctx.budget.breathe();
}

/**
 * The in-use INDX records of a directory's index (its $BITMAP of the same name says which): a
 * record whose fixups do not match is torn or damaged, and said so.
 */
async function checkIndexRecords(x: Ntfs, file: NtfsFile, alloc: Attribute, runs: Run[], path: string) {
  const bitmap = file.attributes.find((a) => a.type === ATTR.bitmap && a.name === alloc.name && a.value)?.value;
  if (!bitmap) return;
  const I = x.boot.indexRecordBytes;
  const last = runs[runs.length - 1];
  const reach = last ? ((last.vcn + last.count) * BigInt(x.boot.clusterBytes)) / BigInt(I) : 0n;
  // In use per the bitmap, within DataSize, within what the runs reach: the least of the three.
  const records = [alloc.dataSize / BigInt(I), BigInt(bitmap.length * 8), reach].reduce((a, b) => (a < b ? a : b));
  for (let k = 0; k < Number(records); k++) {
    if (((bitmap[k >> 3] >> (k & 7)) & 1) === 0) continue;
    const rec = await readStream(x, runs, BigInt(k) * BigInt(I), I);
    const fix = applyFixups(rec, 'INDX');
    if (fix) warn(x, `index record ${k} of ${path}: ${fix}`);
    await x.ctx.budget.breathe();
  }
}

/** Free runs from $Bitmap's bit per cluster. */
async function freeRegions(x: Ntfs): Promise<void> {
  const file = x.files.get(BITMAP);
  const data = file && streamRuns(file.attributes.filter((a) => a.type === ATTR.data && !a.name && a.runs));
  const bytes = (x.boot.clusterCount + 7n) / 8n;
  if (!data || data.length === 0) {
    warn(x, 'no $Bitmap data: free space is not shown');
    return;
  }
  if (bytes > BigInt(MAX_BITMAP_BYTES)) {
    warn(x, `$Bitmap of ${bytes} bytes is larger than ${MAX_BITMAP_BYTES}: free space is not shown`);
    return;
  }
  const bitmap = await readStream(x, runsInside(x, '$Bitmap', data), 0n, Number(bytes));
  const object = x.ctx.object({ id: `${x.place.id}.free`, kind: 'free', label: 'free space', where: x.place.where });
  const cb = BigInt(x.boot.clusterBytes);
  const last = Number(x.boot.clusterCount);
  let run = -1;
  let runs = 0;
  for (let c = 0; c <= last; c++) {
    const free = c < last && (bitmap[c >>> 3] & (1 << (c & 7))) === 0;
    if (free && run < 0) run = c;
    if (!free && run >= 0) {
      x.regions.push({ start: BigInt(run) * cb, end: BigInt(c) * cb, kind: 'free', label: 'free', object });
      run = -1;
      if (++runs === MAX_FREE_RUNS) {
        warn(x, `free space in more than ${MAX_FREE_RUNS} pieces: the rest is not shown as free`);
        return;
      }
    }
    if ((c & 0xfffff) === 0) await x.ctx.budget.breathe();
  }
}

/** The volume label: $Volume's resident $VOLUME_NAME. */
function volumeName(x: Ntfs): string {
  const value = x.files.get(VOLUME)?.attributes.find((a) => a.type === ATTR.volumeName)?.value;
  return value ? value.toString('utf16le', 0, value.length & ~1) : '';
}
