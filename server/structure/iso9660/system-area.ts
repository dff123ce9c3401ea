// The system area (sectors 0–15, 32 KiB) ISO 9660 leaves to the system. An isohybrid image (a
// Debian or Ubuntu installer, xorriso -isohybrid-mbr) keeps an MBR there, whose partition 1
// usually starts at sector 0 and covers the whole image, so that the same bytes boot from a CD
// and from a USB stick; some also keep a GPT (its header in sector 1). Named, with the MBR's
// entries, so that the user sees what a partitioning tool would see in these bytes.

import type { Region } from '../model.ts';

export const SYSTEM_AREA_BYTES = 16 * 2048;

/** "partitions 1 (type 0x17, sectors 0–2047), 2 (type 0xef, sectors 100–199)" of an MBR sector. */
function mbrEntries(sector: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const at = 446 + i * 16;
    const type = sector[at + 4];
    const first = sector.readUInt32LE(at + 8);
    const count = sector.readUInt32LE(at + 12);
    if (count === 0) continue; // as Linux: a type-0 entry with sectors is a partition (Debian's partition 1)
    parts.push(`${i + 1} (type 0x${type.toString(16).padStart(2, '0')}, sectors ${first}–${first + count - 1})`);
  }
  return parts.length ? `partition${parts.length > 1 ? 's' : ''} ${parts.join(', ')}` : 'no partitions';
}

/** Regions of the system area: the whole of it, then the MBR and GPT header it holds, if any. */
export function systemAreaRegions(head: Buffer, object: string): Region[] {
  const out: Region[] = [{ start: 0n, end: BigInt(SYSTEM_AREA_BYTES), kind: 'reserved', label: 'system area', object }];
  if (head.length >= 512 && head.readUInt16LE(510) === 0xaa55)
    out.push({
      start: 0n,
      end: 512n,
      kind: 'partition-table',
      prefix: ['system area'],
      label: `isohybrid MBR (boot code + ${mbrEntries(head)})`,
      object,
    });
  if (head.length >= 1024 && head.toString('latin1', 512, 520) === 'EFI PART')
    out.push({
      start: 512n,
      end: 1024n,
      kind: 'partition-table',
      prefix: ['system area'],
      label: 'GPT header',
      object,
    });
  return out;
}
