// Assemble LVM volume groups from the physical volumes found on the engine's disks: the
// freshest metadata (highest seqno) describes the logical volumes; each LV is read through
// its segments (linear and striped) and decoded; each PV's data area is labelled extent range
// by extent range: "LV vg0/root (PV extents 0–14)" or free extents.

import type { DecodeContext, FoundMember } from '../context.ts';
import { contentSpace } from '../context.ts';
import { blocksText, DecodeError, linear, type MappedSpace, type Piece, type Space } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { numberOf, sectionOf, stringOf, type ConfigSection } from './config-text.ts';

type LvmMember = Extract<FoundMember, { kind: 'lvm' }>;

/** One stripe area of a segment: LV bytes [lvStart, lvStart+bytes) … on PV `pv` from `pvStart`. */
interface Area {
  lv: string;
  pvKey: string;
  lvStart: bigint;
  pvStart: bigint;
  bytes: bigint;
  /** The decoded LV, once known. */
  space?: Space;
}

class LvSource implements ByteSource {
  constructor(
    readonly size: bigint,
    private readonly areas: Area[],
    private readonly pvs: Map<string, LvmMember>,
  ) {}
  async read(offset: bigint, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const at = offset + BigInt(done);
      const a = this.areas.find((x) => at >= x.lvStart && at < x.lvStart + x.bytes);
      const pv = a && this.pvs.get(a.pvKey);
      if (!a || !pv) throw new DecodeError(`LV byte ${at} is on a missing physical volume`);
      const n = Number(
        a.lvStart + a.bytes - at < BigInt(length - done) ? a.lvStart + a.bytes - at : BigInt(length - done),
      );
      (await pv.source.read(pv.pv.dataOffset + a.pvStart + (at - a.lvStart), n)).copy(out, done);
      done += n;
    }
    return out;
  }
}

/** Stripe areas of one LV, in LV order (stripes split into stripe_size pieces). */
function lvAreas(name: string, lv: ConfigSection, E: bigint, pvKeyOf: (alias: string) => string | null): Area[] {
  const out: Area[] = [];
  for (const [key, v] of Object.entries(lv)) {
    if (!key.startsWith('segment') || typeof v !== 'object' || Array.isArray(v)) continue;
    const seg = v as ConfigSection;
    const start = BigInt(numberOf(seg, 'start_extent') ?? 0);
    const count = BigInt(numberOf(seg, 'extent_count') ?? 0);
    const stripes = Array.isArray(seg.stripes) ? seg.stripes : [];
    const n = stripes.length / 2;
    if (stringOf(seg, 'type') !== 'striped' || n < 1) continue;
    const perStripe = count / BigInt(n);
    const stripeSize = n > 1 ? BigInt(numberOf(seg, 'stripe_size') ?? 0) * 512n : perStripe * E;
    if (stripeSize <= 0n) continue;
    for (let row = 0n; row * stripeSize < perStripe * E; row++) {
      for (let k = 0; k < n; k++) {
        const pvKey = pvKeyOf(String(stripes[2 * k]));
        const pe = BigInt(Number(stripes[2 * k + 1]));
        if (!pvKey) continue;
        const lvStart = start * E + (row * BigInt(n) + BigInt(k)) * stripeSize;
        out.push({ lv: name, pvKey, lvStart, pvStart: pe * E + row * stripeSize, bytes: stripeSize });
        if (out.length > 100_000) return out;
      }
    }
  }
  return out.sort((a, b) => (a.lvStart < b.lvStart ? -1 : 1));
}

