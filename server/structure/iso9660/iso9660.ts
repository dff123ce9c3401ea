// The ISO 9660 decoder (ECMA-119, with Joliet, Rock Ridge names and El Torito): the system area,
// each volume descriptor, the path tables, every directory's extent by path and every file's
// extents by path and offset, the El Torito boot catalog and boot images. Metadata only: the
// descriptors, directories and the boot catalog are read; path tables are only labelled.
// Names: Rock Ridge's where the primary tree has them, else Joliet's, else the ISO identifiers.

import type { Decoder, DecodeContext, Place } from '../context.ts';
import { fillGaps, linear, normalise, type Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { FIRST_DESCRIPTOR, isDescriptor, readDescriptors, SECTOR, type TreeDescriptor } from './descriptors.ts';
import { catalogBytes, parseCatalog, type BootImage } from './el-torito.ts';
import { parseRecords } from './records.ts';
import { SYSTEM_AREA_BYTES, systemAreaRegions } from './system-area.ts';
import { walkTree, type TreeFile } from './tree.ts';

export const decodeIso9660: Decoder = async (src, ctx, place) => {
  if (src.size < BigInt((FIRST_DESCRIPTOR + 1) * SECTOR)) return null;
  if (!isDescriptor(await src.read(BigInt(FIRST_DESCRIPTOR * SECTOR), 7))) return null;
  const warn = (m: string) => ctx.budget.warn(`ISO 9660 on ${place.where}: ${m}`);
  const readSector = async (s: number) =>
    BigInt((s + 1) * SECTOR) <= src.size ? src.read(BigInt(s * SECTOR), SECTOR) : null;
  const descriptors = await readDescriptors(readSector, warn);
  const primary = descriptors.find((d) => d.tree?.tree === 'primary')?.tree;
  if (!primary) {
    warn('no primary volume descriptor: not decoded');
    return null;
  }
  const fs: Place = { id: `${place.id}.iso9660`, where: `ISO 9660 on ${place.where}` };
  const name = `ISO 9660${primary.volumeId ? ` "${primary.volumeId}"` : ''}`;
  ctx.object({ id: fs.id, kind: 'filesystem', label: name, where: place.where });
  const meta = ctx.object({
    id: `${fs.id}.descriptors`,
    kind: 'superblock',
    label: 'volume descriptors',
    where: fs.where,
  });

  let volumeEnd = BigInt(primary.volumeBlocks) * BigInt(primary.blockSize);
  if (volumeEnd > src.size) {
    warn(`the volume space is ${volumeEnd} bytes (${primary.volumeBlocks} blocks) but the image only ${src.size}`);
    volumeEnd = src.size;
  }

  const regions: Region[] = [];
  const files = await filesOfTrees(
    src,
    ctx,
    descriptors.flatMap((d) => (d.tree ? [d.tree] : [])),
    warn,
    fs,
    regions,
  );
  const bootCatalog = descriptors.find((d) => d.bootCatalog !== undefined)?.bootCatalog;
  const boot = bootCatalog === undefined ? [] : await elTorito(src, bootCatalog, warn);
  /** Boot structures that are also files of the tree name both ("/boot.cat (El Torito boot catalog)"). */
  const alsoFile = new Map<bigint, string>();
  for (const f of files) for (const e of f.extents) if (e.fileOffset === 0n) alsoFile.set(e.start, f.path);
  const annotations = new Map<bigint, string>();
  for (const b of boot)
    if (alsoFile.has(b.start)) annotations.set(b.start, b.label);
    else
      regions.push({
        start: b.start,
        end: b.end,
        kind: b.catalog ? 'superblock' : 'file',
        label: b.label,
        object: meta,
      });
  regions.push(...fileRegions(ctx, fs, files, annotations, BigInt(primary.blockSize), src.size));
  regions.push(...systemAreaRegions(await src.read(0n, 1024), meta));
  for (const d of descriptors)
    regions.push({
      start: BigInt(d.sector * SECTOR),
      end: BigInt((d.sector + 1) * SECTOR),
      kind: 'superblock',
      label: d.label,
      object: meta,
    });
  const sorted = normalise(regions);
  const filled = fillGaps(sorted, 0n, volumeEnd, { kind: 'reserved', label: 'not referenced by any directory' });
  if (volumeEnd < src.size)
    filled.push({ start: volumeEnd, end: src.size, kind: 'reserved', label: 'after the ISO 9660 volume' });
  return { name, space: linear(filled), object: fs.id };
};

/**
 * Walk the primary tree and every supplementary one, labelling directories and path tables
 * (into `regions`), and return the files, each once (by its first extent), under its best name.
 */
async function filesOfTrees(
  src: ByteSource,
  ctx: DecodeContext,
  trees: TreeDescriptor[],
  warn: (m: string) => void,
  fs: Place,
  regions: Region[],
): Promise<TreeFile[]> {
  const byStart = new Map<bigint, TreeFile>();
  let visited = 0;
  let rockRidge = false;
  for (const t of trees) {
    const suffix = t.tree === 'primary' ? '' : ` (${t.tree})`;
    const tablesObj = ctx.object({
      id: `${fs.id}.path-tables`,
      kind: 'directory',
      label: 'path tables',
      where: fs.where,
    });
    for (const p of t.pathTables) {
      const start = BigInt(p.block) * BigInt(t.blockSize);
      const bs = BigInt(t.blockSize);
      // Whole blocks: the rest of a path table's last block is its own padding.
      let end = ((start + BigInt(t.pathTableBytes) + bs - 1n) / bs) * bs;
      if (start >= src.size) {
        warn(`the ${t.tree} path table (${p.which}) at block ${p.block} lies past the end of the image`);
        continue;
      }
      if (end > src.size) end = src.size;
      regions.push({ start, end, kind: 'directory', label: `path table (${p.which})${suffix}`, object: tablesObj });
    }
    const root = parseRecords(t.root, t.tree === 'Joliet', warn)[0];
    if (!root) {
      warn(`the ${t.tree} volume descriptor's root directory record is damaged`);
      continue;
    }
    const tree = await walkTree(src, t.blockSize, t.tree === 'Joliet', root, ctx.budget, visited, (m) =>
      warn(`${t.tree} tree: ${m}`),
    );
    visited = tree.visited;
    for (const d of tree.directories) {
      const label = `${d.path === '/' ? '/' : `${d.path}/`}${suffix}`;
      const object = ctx.object({ id: `${fs.id}:${t.tree}:${d.path}`, kind: 'directory', label, where: fs.where });
      regions.push({ start: d.start, end: d.end, kind: 'directory', label: `directory ${label}`, object });
    }
    for (const f of tree.files) {
      if (f.rockRidge) rockRidge = true;
      const first = f.extents[0];
      if (!first) continue;
      const known = byStart.get(first.start);
      // Rock Ridge names are the real ones; Joliet's beat the primary tree's 8.3-ish identifiers.
      if (!known || (!known.rockRidge && !rockRidge && t.tree === 'Joliet')) byStart.set(first.start, f);
    }
  }
  return [...byStart.values()];
}

function fileRegions(
  ctx: DecodeContext,
  fs: Place,
  files: TreeFile[],
  annotations: Map<bigint, string>,
  blockSize: bigint,
  imageEnd: bigint,
): Region[] {
  const out: Region[] = [];
  for (const f of files) {
    const object = ctx.object({ id: `${fs.id}:${f.path}`, kind: 'file', label: f.path, where: fs.where });
    for (const e of f.extents) {
      const note = annotations.get(e.start);
      const prefix = note ? [note] : undefined;
      const base = e.fileOffset;
      out.push({
        start: e.start,
        end: e.end,
        kind: 'file',
        label: f.path,
        object,
        prefix,
        describe: (x, y) => `${f.path}, bytes ${base + x}–${base + y - 1n}`,
      });
      // The rest of the extent's last block holds nothing else: named after this file.
      const blockEnd = ((e.end + blockSize - 1n) / blockSize) * blockSize;
      const end = blockEnd < imageEnd ? blockEnd : imageEnd;
      if (end > e.end)
        out.push({ start: e.end, end, kind: 'file', label: `rest of the last block of ${f.path}`, object, prefix });
    }
  }
  return out;
}

/** The boot catalog (as a region-to-be) and the boot images it lists. */
async function elTorito(
  src: ByteSource,
  block: number,
  warn: (m: string) => void,
): Promise<Array<BootImage & { catalog?: true }>> {
  const start = BigInt(block) * BigInt(SECTOR);
  if (start < BigInt(SYSTEM_AREA_BYTES) || start + BigInt(SECTOR) > src.size) {
    warn(`the El Torito boot catalog's block ${block} is not inside the image's data`);
    return [];
  }
  const left = src.size - start;
  const length = left < BigInt(catalogBytes()) ? Number(left) : catalogBytes();
  const images = parseCatalog(await src.read(start, length), warn).filter((b) => {
    if (b.start < src.size) return true;
    warn(`${b.label} at sector ${b.start / BigInt(SECTOR)} lies past the end of the image`);
    return false;
  });
  for (const b of images) if (b.end > src.size) b.end = src.size;
  return [{ label: 'El Torito boot catalog', start, end: start + BigInt(SECTOR), catalog: true }, ...images];
}
