// GUID Partition Table: protective MBR at LBA 0, primary header at LBA 1 and its entries, the
// backup entries and header at the end of the disk. Header and entries are parsed by the `gpt`
// package; this file finds them, checks their CRCs, picks a valid copy and labels the bytes.

import GPT from 'gpt';
import { crc32 } from 'node:zlib';
import type { Decoder, DecodeContext, Place } from '../context.ts';
import { linear, type Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { overlapsResolved, partitionRegion } from './partition.ts';

/** Type GUIDs worth naming (the rest are shown as GUIDs). */
const TYPE_NAMES: Record<string, string> = {
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI system',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'Linux /home',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
};

export function gptTypeName(guid: string): string {
  return TYPE_NAMES[guid] ?? guid;
}

interface ParsedGpt {
  header: GPT;
  /** Used entries with their index in the table (Linux numbers partitions by index + 1). */
  entries: Array<{ index: number; entry: InstanceType<typeof GPT.PartitionEntry> }>;
  headerLba: bigint;
  tableLba: bigint;
  tableBytes: number;
  valid: boolean;
  /** What is wrong with the header, and with the entries (each labelled with its own). */
  headerProblem?: string;
  tableProblem?: string;
}

const problem = (g: ParsedGpt) => g.headerProblem ?? g.tableProblem;

async function readGpt(src: ByteSource, sector: number, lba: bigint): Promise<ParsedGpt | null> {
  const S = BigInt(sector);
  if ((lba + 1n) * S > src.size) return null;
  const hdr = await src.read(lba * S, sector);
  if (hdr.toString('latin1', 0, 8) !== 'EFI PART') return null;
  const g = new GPT({ blockSize: sector });
  g.parseHeader(hdr, 0);
  const size = g.headerSize;
  if (size < 92 || size > sector || g.entrySize < 128 || g.entrySize % 8 || g.entries > 65536)
    return {
      header: g,
      entries: [],
      headerLba: lba,
      tableLba: 0n,
      tableBytes: 0,
      valid: false,
      headerProblem: 'header fields out of range',
    };
  const copy = Buffer.from(hdr.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  const headerOk = crc32(copy) >>> 0 === g.headerChecksum;
  const tableBytes = g.entries * g.entrySize;
  const tableLba = g.tableOffset;
  if (tableLba * S + BigInt(tableBytes) > src.size)
    return {
      header: g,
      entries: [],
      headerLba: lba,
      tableLba,
      tableBytes,
      valid: false,
      headerProblem: 'entries outside the disk',
    };
  const table = await src.read(tableLba * S, tableBytes);
  const tableOk = crc32(table) >>> 0 === g.tableChecksum;
  const entries: ParsedGpt['entries'] = [];
  for (let i = 0; i < g.entries; i++) {
    const entry = GPT.PartitionEntry.parse(table, i * g.entrySize);
    // The name ends at its first NUL (the package drops every NUL, joining on what follows):
    // renaming with parted leaves the old, longer name's tail after it.
    entry.name = table.toString('utf16le', i * g.entrySize + 56, i * g.entrySize + 128).split('\0')[0];
    if (!entry.isEmpty()) entries.push({ index: i, entry });
  }
  return {
    header: g,
    entries,
    headerLba: lba,
    tableLba,
    tableBytes,
    valid: headerOk && tableOk,
    headerProblem: headerOk ? undefined : 'header CRC mismatch',
    tableProblem: tableOk ? undefined : 'entries CRC mismatch',
  };
}

/**
 * With the primary header gone (its sector overwritten), its entries may still be intact where
 * they belong, at LBA 2 (where sgdisk looks too): the copy is labelled when the backup header's
 * CRC of the entries matches them.
 */
async function headerlessPrimary(src: ByteSource, sector: number, backup: ParsedGpt): Promise<ParsedGpt | null> {
  const S = BigInt(sector);
  if (backup.tableBytes === 0 || 2n * S + BigInt(backup.tableBytes) > src.size) return null;
  const table = await src.read(2n * S, backup.tableBytes);
  if (crc32(table) >>> 0 !== backup.header.tableChecksum) return null;
  return { ...backup, headerLba: 1n, tableLba: 2n, valid: false, headerProblem: 'missing', tableProblem: undefined };
}

export const decodeGpt: Decoder = async (src, ctx, place) => {
  for (const sector of [512, 4096]) {
    if (src.size < BigInt(sector * 3)) continue;
    const primary = await readGpt(src, sector, 1n);
    const lastLba = src.size / BigInt(sector) - 1n;
    const backupLba = primary?.valid ? primary.header.backupLBA : lastLba;
    const backup = backupLba > 1n && backupLba <= lastLba ? await readGpt(src, sector, backupLba) : null;
    if (!primary && !backup) continue;
    const chosen = primary?.valid ? primary : backup?.valid ? backup : (primary ?? backup)!;
    const headerless = !primary && backup?.valid ? await headerlessPrimary(src, sector, backup) : null;
    if (headerless) ctx.budget.warn(`${place.where}: primary GPT header missing (its partition entries are intact)`);
    else if (!primary?.valid)
      ctx.budget.warn(`${place.where}: primary GPT ${primary ? `invalid (${problem(primary)})` : 'missing'}`);
    if (primary?.valid && !backup?.valid)
      ctx.budget.warn(`${place.where}: backup GPT ${backup ? `invalid (${problem(backup)})` : 'missing'}`);
    return {
      name: 'GPT',
      transparent: true,
      space: linear(await gptRegions(src, ctx, place, sector, [primary ?? headerless, backup], chosen)),
    };
  }
  return null;
};

async function gptRegions(
  src: ByteSource,
  ctx: DecodeContext,
  place: Place,
  sector: number,
  copies: Array<ParsedGpt | null>,
  chosen: ParsedGpt,
): Promise<Region[]> {
  const S = BigInt(sector);
  const tableObj = ctx.object({ id: `${place.id}.gpt`, kind: 'partition-table', label: 'GPT', where: place.where });
  const regions: Region[] = [{ start: 0n, end: S, kind: 'partition-table', label: 'protective MBR', object: tableObj }];
  for (const c of copies) {
    if (!c) continue;
    const which = c.headerLba === 1n ? 'primary' : 'backup';
    const bad = (p?: string) => (p ? ` (${p})` : '');
    regions.push({
      start: c.headerLba * S,
      end: (c.headerLba + 1n) * S,
      kind: 'partition-table',
      label: `GPT header (${which})${bad(c.headerProblem)}`,
      object: tableObj,
    });
    if (c.tableBytes > 0)
      regions.push({
        start: c.tableLba * S,
        end: c.tableLba * S + BigInt(c.tableBytes),
        kind: 'partition-table',
        label: `GPT partition entries (${which})${bad(c.tableProblem)}`,
        object: tableObj,
      });
  }
  const partitions: Region[] = [];
  for (const { index, entry: p } of chosen.entries) {
    const n = index + 1;
    const start = p.firstLBA * S;
    const end = (p.lastLBA + 1n) * S;
    if (p.lastLBA < p.firstLBA || end > src.size) {
      ctx.budget.warn(`${place.where}: GPT partition ${n} lies outside the disk`);
      continue;
    }
    const label = `GPT partition ${n}${p.name ? ` "${p.name}"` : ''}`;
    partitions.push(await partitionRegion(src, ctx, place, label, n, gptTypeName(p.type), start, end));
  }
  return [...regions, ...overlapsResolved(ctx, place, partitions, S)];
}