export async function assembleLvm(found: FoundMember[], ctx: DecodeContext, out: Map<string, Space>): Promise<void> {
  const byVg = new Map<string, LvmMember[]>();
  for (const m of found) {
    if (m.kind !== 'lvm' || !m.pv.vg) continue;
    const id = stringOf(m.pv.vg.config, 'id') ?? m.pv.vg.name;
    byVg.set(id, [...(byVg.get(id) ?? []), m]);
  }
  for (const [vgId, members] of byVg) {
    const best = members.reduce((a, b) => (b.pv.vg!.seqno > a.pv.vg!.seqno ? b : a)).pv.vg!;
    const E = BigInt(numberOf(best.config, 'extent_size') ?? 0) * 512n;
    const pvSection = sectionOf(best.config, 'physical_volumes') ?? {};
    const aliasToKey = new Map<string, string>();
    const peCount = new Map<string, number>();
    for (const [alias, v] of Object.entries(pvSection)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const id = stringOf(v as ConfigSection, 'id');
      if (id) aliasToKey.set(alias, `lvm:${id}`);
      if (id) peCount.set(`lvm:${id}`, numberOf(v as ConfigSection, 'pe_count') ?? 0);
    }
    const pvs = new Map(members.map((m) => [m.key, m]));
    const areas: Area[] = [];
    const lvSection = sectionOf(best.config, 'logical_volumes') ?? {};
    if (E <= 0n) continue;
    for (const [lvName, v] of Object.entries(lvSection)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const lvAreasList = lvAreas(lvName, v as ConfigSection, E, (a) => aliasToKey.get(a) ?? null);
      areas.push(...lvAreasList);
      const size = lvAreasList.reduce((s, a) => s + a.bytes, 0n);
      const place = { id: `lv:${vgId}/${lvName}`, where: `LV ${best.name}/${lvName}` };
      ctx.object({ id: place.id, kind: 'volume', label: `LV ${best.name}/${lvName}`, where: `VG ${best.name}` });
      let space: Space = linear([
        { start: 0n, end: size, kind: 'container', label: `LV ${best.name}/${lvName} (not recognised)` },
      ]);
      if (lvAreasList.every((a) => pvs.has(a.pvKey))) {
        const content = await ctx.probe(new LvSource(size, lvAreasList, pvs), ctx, place);
        if (content) space = contentSpace(content, size);
      }
      for (const a of lvAreasList) a.space = space;
    }
    for (const m of members)
      out.set(
        m.key,
        pvSpace(
          m,
          best.name,
          E,
          peCount.get(m.key) ?? 0,
          areas.filter((a) => a.pvKey === m.key),
        ),
      );
  }
}

function pvSpace(m: LvmMember, vg: string, E: bigint, peCount: number, areas: Area[]): MappedSpace {
  const sorted = [...areas].sort((a, b) => (a.pvStart < b.pvStart ? -1 : 1));
  const used = BigInt(peCount) * E;
  const pieces: Piece[] = [];
  let at = 0n;
  const free = (end: bigint) => {
    if (end > at) pieces.push({ start: at, end, kind: 'free', label: `free extents of VG ${vg}` });
  };
  for (const a of sorted) {
    free(a.pvStart);
    const space = a.space;
    // Which part of the LV each block is: a striped LV's consecutive PV blocks are not consecutive LV blocks.
    const where = (from: bigint, to: bigint) =>
      `LV ${vg}/${a.lv} ${blocksText(a.lvStart + from, a.lvStart + to)} (PV extents ${(a.pvStart + from) / E}–${(a.pvStart + to - 1n) / E})`;
    pieces.push({
      start: a.pvStart,
      end: a.pvStart + a.bytes,
      kind: 'container',
      label: where(0n, a.bytes),
      describe: where,
      target: space ? { space, offset: a.lvStart } : undefined,
    });
    at = a.pvStart + a.bytes;
  }
  free(used);
  const size = m.source.size - m.pv.dataOffset;
  if (used < size) pieces.push({ start: used, end: size, kind: 'reserved', label: 'after the last extent' });
  return {
    type: 'mapped',
    size,
    *pieces(from, to) {
      for (const p of pieces) if (p.end > from && p.start < to) yield p;
    },
  };
}
