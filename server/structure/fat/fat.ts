// The vfat decoder (FAT12/16/32): boot sector, FSInfo and backup boot sector, the FATs, the
// root directory, and every file and directory by path (long names included), following
// cluster chains through the first FAT.

import type { Decoder, DecodeContext, Place } from '../context.ts';
import { fillGaps, linear, normalise, type Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { fatEntry, isEndOfChain, parseFatBoot, type FatBoot } from './boot.ts';

interface Fat {
  src: ByteSource;
  boot: FatBoot;
  table: Buffer;
  ctx: DecodeContext;
  place: Place;
  /** Clusters reached from the root (for "in use, no owner"). */
  owned: Uint8Array;
}

const ATTR_LFN = 0x0f;
const ATTR_VOLUME = 0x08;
const ATTR_DIR = 0x10;

export const decodeFat: Decoder = async (src, ctx, place) => {
  if (src.size < 1024n) return null;
  const boot = parseFatBoot(await src.read(0n, 512));
  if (!boot) return null;
  const S = BigInt(boot.bytesPerSector);
  const fsEnd = BigInt(boot.totalSectors) * S < src.size ? BigInt(boot.totalSectors) * S : src.size;
  const tableBytes = Math.min(
    boot.fatSectors * boot.bytesPerSector,
    Math.ceil(((boot.clusters + 2) * boot.type) / 8) + 1,
  );
  const table = await src.read(BigInt(boot.reservedSectors) * S, tableBytes);
  const fsPlace: Place = { id: `${place.id}.fat`, where: `vfat on ${place.where}` };
  const fat: Fat = { src, boot, table, ctx, place: fsPlace, owned: new Uint8Array(boot.clusters + 2) };
  const name = `vfat (FAT${boot.type})${boot.volumeLabel ? ` "${boot.volumeLabel}"` : ''}`;
  ctx.object({ id: fsPlace.id, kind: 'filesystem', label: name, where: place.where });

  const regions: Region[] = [...freeRegions(fat), ...fixedRegions(fat)];
  regions.push(...(await treeRegions(fat)));
  const sorted = normalise(regions);
  const dataEnd = clusterByte(fat, boot.clusters + 2);
  const filled = fillGaps(sorted, 0n, dataEnd < fsEnd ? dataEnd : fsEnd, {
    kind: 'reserved',
    label: 'in use (no owner found)',
  });
  if (dataEnd < src.size)
    filled.push({ start: dataEnd, end: src.size, kind: 'reserved', label: 'after the data area' });
  return { name, space: linear(filled), object: fsPlace.id };
};

const clusterByte = (f: Fat, c: number) =>
  (BigInt(f.boot.firstDataSector) + BigInt(c - 2) * BigInt(f.boot.sectorsPerCluster)) * BigInt(f.boot.bytesPerSector);

function fixedRegions(f: Fat): Region[] {
  const b = f.boot;
  const S = BigInt(b.bytesPerSector);
  const sec = (n: number) => BigInt(n) * S;
  const sbObj = f.ctx.object({
    id: `${f.place.id}.boot`,
    kind: 'superblock',
    label: 'boot sectors',
    where: f.place.where,
  });
  const fatObj = f.ctx.object({ id: `${f.place.id}.fats`, kind: 'fat', label: 'FATs', where: f.place.where });
  const out: Region[] = [
    { start: 0n, end: sec(b.reservedSectors), kind: 'reserved', label: 'reserved sectors', object: sbObj },
    { start: 0n, end: S, kind: 'superblock', label: 'boot sector', object: sbObj },
  ];
  if (b.type === 32) {
    if (b.fsInfoSector > 0 && b.fsInfoSector < b.reservedSectors)
      out.push({
        start: sec(b.fsInfoSector),
        end: sec(b.fsInfoSector + 1),
        kind: 'superblock',
        label: 'FSInfo sector',
        object: sbObj,
      });
    if (b.backupBootSector > 0 && b.backupBootSector + 3 <= b.reservedSectors)
      out.push({
        start: sec(b.backupBootSector),
        end: sec(b.backupBootSector + 3),
        kind: 'superblock',
        label: 'backup boot sectors',
        object: sbObj,
      });
  }
  for (let k = 0; k < b.fats; k++) {
    const start = sec(b.reservedSectors + k * b.fatSectors);
    out.push({
      start,
      end: start + sec(b.fatSectors),
      kind: 'fat',
      label: `FAT ${k + 1}${k ? ' (copy)' : ''}`,
      object: fatObj,
    });
  }
  if (b.rootDirSectors > 0) {
    const start = sec(b.reservedSectors + b.fats * b.fatSectors);
    const object = f.ctx.object({ id: `${f.place.id}.root`, kind: 'directory', label: '/', where: f.place.where });
    out.push({ start, end: start + sec(b.rootDirSectors), kind: 'directory', label: 'root directory', object });
  }
  return out;
}

function freeRegions(f: Fat): Region[] {
  const out: Region[] = [];
  const object = f.ctx.object({ id: `${f.place.id}.free`, kind: 'free', label: 'free space', where: f.place.where });
  let run = -1;
  const last = f.boot.clusters + 2;
  for (let c = 2; c <= last; c++) {
    const free = c < last && fatEntry(f.table, f.boot.type, c) === 0;
    if (free && run < 0) run = c;
    if (!free && run >= 0) {
      out.push({ start: clusterByte(f, run), end: clusterByte(f, c), kind: 'free', label: 'free', object });
      run = -1;
    }
  }
  return out;
}

/** A cluster chain as runs of consecutive clusters; stops at loops and out-of-range links. */
function chain(f: Fat, first: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let c = first;
  for (let n = 0; c >= 2 && c < f.boot.clusters + 2 && n <= f.boot.clusters; n++) {
    if (f.owned[c]) break; // a loop, or cross-linked with something already walked
    f.owned[c] = 1;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === c) last[1]++;
    else runs.push([c, 1]);
    const next = fatEntry(f.table, f.boot.type, c);
    if (isEndOfChain(next) || next < 2) break;
    c = next;
  }
  return runs;
}

