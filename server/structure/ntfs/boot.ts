// NTFS boot sector (the BIOS parameter block as ntfs-3g's layout.h names it). Every field that
// places something on the disk is checked against the others: a boot sector that contradicts
// itself is refused with the reason (the backup boot sector is then tried: boot-choice.ts).

export interface NtfsBoot {
  bytesPerSector: number;
  clusterBytes: number;
  /** Sectors of the volume, as stored: the backup boot sector sits in the sector after them. */
  totalSectors: bigint;
  /** Whole clusters of the volume: what $Bitmap has a bit for. */
  clusterCount: bigint;
  mftLcn: bigint;
  mftMirrLcn: bigint;
  mftRecordBytes: number;
  indexRecordBytes: number;
}

/** True when `b` (sector 0) carries the NTFS OEM id at byte 3: the signature blkid looks for. */
export const looksLikeNtfs = (b: Buffer) => b.toString('latin1', 3, 11) === 'NTFS    ';

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * Record sizes are stored as clusters per record, or, when negative, as 2^-n bytes (a cluster
 * larger than a record: the common case, 0xF6 = 1 KiB records).
 */
function recordBytes(stored: number, clusterBytes: number): number {
  const signed = stored > 127 ? stored - 256 : stored;
  return signed < 0 ? 2 ** -signed : signed * clusterBytes;
}

/** Parse sector 0, or say why it cannot be used (the string is the warning). */
export function parseNtfsBoot(b: Buffer, size: bigint): NtfsBoot | string {
  if (b.readUInt16LE(510) !== 0xaa55) return 'boot signature 0xAA55 missing';
  const bytesPerSector = b.readUInt16LE(11);
  if (!isPowerOfTwo(bytesPerSector) || bytesPerSector < 256 || bytesPerSector > 4096)
    return `BytesPerSector ${bytesPerSector} is not a power of two in 256–4096`;
  // Above 0x80 the count is 2^(256−n) (ntfs-3g and Windows read it so, for clusters past 64 KiB).
  const spc = b[13] > 0x80 ? 2 ** (256 - b[13]) : b[13];
  if (!isPowerOfTwo(spc)) return `SectorsPerCluster ${b[13]} is not a power of two`;
  const clusterBytes = spc * bytesPerSector;
  if (clusterBytes > 2 * 1024 * 1024) return `clusters of ${clusterBytes} bytes are larger than 2 MiB`;
  const boot: NtfsBoot = {
    bytesPerSector,
    clusterBytes,
    totalSectors: b.readBigUInt64LE(40),
    clusterCount: (b.readBigUInt64LE(40) * BigInt(bytesPerSector)) / BigInt(clusterBytes),
    mftLcn: b.readBigUInt64LE(48),
    mftMirrLcn: b.readBigUInt64LE(56),
    mftRecordBytes: recordBytes(b[64], clusterBytes),
    indexRecordBytes: recordBytes(b[68], clusterBytes),
  };
  return contradiction(boot, size) ?? boot;
}

/** Why the placing fields of a boot sector cannot all be true, or null when they can. */
function contradiction(boot: NtfsBoot, size: bigint): string | null {
  const { mftRecordBytes, indexRecordBytes, clusterCount, totalSectors, bytesPerSector } = boot;
  // Records carry an update sequence entry per 512 bytes; 64 KiB is the most anyone writes.
  for (const [what, n] of [
    ['MFT record', mftRecordBytes],
    ['index record', indexRecordBytes],
  ] as const)
    if (!isPowerOfTwo(n) || n < 512 || n > 65536) return `${what} size ${n} is not a power of two in 512–65536`;
  if (clusterCount < 16n) return `TotalSectors ${totalSectors} leaves fewer than 16 clusters`;
  if (totalSectors * BigInt(bytesPerSector) > size)
    return `TotalSectors ${totalSectors} runs past the end of the space`;
  for (const [what, lcn] of [
    ['MftLcn', boot.mftLcn],
    ['MftMirrLcn', boot.mftMirrLcn],
  ] as const)
    if (lcn === 0n || lcn >= clusterCount) return `${what} ${lcn} is not inside the volume`;
  return null;
}
