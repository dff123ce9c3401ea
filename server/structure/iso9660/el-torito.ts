// El Torito (the bootable CD specification, 1995): the boot record volume descriptor points at the
// boot catalog, a list of 32-byte entries. First the validation entry (header id 1 at byte 0,
// platform at 1, 0x55 0xAA at 30–31, its 16-bit words summing to 0), then the initial/default
// entry (boot indicator 0x88 or 0, media type at 1, sector count at 6 in 512-byte virtual
// sectors, load RBA at 8 in 2048-byte sectors), then section headers (0x90, 0x91 for the last;
// platform at 1, entry count at 2) each followed by that many section entries shaped like the
// default one (and their 0x44 extension entries).

import { SECTOR } from './descriptors.ts';

/** Catalog sectors read at most (64 entries each): real catalogs have a handful of entries. */
const MAX_CATALOG_SECTORS = 4;
const PLATFORMS: Record<number, string> = { 0: 'x86', 1: 'PowerPC', 2: 'Mac', 0xef: 'UEFI' };
const MEDIA = ['no emulation', '1.2 MB floppy', '1.44 MB floppy', '2.88 MB floppy', 'hard disk'];
const FLOPPY_BYTES = [0, 1_228_800, 1_474_560, 2_949_120];

export interface BootImage {
  /** "boot image 1 (x86, no emulation)". */
  label: string;
  start: bigint;
  end: bigint;
}

export const catalogBytes = (sectors = MAX_CATALOG_SECTORS) => sectors * SECTOR;

const platformName = (p: number) => PLATFORMS[p] ?? `platform 0x${p.toString(16)}`;

/** The boot images a catalog lists (its bytes from the catalog's first sector on). */
export function parseCatalog(cat: Buffer, warn: (m: string) => void): BootImage[] {
  if (cat.length < 64 || cat[0] !== 1 || cat[30] !== 0x55 || cat[31] !== 0xaa) {
    warn('the El Torito boot catalog has no validation entry (header 1, key 55 AA): its boot images are not listed');
    return [];
  }
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + cat.readUInt16LE(i)) & 0xffff;
  if (sum !== 0) warn('the El Torito validation entry checksum does not match');
  const images: BootImage[] = [];
  const entry = (at: number, platform: number) => {
    const media = cat[at + 1] & 0x0f;
    const count = cat.readUInt16LE(at + 6);
    const rba = cat.readUInt32LE(at + 8);
    const bytes = media >= 1 && media <= 3 ? FLOPPY_BYTES[media] : Math.max(count, 1) * 512;
    const start = BigInt(rba) * BigInt(SECTOR);
    const what = `${platformName(platform)}, ${MEDIA[media] ?? `media type ${media}`}${cat[at] === 0x88 ? '' : ', not bootable'}`;
    images.push({ label: `El Torito boot image ${images.length + 1} (${what})`, start, end: start + BigInt(bytes) });
  };
  entry(32, cat[1]);
  for (let at = 64; at + 32 <= cat.length;) {
    const header = cat[at];
    if (header !== 0x90 && header !== 0x91) break;
    const platform = cat[at + 1];
    const count = cat.readUInt16LE(at + 2);
    at += 32;
    for (let n = 0; n < count && at + 32 <= cat.length; at += 32) {
      if (cat[at] === 0x44) continue; // an extension of the entry before
      if (cat[at] !== 0x88 && cat[at] !== 0) {
        warn(`the El Torito boot catalog has an unknown entry (0x${cat[at].toString(16)}) at byte ${at}`);
        return images;
      }
      entry(at, platform);
      n++;
    }
    if (header === 0x91) break;
  }
  return images;
}
