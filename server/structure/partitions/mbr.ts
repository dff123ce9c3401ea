// DOS/MBR partition tables: the four primary entries parsed by the `mbr` package, extended
// partitions followed through their chain of EBRs (logical partitions 5, 6, …, as Linux numbers
// them). A protective MBR (type 0xEE) means GPT: gpt.ts handles those disks. Entries that
// overlap are all decoded, the overlaps named in warnings (partition.ts overlapsResolved). An
// entry may start at sector 0 (an isohybrid image's partition 1 covers the whole image, MBR
// included, so that the ISO is also a partition): decoded, said in a warning, the MBR's sector
// still named as the table. Where the image is an ISO 9660 volume the ISO decoder, probed
// first, names the whole image and this table in its system area; this decoder sees such a
// table only when the volume is not decodable (or the partition holds something else).

import MBR from 'mbr';
import type { Decoder, DecodeContext, Place } from '../context.ts';
import { linear, type Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { overlapsResolved, partitionRegion, startsAtItsContainersTable } from './partition.ts';

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
  0x17: 'Hidden HPFS/NTFS',
  0x82: 'Linux swap',
  0x83: 'Linux',
  0x85: 'Linux extended',
  0x8e: 'Linux LVM',
  0xef: 'EFI (FAT-12/16/32)',
  0xfd: 'Linux raid autodetect',
};

const typeName = (t: number) => TYPE_NAMES[t] ?? `type 0x${t.toString(16).padStart(2, '0')}`;

interface Entry {
  /** Boot indicator: 0x80 (active) or 0 in a real table. */
  status: number;
  type: number;
  firstLBA: number;
  sectors: number;
}

async function readTable(src: ByteSource, offset: bigint): Promise<Entry[] | null> {
  const sector = await src.read(offset, 512);
  if (sector.readUInt16LE(510) !== 0xaa55) return null;
  try {
    return MBR.parse(sector).partitions.map((p) => ({
      status: p.status,
      type: p.type,
      firstLBA: p.firstLBA,
      sectors: p.sectors,
    }));
  } catch {
    return null;
  }
}

/**
 * A plausible partition table: types set, every entry inside the disk. An entry starting at
 * sector 0 (holding the MBR itself: isohybrid images) is plausible only when every boot
 * indicator is 0 or 0x80, the check Linux makes of every table (block/partitions/msdos.c).
 * (Sector 0 of a filesystem ends in 0xAA55 too; its boot code read as entries is not plausible.)
 * Entries that overlap each other are not a reason to refuse the table: Linux makes a device of
 * each, and each may hold a filesystem (decodeMbr decodes both and says where they overlap).
 */
function plausible(entries: Entry[], sectors: bigint): boolean {
  const used = entries.filter((e) => e.type !== 0);
  if (used.length === 0) return false;
  const indicatorsValid = entries.every((e) => e.status === 0 || e.status === 0x80);
  for (const e of used) {
    if (e.sectors === 0 || (e.firstLBA === 0 && !indicatorsValid)) return false;
    if (BigInt(e.firstLBA) + BigInt(e.sectors) > sectors) return false;
  }
  return true;
}

const isExtended = (t: number) => t === 0x05 || t === 0x0f || t === 0x85;

export const decodeMbr: Decoder = async (src, ctx, place) => {
  if (src.size < 1024n) return null;
  // Inside a partition that starts at sector 0, sector 0 is this very table again.
  if (startsAtItsContainersTable(src)) return null;
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
    if (start === 0n)
      ctx.budget.warn(
        `${place.where}: MBR partition ${i + 1} starts at sector 0, so it holds the MBR itself (as an isohybrid image's partition 1 holds the whole image); sector 0 is shown as the table`,
      );
    table.push(await partitionRegion(src, ctx, place, `MBR partition ${i + 1}`, i + 1, typeName(e.type), start, end));
  }
  // An extended partition is only a frame and never hides a partition; the MBR and the EBRs, the
  // table's own sectors, are listed last so that no partition hides them (normalise: the later
  // wins), not even one starting at sector 0.
  const partitions = overlapsResolved(ctx, place, [...table, ...logicals], SECTOR, {
    frames: new Set(extended),
    ignore: (a, b) => inExtended.get(b) === a,
  });
  return {
    name: 'MBR',
    transparent: true,
    space: linear([
      ...partitions,
      { start: 0n, end: SECTOR, kind: 'partition-table', label: 'MBR (boot code + partition table)', object: tableObj },
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
