// LVM2 physical volume: the "LABELONE" label in one of the first four sectors, its pv_header
// (PV UUID, data area, metadata areas), and the current volume-group metadata text that the
// first metadata area's mda_header points at (a circular buffer: the text may wrap).

import { DecodeError } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { parseConfigText, type ConfigSection } from './config-text.ts';

const MDA_MAGIC = ' LVM2 x[5A%r0N*>';

export interface LvmPhysicalVolume {
  /** The 32-character PV UUID, dashed as the metadata writes it (6-4-4-4-4-4-6). */
  pvId: string;
  labelSector: bigint;
  /** Start of the data area (pe_start), bytes. */
  dataOffset: bigint;
  metadataAreas: Array<{ offset: bigint; size: bigint }>;
  /** The volume group's metadata, parsed; null when there is none (an orphan PV). */
  vg: { name: string; seqno: number; config: ConfigSection } | null;
}

const dashed = (id: string) =>
  [
    id.slice(0, 6),
    id.slice(6, 10),
    id.slice(10, 14),
    id.slice(14, 18),
    id.slice(18, 22),
    id.slice(22, 26),
    id.slice(26, 32),
  ].join('-');

export async function findLvmLabel(src: ByteSource): Promise<LvmPhysicalVolume | null> {
  if (src.size < 4096n) return null;
  const head = await src.read(0n, 2048);
  for (let s = 0; s < 4; s++) {
    const sec = head.subarray(s * 512, s * 512 + 512);
    if (sec.toString('latin1', 0, 8) !== 'LABELONE' || sec.toString('latin1', 24, 32) !== 'LVM2 001') continue;
    const off = sec.readUInt32LE(20);
    if (off < 32 || off + 48 > 512) throw new DecodeError('LVM label: pv_header offset out of range');
    const pvId = dashed(sec.toString('latin1', off, off + 32));
    const areas: Array<Array<{ offset: bigint; size: bigint }>> = [[], []];
    let p = off + 40;
    for (const list of areas) {
      while (p + 16 <= 512) {
        const offset = sec.readBigUInt64LE(p);
        const size = sec.readBigUInt64LE(p + 8);
        p += 16;
        if (offset === 0n) break;
        list.push({ offset, size });
      }
    }
    const [data, mdas] = areas;
    if (!data.length) throw new DecodeError('LVM label: no data area');
    return {
      pvId,
      labelSector: BigInt(s),
      dataOffset: data[0].offset,
      metadataAreas: mdas,
      vg: await readMetadata(src, mdas),
    };
  }
  return null;
}

async function readMetadata(src: ByteSource, mdas: LvmPhysicalVolume['metadataAreas']) {
  for (const mda of mdas) {
    if (mda.offset + 512n > src.size || mda.size < 1024n) continue;
    const h = await src.read(mda.offset, 512);
    if (h.toString('latin1', 4, 20) !== MDA_MAGIC) continue;
    const locOffset = h.readBigUInt64LE(40);
    const locSize = h.readBigUInt64LE(48);
    if (locOffset === 0n || locSize === 0n || locSize > 16n * 1024n * 1024n) continue;
    // The text lives in [mda+512, mda+size) as a ring: it may wrap to just after the header.
    const ringStart = 512n;
    const first = locOffset + locSize <= mda.size ? locSize : mda.size - locOffset;
    const parts = [await src.read(mda.offset + locOffset, Number(first))];
    if (first < locSize) parts.push(await src.read(mda.offset + ringStart, Number(locSize - first)));
    const text = Buffer.concat(parts)
      .toString('utf8')
      .replace(/\0[\s\S]*$/, '');
    const config = parseConfigText(text);
    const name = Object.keys(config).find((k) => typeof config[k] === 'object' && !Array.isArray(config[k]));
    if (!name) continue;
    const vg = config[name] as ConfigSection;
    return { name, seqno: typeof vg.seqno === 'number' ? vg.seqno : 0, config: vg };
  }
  return null;
}
