// md's address arithmetic (kernel drivers/md/raid5.c raid5_compute_sector, raid10.c, raid0.c):
// which member slot holds which array chunk, and where parity (P, Q) sits in each stripe.
// Everything is periodic in the stripe number modulo the member count, so each layout is
// computed once per residue as a table: slot → role in the stripe.

export type SlotRole = { kind: 'data'; index: number } | { kind: 'P' } | { kind: 'Q' };

export interface RaidGeometry {
  level: number;
  layout: number;
  /** raid_disks: members with a slot (spares excluded). */
  disks: number;
  chunk: bigint;
  /** Bytes of each member's data area the array uses. */
  memberBytes: bigint;
}

export const RAID5_LAYOUTS = [
  'left-asymmetric',
  'right-asymmetric',
  'left-symmetric',
  'right-symmetric',
  'parity-first',
  'parity-last',
];

/**
 * RAID 6 layouts 16–20 (md's ALGORITHM_*_6, what a RAID 5 → 6 reshape leaves): the RAID 5
 * layout of the same name over all members but the last, and Q always on the last member.
 */
const RAID6_Q_LAST_BASE = 16;
const RAID6_Q_LAST_LAYOUTS = [
  'left-asymmetric-6',
  'right-asymmetric-6',
  'left-symmetric-6',
  'right-symmetric-6',
  'parity-first-6',
];
const isQLast = (g: RaidGeometry) => g.level === 6 && g.layout >= RAID6_Q_LAST_BASE && g.layout <= 20;

/** RAID 10's layout word: near copies in bits 0–7, far copies in 8–15, bit 16 makes the far copies "offset". */
const raid10Copies = (layout: number) => ({
  near: layout & 0xff,
  far: (layout >> 8) & 0xff,
  offset: (layout & 0x10000) !== 0,
});

export function layoutName(g: RaidGeometry): string {
  if (g.level === 6 && isQLast(g)) return RAID6_Q_LAST_LAYOUTS[g.layout - RAID6_Q_LAST_BASE];
  if (g.level === 5 || g.level === 6) return RAID5_LAYOUTS[g.layout] ?? `layout ${g.layout}`;
  if (g.level === 10) {
    // As mdadm prints it: near=2, far=2, offset=2 (copies of one kind; more kinds joined).
    const { near, far, offset } = raid10Copies(g.layout);
    const parts = [near > 1 || far <= 1 ? `near=${near}` : '', far > 1 ? `${offset ? 'offset' : 'far'}=${far}` : ''];
    return parts.filter(Boolean).join(', ');
  }
  return '';
}

/** Can this geometry be mapped? (RAID 6's DDF layouts, RAID 10 far/offset copies: not.) */
export function supported(g: RaidGeometry): string | null {
  if (g.disks < 1) return 'no members';
  if ([4, 5, 6, 0, 10].includes(g.level) && (g.chunk <= 0n || g.chunk % 512n !== 0n)) return 'bad chunk size';
  if (g.level === 5 && g.layout > 5) return `RAID 5 layout ${g.layout} is not mapped`;
  if (g.level === 6 && g.layout > 5 && !isQLast(g)) return `RAID 6 layout ${g.layout} is not mapped`;
  if (g.level === 10 && raid10Copies(g.layout).far !== 1)
    return `RAID 10 layout ${layoutName(g)} is not mapped (only near copies are)`;
  if (g.level === 10 && (g.layout & 0xff) < 1) return 'RAID 10 without copies';
  if (![0, 1, 4, 5, 6, 10].includes(g.level)) return `level ${g.level} is not mapped`;
  if ((g.level === 5 || g.level === 4) && g.disks < 2) return 'too few members';
  if (g.level === 6 && g.disks < 4) return 'too few members';
  return null;
}

export const parityDisks = (g: RaidGeometry) => (g.level === 6 ? 2 : g.level === 5 || g.level === 4 ? 1 : 0);
export const dataDisks = (g: RaidGeometry) => g.disks - parityDisks(g);
/** Chunk rows per member the array uses. */
export const rows = (g: RaidGeometry) => (g.chunk > 0n ? g.memberBytes / g.chunk : 0n);

export function arrayBytes(g: RaidGeometry): bigint {
  if (g.level === 1) return g.memberBytes;
  const r = rows(g) * g.chunk;
  // md counts whole chunks: with an odd member count and an odd row count the last half row is unused.
  if (g.level === 10) return ((rows(g) * BigInt(g.disks)) / BigInt(g.layout & 0xff)) * g.chunk;
  return r * BigInt(dataDisks(g));
}

const tables = new Map<string, SlotRole[]>();

