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
  /** RAID 0 over members of different sizes: each slot's bytes (whole chunks), which make md's zones. */
  slotBytes?: bigint[];
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

/**
 * RAID 10's layout word: near copies in bits 0–7, far copies in 8–15, bit 16 makes the far
 * copies "offset" (one row below instead of a region further down), bits 17–18 say how the far
 * copies rotate (0: over all members; 1 and 2: within "far sets", kernel raid10.c setup_geo).
 */
const raid10Copies = (layout: number) => ({
  near: layout & 0xff,
  far: (layout >> 8) & 0xff,
  offset: (layout & 0x10000) !== 0,
  farSets: layout >>> 17,
});

export function layoutName(g: RaidGeometry): string {
  if (g.level === 6 && isQLast(g)) return RAID6_Q_LAST_LAYOUTS[g.layout - RAID6_Q_LAST_BASE];
  if (g.level === 5 || g.level === 6) return RAID5_LAYOUTS[g.layout] ?? `layout ${g.layout}`;
  if (g.level === 0 && zones(g).length > 1) return RAID0_LAYOUTS[g.layout] ?? `layout ${g.layout}`;
  if (g.level === 10) {
    // As mdadm prints it: near=2, far=2, offset=2 (copies of one kind; more kinds joined).
    const { near, far, offset } = raid10Copies(g.layout);
    const parts = [near > 1 || far <= 1 ? `near=${near}` : '', far > 1 ? `${offset ? 'offset' : 'far'}=${far}` : ''];
    return parts.filter(Boolean).join(', ');
  }
  return '';
}

/** Can this geometry be mapped? (RAID 6's DDF layouts, RAID 10 offset copies mixed with near ones: not.) */
export function supported(g: RaidGeometry): string | null {
  if (g.disks < 1) return 'no members';
  if ([4, 5, 6, 0, 10].includes(g.level) && (g.chunk <= 0n || g.chunk % 512n !== 0n)) return 'bad chunk size';
  if (g.level === 5 && g.layout > 5) return `RAID 5 layout ${g.layout} is not mapped`;
  if (g.level === 6 && g.layout > 5 && !isQLast(g)) return `RAID 6 layout ${g.layout} is not mapped`;
  if (g.level === 10) {
    const { near, far, offset, farSets } = raid10Copies(g.layout);
    if (near < 1 || far < 1) return 'RAID 10 without copies';
    if (farSets > 2) return `RAID 10 layout ${g.layout} is not one md knows`;
    if (near * far > g.disks) return 'too few members';
    // md puts a near copy that wraps to the next row onto that row's offset copy: no mdadm makes these.
    if (offset && near > 1 && far > 1) return `RAID 10 layout ${layoutName(g)} is not mapped`;
  }
  if (g.level === 0 && zones(g).length > 1 && zones(g)[1].slots.length > 1 && !RAID0_LAYOUTS[g.layout])
    return 'RAID 0 over members of different sizes without a zone layout (md needs raid0.default_layout) is not mapped';
  if (![0, 1, 4, 5, 6, 10].includes(g.level)) return `level ${g.level} is not mapped`;
  if ((g.level === 5 || g.level === 4) && g.disks < 2) return 'too few members';
  if (g.level === 6 && g.disks < 4) return 'too few members';
  return null;
}

export const parityDisks = (g: RaidGeometry) => (g.level === 6 ? 2 : g.level === 5 || g.level === 4 ? 1 : 0);
export const dataDisks = (g: RaidGeometry) => g.disks - parityDisks(g);
/** Chunk rows per member the array uses. */
export const rows = (g: RaidGeometry) => (g.chunk > 0n ? g.memberBytes / g.chunk : 0n);

/** Bytes of slot `slot`'s data area the array uses. */
export const slotBytes = (g: RaidGeometry, slot: number) => g.slotBytes?.[slot] ?? g.memberBytes;