interface Entry {
  name: string;
  dir: boolean;
  cluster: number;
  size: number;
}

function parseEntries(buf: Buffer): { entries: Entry[]; end: boolean } {
  const entries: Entry[] = [];
  let lfn: string[] = [];
  for (let off = 0; off + 32 <= buf.length; off += 32) {
    const first = buf[off];
    if (first === 0) return { entries, end: true };
    const attr = buf[off + 11];
    if (first === 0xe5) {
      lfn = [];
      continue;
    }
    if (attr === ATTR_LFN) {
      const part = Buffer.concat([
        buf.subarray(off + 1, off + 11),
        buf.subarray(off + 14, off + 26),
        buf.subarray(off + 28, off + 32),
      ]);
      const text = part.toString('utf16le');
      const nul = text.indexOf('\u0000');
      if (first & 0x40) lfn = [];
      lfn.unshift(nul >= 0 ? text.slice(0, nul) : text);
      continue;
    }
    if (attr & ATTR_VOLUME) {
      lfn = [];
      continue;
    }
    // Short names show as stored, except where the NT case bits say lower case (as Linux does).
    const caseBits = buf[off + 12];
    let base = buf.toString('latin1', off, off + 8).trimEnd();
    let ext = buf.toString('latin1', off + 8, off + 11).trimEnd();
    if (first === 0x05) base = '\u00e5' + base.slice(1);
    if (caseBits & 0x08) base = base.toLowerCase();
    if (caseBits & 0x10) ext = ext.toLowerCase();
    const short = base + (ext ? `.${ext}` : '');
    const name = lfn.length ? lfn.join('') : short;
    lfn = [];
    if (short === '.' || short === '..') continue;
    entries.push({
      name,
      dir: (attr & ATTR_DIR) !== 0,
      cluster: (buf.readUInt16LE(off + 20) << 16) | buf.readUInt16LE(off + 26),
      size: buf.readUInt32LE(off + 28),
    });
  }
  return { entries, end: false };
}

async function treeRegions(f: Fat): Promise<Region[]> {
  const out: Region[] = [];
  const b = f.boot;
  const clusterBytes = b.sectorsPerCluster * b.bytesPerSector;
  const readRuns = async (runs: Array<[number, number]>) => {
    const bufs: Buffer[] = [];
    for (const [c, n] of runs) bufs.push(await f.src.read(clusterByte(f, c), n * clusterBytes));
    return Buffer.concat(bufs);
  };
  let rootEntries: Buffer;
  if (b.type === 32) {
    const runs = chain(f, b.rootCluster);
    const object = f.ctx.object({ id: `${f.place.id}.root`, kind: 'directory', label: '/', where: f.place.where });
    for (const [c, n] of runs)
      out.push({
        start: clusterByte(f, c),
        end: clusterByte(f, c + n),
        kind: 'directory',
        label: 'root directory',
        object,
      });
    rootEntries = await readRuns(runs);
  } else {
    const start = BigInt(b.reservedSectors + b.fats * b.fatSectors) * BigInt(b.bytesPerSector);
    rootEntries = await f.src.read(start, b.rootDirSectors * b.bytesPerSector);
  }
  const queue: Array<{ path: string; buf: Buffer }> = [{ path: '', buf: rootEntries }];
  let visited = 0;
  while (queue.length) {
    const { path, buf } = queue.shift()!;
    for (const e of parseEntries(buf).entries) {
      if (++visited > f.ctx.budget.maxFiles) {
        f.ctx.budget.truncated = true;
        return out;
      }
      const full = `${path}/${e.name}`;
      const runs = e.cluster >= 2 ? chain(f, e.cluster) : [];
      const object = f.ctx.object({
        id: `${f.place.id}:${full}`,
        kind: e.dir ? 'directory' : 'file',
        label: e.dir ? `${full}/` : full,
        where: f.place.where,
      });
      let logical = 0n;
      for (const [c, n] of runs) {
        const base = logical;
        out.push({
          start: clusterByte(f, c),
          end: clusterByte(f, c + n),
          kind: e.dir ? 'directory' : 'file',
          label: e.dir ? `directory ${full}` : full,
          object,
          describe: e.dir ? undefined : (x, y) => `${full}, bytes ${base + x}–${base + y - 1n}`,
        });
        logical += BigInt(n * clusterBytes);
      }
      if (e.dir && runs.length) queue.push({ path: full, buf: await readRuns(runs) });
      await f.ctx.budget.breathe();
    }
  }
  return out;
}
