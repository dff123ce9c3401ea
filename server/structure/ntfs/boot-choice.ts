// Which boot sector an NTFS volume is decoded from. NTFS keeps a copy of its boot sector in the
// last sector of the volume's space (mkntfs writes it in the sector after the volume's
// TotalSectors, which is the partition's last; Windows and ntfsfix restore a damaged boot sector
// from it). So when sector 0 carries the NTFS name but is refused, the copy is looked for there
// and, if it passes the same checks, the volume is decoded from it with a warning saying why.
// Only a refused sector 0 costs a read at the end of the space.

import { DecodeError } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { looksLikeNtfs, parseNtfsBoot, type NtfsBoot } from './boot.ts';

export interface ChosenBoot {
  boot: NtfsBoot;
  /** The backup is used: sector 0 was refused. */
  fromBackup: boolean;
  /** What to say about the boot sectors (the caller prefixes the volume). */
  warnings: string[];
}

/** Sector sizes a backup may have: parseNtfsBoot's range, but a whole boot sector (512 bytes) in one. */
const SECTOR_SIZES = [512, 1024, 2048, 4096];
const TAIL = 4096n;

/** A found backup, or why the candidates were not one. */
type Backup = { boot: NtfsBoot; where: string } | string;

/**
 * The sector of `bytesPerSector` bytes at byte `at`, if it is the backup: a candidate counts only
 * where its own BytesPerSector and TotalSectors put it (a sector of its size, the one after the
 * volume it describes). `why`: what the candidates before it said.
 */
function asBackup(
  sector: Buffer,
  at: bigint,
  bytesPerSector: number,
  where: string,
  size: bigint,
  why: string,
): Backup {
  if (!looksLikeNtfs(sector) || sector.readUInt16LE(11) !== bytesPerSector) return why;
  const boot = parseNtfsBoot(sector.subarray(0, 512), size);
  if (typeof boot === 'string') return `the one in ${where}: ${boot}`;
  if (boot.totalSectors * BigInt(bytesPerSector) !== at)
    return `the one in ${where}: its TotalSectors ${boot.totalSectors} does not end the volume before it`;
  return { boot, where };
}

/**
 * The backup boot sector and where it was found, or why none can be used. First the space's
 * last sector, at each sector size (one read of the last 4 KiB covers them all); then, only if
 * that is not it, the sector after the volume sector 0 declares, when its BytesPerSector and
 * TotalSectors are readable (a second read, unless it lies in those 4 KiB).
 */
async function backupBoot(src: ByteSource, sector0: Buffer): Promise<Backup> {
  const tailStart = src.size - TAIL;
  const tail = await src.read(tailStart, Number(TAIL));
  let found: Backup = 'none in the last sector of the space';
  for (const S of SECTOR_SIZES) {
    const sector = tail.subarray(Number(TAIL) - S);
    found = asBackup(sector, src.size - BigInt(S), S, 'the last sector of the space', src.size, found);
    if (typeof found !== 'string') return found;
  }
  const S = sector0.readUInt16LE(11);
  const after = sector0.readBigUInt64LE(40) * BigInt(S);
  if (!SECTOR_SIZES.includes(S) || after === 0n || after + BigInt(S) > src.size || after === src.size - BigInt(S))
    return found;
  const sector = after >= tailStart ? tail.subarray(Number(after - tailStart)) : await src.read(after, 512);
  return asBackup(
    sector,
    after,
    S,
    `sector ${after / BigInt(S)} (after the volume sector 0 declares)`,
    src.size,
    found,
  );
}

/** The boot sector to decode with (`sector0` carries the NTFS name); throws when neither it nor its backup can be used. */
export async function chooseBootSector(src: ByteSource, sector0: Buffer): Promise<ChosenBoot> {
  const main = parseNtfsBoot(sector0, src.size);
  if (typeof main !== 'string') return { boot: main, fromBackup: false, warnings: [] };
  const backup = await backupBoot(src, sector0);
  // Refused: the signature decoder still names the space "NTFS (not decoded)".
  if (typeof backup === 'string') throw new DecodeError(`boot sector: ${main}; backup boot sector: ${backup}`);
  return {
    boot: backup.boot,
    fromBackup: true,
    warnings: [`the boot sector is refused (${main}): the backup boot sector in ${backup.where} is used`],
  };
}