export function arrayBytes(g: RaidGeometry): bigint {
  if (g.level === 1) return g.memberBytes;
  if (g.level === 10) return raid10(g).arrayChunks * g.chunk;
  if (g.level === 0 && g.slotBytes)
    return zones(g).reduce((sum, z) => sum + z.rows * BigInt(z.slots.length), 0n) * g.chunk;
  return rows(g) * g.chunk * BigInt(dataDisks(g));
}

/** RAID 0's zone layouts (md's RAID0_ORIG_LAYOUT = 1, RAID0_ALT_MULTIZONE_LAYOUT = 2), as mdadm names them. */
const RAID0_LAYOUTS: Record<number, string> = { 1: 'original', 2: 'alternate' };

/**
 * A RAID 0 zone (kernel raid0.c create_strip_zones): the first stripes over every member up to
 * the smallest one's size, each next one over the members that have more, up to the smallest of those.
 */
interface Zone {
  /** Chunk row on each of its members where the zone starts, and its rows. */
  startRow: bigint;
  rows: bigint;
  /** Its first array chunk. */
  firstChunk: bigint;
  /** Its members' slots, in slot order. */
  slots: number[];
}

const zoneCache = new Map<string, Zone[]>();

function zones(g: RaidGeometry): Zone[] {
  if (!g.slotBytes || g.chunk <= 0n) return [];
  const slotRows = g.slotBytes.map((b) => b / g.chunk);
  const key = `${g.disks}:${slotRows.join(',')}`;
  let out = zoneCache.get(key);
  if (out) return out;
  out = [];
  let startRow = 0n;
  let firstChunk = 0n;
  for (;;) {
    const slots = slotRows.flatMap((r, slot) => (r > startRow ? [slot] : []));
    if (!slots.length) break;
    const end = slots.reduce((m, slot) => (slotRows[slot] < m ? slotRows[slot] : m), slotRows[slots[0]]);
    out.push({ startRow, rows: end - startRow, firstChunk, slots });
    firstChunk += (end - startRow) * BigInt(slots.length);
    startRow = end;
  }
  zoneCache.set(key, out);
  return out;
}

/**
 * Array chunk → (slot, row) in a RAID 0 zone. Rows within the zone go in order; the member is
 * the chunk's index within the zone modulo the zone's members ("alternate"), or, in the
 * original layout (what md did before 3.14), the array chunk number's.
 */
function zoneChunk(g: RaidGeometry, z: Zone, chunk: bigint): { slot: number; row: bigint } {
  const n = BigInt(z.slots.length);
  const within = chunk - z.firstChunk;
  const k = g.layout === 2 ? within % n : chunk % n;
  return { slot: z.slots[Number(k)], row: z.startRow + within / n };
}

/** The inverse of zoneChunk: which array chunk slot `slot` holds in chunk row `row`, if any. */
function zoneRow(g: RaidGeometry, slot: number, row: bigint): bigint | null {
  const z = zones(g).find((x) => row >= x.startRow && row < x.startRow + x.rows);
  const k = z?.slots.indexOf(slot) ?? -1;
  if (!z || k < 0) return null;
  const n = BigInt(z.slots.length);
  const rowFirst = z.firstChunk + (row - z.startRow) * n;
  // Original layout: the member is chunk mod n, so count k on from rowFirst's residue.
  const step = g.layout === 2 ? BigInt(k) : (((BigInt(k) - rowFirst) % n) + n) % n;
  return rowFirst + step;
}

/** RAID 10's geometry as md computes it (kernel raid10.c setup_geo, calc_sectors, raid10_size). */
interface Raid10 {
  near: number;
  far: number;
  offset: boolean;
  arrayChunks: bigint;
  /** Rows between a chunk's far copies: a region of the member, or one row for offset copies. */
  stride: bigint;
  /** shift[f][d]: the member holding far copy f of what member d holds in copy 0; unshift its inverse. */
  shift: number[][];
  unshift: number[][];
}

const raid10Cache = new Map<string, Raid10>();

