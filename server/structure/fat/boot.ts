// FAT boot sector (BPB) and the allocation table itself. The FAT type follows from the
// cluster count exactly as Microsoft's specification (and the kernel, and dosfstools) decide it.

import { DecodeError } from '../model.ts';

export interface FatBoot {
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fats: number;
  rootEntries: number;
  totalSectors: number;
  fatSectors: number;
  rootCluster: number;
  fsInfoSector: number;
  backupBootSector: number;
  type: 12 | 16 | 32;
  clusters: number;
  rootDirSectors: number;
  firstDataSector: number;
  volumeLabel: string;
}

const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Parse a boot sector, or null when it is not a FAT boot sector (strict: no false positives on an MBR). */
export function parseFatBoot(b: Buffer): FatBoot | null {
  if (b.readUInt16LE(510) !== 0xaa55) return null;
  if (!((b[0] === 0xeb && b[2] === 0x90) || b[0] === 0xe9)) return null;
  const bytesPerSector = b.readUInt16LE(11);
  const sectorsPerCluster = b[13];
  const reservedSectors = b.readUInt16LE(14);
  const fats = b[16];
  const rootEntries = b.readUInt16LE(17);
  const media = b[21];
  if (!pow2(bytesPerSector) || bytesPerSector < 512 || bytesPerSector > 4096) return null;
  if (!pow2(sectorsPerCluster) || reservedSectors < 1 || fats < 1 || fats > 4) return null;
  if (media !== 0xf0 && media < 0xf8) return null;
  const totalSectors = b.readUInt16LE(19) || b.readUInt32LE(32);
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
  if (totalSectors === 0 || fatSectors === 0) return null;
  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const firstDataSector = reservedSectors + fats * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors) throw new DecodeError('FAT: data area starts past the end');
  const clusters = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster);
  const type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  const entriesFit = Math.floor((fatSectors * bytesPerSector * 8) / type);
  if (entriesFit < clusters + 2) throw new DecodeError(`FAT${type}: the table is too small for ${clusters} clusters`);
  const labelAt = type === 32 ? 0x47 : 0x2b;
  const label = b.toString('latin1', labelAt, labelAt + 11).trim();
  return {
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    fats,
    rootEntries,
    totalSectors,
    fatSectors,
    rootCluster: type === 32 ? b.readUInt32LE(44) : 0,
    fsInfoSector: type === 32 ? b.readUInt16LE(48) : 0,
    backupBootSector: type === 32 ? b.readUInt16LE(50) : 0,
    type,
    clusters,
    rootDirSectors,
    firstDataSector,
    volumeLabel: label === 'NO NAME' || /[^\x20-\x7e]/.test(label) ? '' : label,
  };
}

export const FAT_FREE = 0;

/** Entry n of the table, normalised: ≥ 0x0ffffff8 means end of chain, 0x0ffffff7 bad. */
export function fatEntry(fat: Buffer, type: 12 | 16 | 32, n: number): number {
  if (type === 32) return fat.readUInt32LE(n * 4) & 0x0fffffff;
  if (type === 16) {
    const v = fat.readUInt16LE(n * 2);
    return v >= 0xfff7 ? v | 0x0fff0000 : v;
  }
  const off = n + (n >> 1);
  const pair = fat[off] | (fat[off + 1] << 8);
  const v = n & 1 ? pair >> 4 : pair & 0xfff;
  return v >= 0xff7 ? v | 0x0ffff000 : v;
}

export const isEndOfChain = (v: number) => v >= 0x0ffffff8;