/** Role of every slot in stripe `stripe`. RAID 4/5/6 only. */
export function stripeTable(g: RaidGeometry, stripe: bigint): SlotRole[] {
  // The Q-last RAID 6 layouts rotate over one member fewer.
  const period = isQLast(g) ? g.disks - 1 : g.disks;
  const residue = Number(stripe % BigInt(period));
  const key = `${g.level}:${g.layout}:${g.disks}:${residue}`;
  let t = tables.get(key);
  if (t) return t;
  const n = g.disks;
  const D = dataDisks(g);
  let pd: number;
  let qd = -1;
  const slotOf: number[] = [];
  if (g.level === 4) {
    pd = D;
    for (let d = 0; d < D; d++) slotOf.push(d);
  } else if (g.level === 5) {
    const left = D - residue;
    const right = residue;
    switch (g.layout) {
      case 0: // left-asymmetric
      case 1: // right-asymmetric
        pd = g.layout === 0 ? left : right;
        for (let d = 0; d < D; d++) slotOf.push(d >= pd ? d + 1 : d);
        break;
      case 2: // left-symmetric (md's default)
      case 3: // right-symmetric
        pd = g.layout === 2 ? left : right;
        for (let d = 0; d < D; d++) slotOf.push((pd + 1 + d) % n);
        break;
      case 4: // parity-first
        pd = 0;
        for (let d = 0; d < D; d++) slotOf.push(d + 1);
        break;
      default: // parity-last
        pd = D;
        for (let d = 0; d < D; d++) slotOf.push(d);
    }
  } else if (isQLast(g)) {
    // RAID 5's arithmetic over the first n − 1 members (data_disks = n − 2), Q on member n − 1.
    const m = n - 1;
    const kind = g.layout - RAID6_Q_LAST_BASE;
    pd = kind === 4 ? 0 : kind === 0 || kind === 2 ? D - residue : residue;
    qd = m;
    for (let d = 0; d < D; d++) {
      if (kind === 2 || kind === 3) slotOf.push((pd + 1 + d) % m);
      else slotOf.push(d >= pd ? d + 1 : d);
    }
  } else {
    const left = n - 1 - residue;
    switch (g.layout) {
      case 0:
      case 1:
        pd = g.layout === 0 ? left : residue;
        qd = pd + 1;
        for (let d = 0; d < D; d++) {
          if (pd === n - 1) slotOf.push(d + 1);
          else slotOf.push(d >= pd ? d + 2 : d);
        }
        if (pd === n - 1) qd = 0;
        break;
      case 2:
      case 3:
        pd = g.layout === 2 ? left : residue;
        qd = (pd + 1) % n;
        for (let d = 0; d < D; d++) slotOf.push((pd + 2 + d) % n);
        break;
      case 4:
        pd = 0;
        qd = 1;
        for (let d = 0; d < D; d++) slotOf.push(d + 2);
        break;
      default:
        pd = D;
        qd = D + 1;
        for (let d = 0; d < D; d++) slotOf.push(d);
    }
  }
  t = new Array<SlotRole>(n);
  slotOf.forEach((slot, index) => (t![slot] = { kind: 'data', index }));
  t[pd] = { kind: 'P' };
  if (qd >= 0) t[qd] = { kind: 'Q' };
  tables.set(key, t);
  return t;
}

/** What slot `slot` holds in chunk row `row` of its data area. */
export type RowContent =
  | { kind: 'data'; chunk: bigint; stripe: bigint; copy: number }
  | { kind: 'P' | 'Q'; stripe: bigint }
  | { kind: 'unused' };

export function rowContent(g: RaidGeometry, slot: number, row: bigint): RowContent {
  const n = BigInt(g.disks);
  switch (g.level) {
    case 0:
      return { kind: 'data', chunk: row * n + BigInt(slot), stripe: row, copy: 0 };
    case 10: {
      const nc = BigInt(g.layout & 0xff);
      const p = row * n + BigInt(slot);
      const chunk = p / nc;
      if (chunk * g.chunk >= arrayBytes(g)) return { kind: 'unused' };
      return { kind: 'data', chunk, stripe: row, copy: Number(p % nc) };
    }
    case 1:
      return { kind: 'data', chunk: row, stripe: row, copy: slot };
    default: {
      const role = stripeTable(g, row)[slot];
      if (!role) return { kind: 'unused' };
      if (role.kind === 'data')
        return { kind: 'data', chunk: row * BigInt(dataDisks(g)) + BigInt(role.index), stripe: row, copy: 0 };
      return { kind: role.kind, stripe: row };
    }
  }
}

/** Where an array chunk is stored: one location per copy (slot, row). */
export function locateChunk(g: RaidGeometry, chunk: bigint): Array<{ slot: number; row: bigint }> {
  const n = BigInt(g.disks);
  switch (g.level) {
    case 0:
      return [{ slot: Number(chunk % n), row: chunk / n }];
    case 1:
      return Array.from({ length: g.disks }, (_, slot) => ({ slot, row: chunk }));
    case 10: {
      const nc = g.layout & 0xff;
      return Array.from({ length: nc }, (_, k) => {
        const p = chunk * BigInt(nc) + BigInt(k);
        return { slot: Number(p % n), row: p / n };
      });
    }
    default: {
      const D = BigInt(dataDisks(g));
      const stripe = chunk / D;
      const index = Number(chunk % D);
      const t = stripeTable(g, stripe);
      const slot = t.findIndex((r) => r?.kind === 'data' && r.index === index);
      return [{ slot, row: stripe }];
    }
  }
}

/** Slot of P (and Q) in a stripe. */
export function paritySlots(g: RaidGeometry, stripe: bigint): { p: number; q: number } {
  const t = stripeTable(g, stripe);
  return { p: t.findIndex((r) => r?.kind === 'P'), q: t.findIndex((r) => r?.kind === 'Q') };
}
