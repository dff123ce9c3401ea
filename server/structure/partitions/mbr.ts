// DOS/MBR partition tables: the four primary entries parsed by the `mbr` package, extended
// partitions followed through their chain of EBRs (logical partitions 5, 6, …, as Linux numbers
// them). A protective MBR (type 0xEE) means GPT: gpt.ts handles those disks. Entries that
// overlap are all decoded, the overlaps named in warnings (partition.ts overlapsResolved).

import MBR from 'mbr';
import type { Decoder, DecodeContext, Place } from '../context.ts';
import { linear, type Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { overlapsResolved, partitionRegion } from './partition.ts';

const SECTOR = 512n;
const TYPE_NAMES: Record<number, string> = {
  0x01: 'FAT12',
  0x04: 'FAT16 <32M',
  0x05: 'Extended',
  0x06: 'FAT16',
  0x07: 'NTFS/exFAT',
  0x0b: 'W95 FAT32',
  0x0c: 'W95 FAT32 (LBA)',
  0x0e: 'W95 FAT16 (LBA)',
  0x0f: "W95 Ext'd (LBA)",
  0x82: 'Linux swap',
  0x83: 'Linux',
  0x85: 'Linux extended',
  0x8e: 'Linux LVM',
  0xef: 'EFI (FAT-12/16/32)',
  0xfd: 'Linux raid autodetect',
};

const typeName = (t: number) => TYPE_NAMES[t] ?? `type 0x${t.toString(16).padStart(2, '0')}`;

interface Entry {
  type: number;
  firstLBA: number;
  sectors: number;
}

async function readTable(src: ByteSource, offset: bigint): Promise<Entry[] | null> {
  const sector = await src.read(offset, 512);
  if (sector.readUInt16LE(510) !== 0xaa55) return null;
  try {
    return MBR.parse(sector).partitions.map((p) => ({ type: p.type, firstLBA: p.firstLBA, sectors: p.sectors }));
  } catch {
    return null;
  }
}

/**
 * A plausible partition table: types set, every entry inside the disk and after the MBR itself.
 * (Sector 0 of a filesystem ends in 0xAA55 too; its boot code read as entries is not plausible.)
 * Entries that overlap each other are not a reason to refuse the table: Linux makes a device of
 * each, and each may hold a filesystem (decodeMbr decodes both and says where they overlap).
 */
function plausible(entries: Entry[], sectors: bigint): boolean {
  const used = entries.filter((e) => e.type !== 0);
  if (used.length === 0) return false;
  for (const e of used) {
    if (e.sectors === 0 || e.firstLBA === 0) return false;
    if (BigInt(e.firstLBA) + BigInt(e.sectors) > sectors) return false;
  }
  return true;
}

const isExtended = (t: number) => t === 0x05 || t === 0x0f || t === 0x85;

export const decodeMbr: Decoder = async (src, ctx, place) => {
  if (src.size < 1024n) return null;
  const entries = await readTable(src, 0n);
  if (!entries) return null;
  const sectors = src.size / SECTOR;
  if (entries.some((e) => e.type === 0xee)) return null; // protective: the disk is GPT
  if (!plausible(entries, sectors)) return null;
  const tableObj = ctx.object({ id: `${place.id}.mbr`, kind: 'partition-table', label: 'MBR', where: place.where });
  /** Primary and extended partitions in table order, then the logical ones. */
  const table: Region[] = [];
  const extended: Region[] = [];
  const ebrs: Region[] = [];
  const logicals: Region[] = [];
  /** The extended partition each logical one lies in. */
  const inExtended = new Map<Region, Region>();
  for (let i = 0; i < 4; i++) {
    const e = entries[i];
    if (!e || e.type === 0) continue;
    const start = BigInt(e.firstLBA) * SECTOR;
    const end = start + BigInt(e.sectors) * SECTOR;
    if (isExtended(e.type)) {
      const container: Region = {
        start,
        end,
        kind: 'container',
        label: `MBR partition ${i + 1} (Extended)`,
        object: tableObj,
      };
      extended.push(container);
      table.push(container);
      const chain = await logicalPartitions(src, ctx, place, start, end, tableObj);
      ebrs.push(...chain.ebrs);
      for (const l of chain.logicals) inExtended.set(l, container);
      logicals.push(...chain.logicals);
      continue;
    }
    table.push(await partitionRegion(src, ctx, place, `MBR partition ${i + 1}`, i + 1, typeName(e.type), start, end));
  }
  // An extended partition is only a frame and never hides a partition; the EBRs, the table's own
  // sectors, are listed last so that no partition hides them (normalise: the later wins). The
  // MBR's sector cannot be overlapped (no entry starts at sector 0).
  const partitions = overlapsResolved(ctx, place, [...table, ...logicals], SECTOR, {
    frames: new Set(extended),
    ignore: (a, b) => inExtended.get(b) === a,
  });
  return {
    name: 'MBR',
    transparent: true,
    space: linear([
      { start: 0n, end: SECTOR, kind: 'partition-table', label: 'MBR (boot code + partition table)', object: tableObj },
      ...partitions,
      ...ebrs,
    ]),
  };
};

/** Walk the EBR chain: each EBR holds one logical partition (relative to the EBR) and a link (relative to the extended partition). */
async function logicalPartitions(
  src: ByteSource,
  ctx: DecodeContext,
  place: Place,
  extStart: bigint,
  extEnd: bigint,
  tableObj: string,
): Promise<{ ebrs: Region[]; logicals: Region[] }> {
  const ebrs: Region[] = [];
  const logicals: Region[] = [];
  let ebr = extStart;
  const seen = new Set<bigint>();
  for (let n = 5; n < 5 + 128; n++) {
    if (seen.has(ebr) || ebr + SECTOR > extEnd) break;
    seen.add(ebr);
    const t = await readTable(src, ebr);
    if (!t) break;
    ebrs.push({
      start: ebr,
      end: ebr + SECTOR,
      kind: 'partition-table',
      label: `EBR of partition ${n}`,
      object: tableObj,
    });
    const [logical, link] = t;
    if (logical && logical.type !== 0 && logical.sectors > 0) {
      const start = ebr + BigInt(logical.firstLBA) * SECTOR;
      const end = start + BigInt(logical.sectors) * SECTOR;
      if (end <= extEnd)
        logicals.push(
          await partitionRegion(src, ctx, place, `MBR partition ${n}`, n, typeName(logical.type), start, end),
        );
    }
    if (!link || link.type === 0 || link.sectors === 0) break;
    ebr = extStart + BigInt(link.firstLBA) * SECTOR;
  }
  return { ebrs, logicals };
}
