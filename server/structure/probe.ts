// What is in this space? Each decoder looks for its signature; the first that recognises the
// space wins. Order matters: GPT before MBR (a protective MBR is a valid MBR), md before
// filesystems (md 1.0/0.90 keep their superblock at the end, so a RAID 1 member also shows the
// filesystem's own superblock at the start), FAT's strict boot-sector check and exFAT's and NTFS's names
// before MBR (both boot sectors end in 0xAA55, as an MBR does). ISO 9660 first of all: an
// isohybrid image's system area holds an MBR (and often a GPT) whose partitions are the image's
// own files; the volume's descriptors at 32 KiB say what the whole image is.

import { decodeBtrfs } from './btrfs/btrfs.ts';
import type { Decoder, DecodeContext, Place, Recognised } from './context.ts';
import { decodeExfat } from './exfat/exfat.ts';
import { decodeExt } from './ext/ext.ts';
import { decodeFat } from './fat/fat.ts';
import { decodeIso9660 } from './iso9660/iso9660.ts';
import { decodeLvmPv } from './lvm/pv.ts';
import { decodeMdMember } from './md/member.ts';
import { decodeNtfs } from './ntfs/ntfs.ts';
import { DecodeError } from './model.ts';
import { decodeGpt } from './partitions/gpt.ts';
import { decodeMbr } from './partitions/mbr.ts';
import { decodeSignature } from './signatures.ts';
import { BudgetExhausted, type ByteSource } from './source.ts';
import { decodeXfs } from './xfs/xfs.ts';

const DECODERS: Array<[string, Decoder]> = [
  ['ISO 9660', decodeIso9660],
  ['GPT', decodeGpt],
  ['md', decodeMdMember],
  ['LVM', decodeLvmPv],
  ['FAT', decodeFat],
  ['exFAT', decodeExfat],
  ['NTFS', decodeNtfs],
  ['MBR', decodeMbr],
  ['ext', decodeExt],
  ['XFS', decodeXfs],
  ['btrfs', decodeBtrfs],
  // Last: formats only recognised (named, not decoded), so that they are not taken for empty
  // space; an XFS or btrfs whose superblock its decoder refused (with a warning) is still named here.
  ['signature', decodeSignature],
];

/** Depth guard: a partition in an array in a volume in a partition … stops somewhere. */
const MAX_DEPTH = 8;

export async function probe(src: ByteSource, ctx: DecodeContext, place: Place): Promise<Recognised | null> {
  if (place.id.split('.').length > MAX_DEPTH) return null;
  for (const [name, decoder] of DECODERS) {
    try {
      const found = await decoder(src, ctx, place);
      if (found) return found;
    } catch (err) {
      if (err instanceof BudgetExhausted) throw err;
      // Malformed on-disk data (DecodeError, or a RangeError from a field pointing outside a
      // buffer) costs this structure its labels, never the decode of everything else.
      const why = err instanceof DecodeError ? err.message : `unexpected data (${(err as Error).message})`;
      ctx.budget.warn(`${place.where}: ${name}: ${why}`);
    }
  }
  return null;
}