function raid10(g: RaidGeometry): Raid10 {
  const key = `${g.layout}:${g.disks}:${rows(g)}`;
  let r = raid10Cache.get(key);
  if (r) return r;
  const { near, far, offset, farSets } = raid10Copies(g.layout);
  const disks = BigInt(g.disks);
  const [nc, fc] = [BigInt(near), BigInt(far)];
  // calc_sectors: the superblock's size, cut to what whole chunks of the array need per member.
  const chunksOf = (devRows: bigint) => ((devRows / fc) * disks) / nc;
  const usedRows = (chunksOf(rows(g)) * nc * fc + disks - 1n) / disks;
  const stride = offset ? 1n : usedRows / fc;
  // Far copies move near_copies members on, wrapping within their far set (the last set takes the remainder).
  const setSize = farSets === 0 ? g.disks : farSets === 1 ? Math.floor(g.disks / far) : far * near;
  const lastSetStart = (Math.floor(g.disks / setSize) - 1) * setSize;
  const lastSetSize = setSize + (g.disks % setSize);
  const step = (d: number) => {
    const set = Math.floor(d / setSize);
    const e = d + near;
    if (g.disks % setSize && e > lastSetStart) return ((e - lastSetStart) % lastSetSize) + lastSetStart;
    return (e % setSize) + setSize * set;
  };
  const shift = [Array.from({ length: g.disks }, (_, d) => d)];
  for (let f = 1; f < far; f++) shift.push(shift[f - 1].map(step));
  const unshift = shift.map((s) => {
    const inv: number[] = [];
    s.forEach((to, from) => (inv[to] = from));
    return inv;
  });
  r = { near, far, offset, arrayChunks: chunksOf(usedRows), stride, shift, unshift };
  raid10Cache.set(key, r);
  return r;
}

/** Every copy of a RAID 10 chunk (kernel raid10.c __raid10_find_phys), in md's copy order. */
function raid10Locations(g: RaidGeometry, chunk: bigint): Array<{ slot: number; row: bigint }> {
  const r = raid10(g);
  const disks = BigInt(g.disks);
  const first = chunk * BigInt(r.near);
  let row = r.offset ? (first / disks) * BigInt(r.far) : first / disks;
  let dev = Number(first % disks);
  const out: Array<{ slot: number; row: bigint }> = [];
  for (let n = 0; n < r.near; n++) {
    for (let f = 0; f < r.far; f++) out.push({ slot: r.shift[f][dev], row: row + BigInt(f) * r.stride });
    if (++dev === g.disks) [dev, row] = [0, row + 1n];
  }
  return out;
}

/** What a RAID 10 member holds in a row: region (or offset row) f holds far copy f of the near layout. */
function raid10Row(g: RaidGeometry, slot: number, row: bigint): RowContent {
  const r = raid10(g);
  const fc = BigInt(r.far);
  const f = r.offset ? row % fc : row / r.stride;
  if (f >= fc) return { kind: 'unused' };
  const nearRow = r.offset ? row / fc : row - f * r.stride;
  const from = r.unshift[Number(f)][slot];
  if (from === undefined) return { kind: 'unused' };
  const p = nearRow * BigInt(g.disks) + BigInt(from);
  const chunk = p / BigInt(r.near);
  if (chunk >= r.arrayChunks) return { kind: 'unused' };
  return { kind: 'data', chunk, stripe: row, copy: Number(p % BigInt(r.near)) * r.far + Number(f) };
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
    case 0: {
      if (!g.slotBytes) return { kind: 'data', chunk: row * n + BigInt(slot), stripe: row, copy: 0 };
      const chunk = zoneRow(g, slot, row);
      return chunk === null ? { kind: 'unused' } : { kind: 'data', chunk, stripe: row, copy: 0 };
    }
    case 10:
      return raid10Row(g, slot, row);
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
    case 0: {
      const z = [...zones(g)].reverse().find((x) => chunk >= x.firstChunk);
      return [z ? zoneChunk(g, z, chunk) : { slot: Number(chunk % n), row: chunk / n }];
    }
    case 1:
      return Array.from({ length: g.disks }, (_, slot) => ({ slot, row: chunk }));
    case 10:
      return raid10Locations(g, chunk);
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
