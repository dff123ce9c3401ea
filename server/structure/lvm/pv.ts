// An LVM2 physical volume: label, metadata area(s) and the data area, whose extents belong to
// logical volumes (mapped once the volume group is assembled: vg.ts).

import type { Decoder } from '../context.ts';
import { linear, type Region } from '../model.ts';
import { findLvmLabel } from './label.ts';

export const decodeLvmPv: Decoder = async (src, ctx, place) => {
  const pv = await findLvmLabel(src);
  if (!pv) return null;
  const key = `lvm:${pv.pvId}`;
  ctx.members.push({ kind: 'lvm', key, source: src, place, pv });
  const vgName = pv.vg?.name ?? null;
  const object = ctx.object({
    id: `lvm:${pv.pvId}.meta`,
    kind: 'volume-metadata',
    label: `LVM metadata${vgName ? ` (VG ${vgName})` : ''}`,
    where: place.where,
  });
  const regions: Region[] = [
    {
      start: 0n,
      end: pv.dataOffset < src.size ? pv.dataOffset : src.size,
      kind: 'reserved',
      label: 'LVM PV header area',
    },
    {
      start: pv.labelSector * 512n,
      end: pv.labelSector * 512n + 512n,
      kind: 'volume-metadata',
      label: 'LVM label (PV header)',
      object,
    },
  ];
  for (const mda of pv.metadataAreas)
    regions.push({
      start: mda.offset,
      end: mda.offset + mda.size,
      kind: 'volume-metadata',
      label: `LVM metadata area${vgName ? ` (VG ${vgName})` : ''}`,
      object,
    });
  if (pv.dataOffset < src.size)
    regions.push({
      start: pv.dataOffset,
      end: src.size,
      kind: 'container',
      label: '',
      inner: {
        type: 'member',
        key,
        fallback: vgName ? `VG ${vgName} data area (not mapped)` : 'LVM data area (no volume group)',
      },
    });
  return { name: `LVM PV${vgName ? ` (VG ${vgName})` : ''}`, space: linear(regions) };
};
