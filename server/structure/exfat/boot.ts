// exFAT boot sector (Microsoft's exFAT specification, §3.1). Every field that places something
// on the disk is checked against the others: a boot sector that contradicts itself is refused
// with the reason (the space is then only named, "exFAT (not decoded)"), never trusted.

export interface ExfatBoot {
  bytesPerSector: number;
  sectorsPerCluster: number;
  /** In sectors, as stored (VolumeLength). */
  volumeLength: bigint;
  fatOffset: number;
  fatLength: number;
  clusterHeapOffset: number;
  clusterCount: number;
  rootCluster: number;
  fats: number;
}

export const EXFAT_MAGIC = Buffer.from('EXFAT   ', 'latin1');

/** True when `b` (sector 0) carries the exFAT name at byte 3: the signature blkid looks for. */
export const looksLikeExfat = (b: Buffer) => b.length >= 11 && b.subarray(3, 11).equals(EXFAT_MAGIC);

/**
 * Parse sector 0, or say why it cannot be used (the string is the warning). `size` is the byte
 * length of the space, so that nothing is placed past its end.
 */
export function parseExfatBoot(b: Buffer, size: bigint): ExfatBoot | string {
  if (b.readUInt16LE(510) !== 0xaa55) return 'boot signature 0xAA55 missing';
  // MustBeZero (bytes 11–63) is where FAT's BPB would be: a FAT driver must not take it for FAT.
  if (b.subarray(11, 64).some((x) => x !== 0)) return 'bytes 11–63 (MustBeZero) are not zero';
  const bpsShift = b[108];
  const spcShift = b[109];
  if (bpsShift < 9 || bpsShift > 12) return `BytesPerSectorShift ${bpsShift} is outside 9–12`;
  if (spcShift > 25 - bpsShift) return `SectorsPerClusterShift ${spcShift} makes clusters larger than 32 MiB`;
  const boot: ExfatBoot = {
    bytesPerSector: 2 ** bpsShift,
    sectorsPerCluster: 2 ** spcShift,
    volumeLength: b.readBigUInt64LE(72),
    fatOffset: b.readUInt32LE(80),
    fatLength: b.readUInt32LE(84),
    clusterHeapOffset: b.readUInt32LE(88),
    clusterCount: b.readUInt32LE(92),
    rootCluster: b.readUInt32LE(96),
    fats: b[110],
  };
  return contradiction(boot, size) ?? boot;
}

/** Why the placing fields of a boot sector cannot all be true, or null when they can. */
function contradiction(boot: ExfatBoot, size: bigint): string | null {
  const { fats, fatOffset, fatLength, clusterHeapOffset, clusterCount, rootCluster, bytesPerSector } = boot;
  if (fats !== 1 && fats !== 2) return `NumberOfFats ${fats} is neither 1 nor 2`;
  // The main and backup boot regions are 12 sectors each.
  if (fatOffset < 24) return `FatOffset ${fatOffset} lies inside the boot regions (sectors 0–23)`;
  if (clusterCount < 1 || clusterCount > 0xfffffff5) return `ClusterCount ${clusterCount} is out of range`;
  if (fatLength * bytesPerSector < (clusterCount + 2) * 4)
    return `FatLength ${fatLength} sectors cannot hold ${clusterCount} clusters`;
  if (clusterHeapOffset < fatOffset + fatLength * fats)
    return `ClusterHeapOffset ${clusterHeapOffset} overlaps the FAT${fats > 1 ? 's' : ''}`;
  const heapEnd = BigInt(clusterHeapOffset) + BigInt(clusterCount) * BigInt(boot.sectorsPerCluster);
  if (heapEnd > boot.volumeLength) return `the cluster heap (${clusterCount} clusters) runs past VolumeLength`;
  // Clusters past the end of the space cannot be read (a volume cut short when it was copied).
  if (heapEnd * BigInt(bytesPerSector) > size)
    return `the cluster heap (${clusterCount} clusters) runs past the end of the space`;
  if (BigInt(fatOffset + fatLength * fats) * BigInt(bytesPerSector) > size)
    return 'the FAT lies past the end of the space';
  if (rootCluster < 2 || rootCluster >= clusterCount + 2)
    return `FirstClusterOfRootDirectory ${rootCluster} is not in the cluster heap`;
  return null;
}

/**
 * The boot sector's bytes a driver changes in place, in the main boot sector only: VolumeFlags
 * (106–107, VolumeDirty set while mounted) and PercentInUse (112). The checksum skips them, and
 * so does comparing the main boot region with its backup.
 */
export const isChangingBootByte = (i: number) => i === 106 || i === 107 || i === 112;

/** The boot checksum over sectors 0–10 (§3.4), skipping VolumeFlags and PercentInUse. */
export function bootChecksum(region: Buffer, bytesPerSector: number): number {
  let sum = 0;
  for (let i = 0; i < 11 * bytesPerSector; i++) {
    if (isChangingBootByte(i)) continue;
    sum = (((sum & 1) << 31) | (sum >>> 1)) + region[i];
    sum >>>= 0;
  }
  return sum;
}

export const FAT_END = 0xffffffff;
