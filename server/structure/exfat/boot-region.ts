// Which of the two boot regions an exFAT volume is decoded from. The specification (§3.1) has
// the backup boot region (sectors 12–23) "aid recovery of the exFAT volume in the event of the
// Main Boot region being in an inconsistent state", and a region be checked before it is used:
// its boot sector's fields in range and sector 11 holding the checksum of sectors 0–10 (§3.4).
// So the main region is used when it passes, else the backup when that passes (with a warning
// saying so), else the main one if only its checksum failed (with a warning), else the volume is
// refused. Then the regions are compared: a part that differs is damage to
// one of them, or a change made to one only.

import { DecodeError } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { bootChecksum, isChangingBootByte, looksLikeExfat, parseExfatBoot, type ExfatBoot } from './boot.ts';

export interface ChosenBoot {
  boot: ExfatBoot;
  /** The backup region is used: the main one was refused. */
  fromBackup: boolean;
  /** What to say about the boot regions (the caller prefixes the volume). */
  warnings: string[];
}

/** Why sector 11 of `region` is not the checksum of its sectors 0–10, or null when it is. */
function checksumProblem(region: Buffer, bytesPerSector: number): string | null {
  const want = bootChecksum(region, bytesPerSector);
  const stored = region.readUInt32LE(11 * bytesPerSector);
  return stored === want
    ? null
    : `boot checksum 0x${stored.toString(16)} does not match sectors 0–10 (0x${want.toString(16)})`;
}

/**
 * The backup boot region, or why it cannot be used. Its sector size is its own (the main
 * region's may be what is damaged): sector 12 of each size exFAT allows is tried, and only a
 * boot sector whose BytesPerSectorShift puts it there counts.
 */
async function backupBoot(src: ByteSource): Promise<ExfatBoot | string> {
  for (let shift = 9; shift <= 12; shift++) {
    const S = 2 ** shift;
    if (BigInt(24 * S) > src.size) break;
    const sector = await src.read(BigInt(12 * S), 512);
    if (!looksLikeExfat(sector) || sector[108] !== shift) continue;
    const boot = parseExfatBoot(sector, src.size);
    if (typeof boot === 'string') return `its boot sector: ${boot}`;
    return checksumProblem(await src.read(BigInt(12 * S), 12 * S), S) ?? boot;
  }
  return 'no exFAT boot sector at sector 12';
}

/** The boot sector to decode with (`sector0` carries the exFAT name); throws when neither region can be used. */
export async function chooseBootRegion(src: ByteSource, sector0: Buffer): Promise<ChosenBoot> {
  const main = parseExfatBoot(sector0, src.size);
  let refused: string;
  if (typeof main === 'string') refused = `boot sector: ${main}`;
  else {
    // The fields hold together, so the main region (12 of its sectors) lies inside the space.
    const problem = checksumProblem(await src.read(0n, 12 * main.bytesPerSector), main.bytesPerSector);
    if (!problem) return { boot: main, fromBackup: false, warnings: await differences(src, main) };
    refused = problem;
  }
  const backup = await backupBoot(src);
  if (typeof backup !== 'string')
    return {
      boot: backup,
      fromBackup: true,
      warnings: [
        `the main boot region is refused (${refused}): the backup boot region (sectors 12–23) is used`,
        ...(await differences(src, backup)),
      ],
    };
  if (typeof main !== 'string')
    return { boot: main, fromBackup: false, warnings: [refused, ...(await differences(src, main))] };
  // Refused: the signature decoder still names the space "exFAT (not decoded)".
  throw new DecodeError(`${refused}; the backup boot region: ${backup}`);
}

/** The parts of a boot region, by sector (§3): [first, end, name]. */
export const BOOT_REGION: ReadonlyArray<readonly [number, number, string]> = [
  [0, 1, 'boot sector'],
  [1, 9, 'extended boot sectors'],
  [9, 10, 'OEM parameters'],
  [10, 11, 'reserved boot sector'],
  [11, 12, 'boot checksum'],
];

/**
 * The backup region is the main one's copy, written with it and then left alone (§3): the parts
 * that differ (VolumeFlags and PercentInUse, which a driver changes in the main boot sector
 * only, are not compared).
 */
async function differences(src: ByteSource, boot: ExfatBoot): Promise<string[]> {
  const S = boot.bytesPerSector;
  const regions = await src.read(0n, 24 * S);
  const main = regions.subarray(0, 12 * S);
  const backup = regions.subarray(12 * S);
  const differs = (from: number, to: number) => {
    for (let i = from * S; i < to * S; i++) if (main[i] !== backup[i] && !isChangingBootByte(i)) return true;
    return false;
  };
  const parts = BOOT_REGION.filter(([from, to]) => differs(from, to)).map(([, , name]) => name);
  return parts.length ? [`the backup boot region differs from the main one (${parts.join(', ')})`] : [];
}
