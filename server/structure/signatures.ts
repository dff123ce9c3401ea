// Formats Blockscope recognises but does not decode. Without this a swap or LUKS disk looked
// exactly like a blank one (no label at all); now its whole space is "Linux swap (not decoded)"
// and its header is named, so nobody takes a format it cannot read for empty space. The magic
// numbers and places are the ones blkid (util-linux libblkid) looks for. btrfs, XFS, exFAT, NTFS
// and ISO 9660 are decoded (btrfs/, xfs/, exfat/, ntfs/, iso9660/, probed first); they stay here
// for one whose superblock, boot sector or primary volume descriptor that decoder refuses or
// lacks (with a warning), so such a disk is still named.

import type { Decoder } from './context.ts';
import { linear, type Region } from './model.ts';
import type { ByteSource } from './source.ts';

interface Signature {
  name: string;
  /** Where the magic is, and what it is. */
  at: number;
  magic: Buffer;
  /** The header or superblock the magic belongs to: labelled as such. */
  header: { start: number; end: number; label: string };
}

const sig = (name: string, at: number, magic: string | number[], header: Signature['header']): Signature => ({
  name,
  at,
  magic: typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic),
  header,
});

const SIGNATURES: Signature[] = [
  sig('btrfs', 0x10040, '_BHRfS_M', { start: 0x10000, end: 0x11000, label: 'btrfs superblock' }),
  sig('XFS', 0, 'XFSB', { start: 0, end: 512, label: 'XFS superblock' }),
  sig('Linux swap', 4086, 'SWAPSPACE2', { start: 0, end: 4096, label: 'swap header' }),
  sig('LUKS', 0, [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe], { start: 0, end: 4096, label: 'LUKS header' }),
  sig('NTFS', 3, 'NTFS    ', { start: 0, end: 512, label: 'NTFS boot sector' }),
  sig('exFAT', 3, 'EXFAT   ', { start: 0, end: 512, label: 'exFAT boot sector' }),
  sig('F2FS', 0x400, [0x10, 0x20, 0xf5, 0xf2], { start: 0x400, end: 0x1000, label: 'F2FS superblock' }),
  sig('squashfs', 0, 'hsqs', { start: 0, end: 96, label: 'squashfs superblock' }),
  sig('ISO 9660', 0x8001, 'CD001', { start: 0x8000, end: 0x8800, label: 'ISO 9660 volume descriptor' }),
];

/** Read the magic of `s` if the space is big enough to hold its header. */
async function matches(src: ByteSource, s: Signature): Promise<boolean> {
  if (BigInt(Math.max(s.at + s.magic.length, s.header.end)) > src.size) return false;
  return (await src.read(BigInt(s.at), s.magic.length)).equals(s.magic);
}

export const decodeSignature: Decoder = async (src, ctx, place) => {
  for (const s of SIGNATURES)
    if (await matches(src, s)) {
      const name = `${s.name} (not decoded)`;
      const id = `${place.id}.${s.name.toLowerCase().replace(/\W+/g, '-')}`;
      const object = ctx.object({ id, kind: 'filesystem', label: name, where: place.where });
      const header: Region = {
        start: BigInt(s.header.start),
        end: BigInt(s.header.end),
        kind: 'superblock',
        label: s.header.label,
        object,
      };
      return { name, space: linear([header]), object };
    }
  return null;
};
