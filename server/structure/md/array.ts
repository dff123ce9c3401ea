// Assemble md arrays from the members found on the engine's disks (grouped by array UUID, the
// freshest superblock deciding roles, like mdadm --assemble), read the array through its
// members (rebuilding a missing chunk from parity when one slot is absent), decode what the
// array holds, and give every member's data area its meaning piece by piece.

import type { DecodeContext, FoundMember } from '../context.ts';
import { contentSpace } from '../context.ts';
import { blocksText, DecodeError, linear, type MappedSpace, type Piece, type Space } from '../model.ts';
import type { ByteSource } from '../source.ts';
import {
  arrayBytes,
  layoutName,
  locateChunk,
  rowContent,
  slotBytes,
  stripeTable,
  supported,
  type RaidGeometry,
} from './layout.ts';
import { LEVEL_NAMES, type MdSuperblock } from './superblock.ts';

type MdMember = Extract<FoundMember, { kind: 'md' }>;

interface Slotted {
  member: MdMember;
  /** Bytes of its data area holding valid data (all of it unless rebuilding). */
  valid: bigint;
}

class ArraySource implements ByteSource {
  constructor(
    readonly size: bigint,
    private readonly g: RaidGeometry,
    private readonly slots: Array<Slotted | undefined>,
  ) {}

  private async readSlot(slot: number, memberOffset: bigint, length: number): Promise<Buffer | null> {
    const s = this.slots[slot];
    if (!s || memberOffset + BigInt(length) > s.valid) return null;
    return s.member.source.read(s.member.sb.dataOffset + memberOffset, length);
  }

  async read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.size) throw new DecodeError(`read outside the array`);
    const out = Buffer.alloc(length);
    const g = this.g;
    let done = 0;
    while (done < length) {
      const at = offset + BigInt(done);
      const chunkSize = g.level === 1 ? this.size : g.chunk;
      const chunk = g.level === 1 ? 0n : at / chunkSize;
      const within = at - chunk * chunkSize;
      const n = Number(BigInt(length - done) < chunkSize - within ? BigInt(length - done) : chunkSize - within);
      let data: Buffer | null = null;
      for (const loc of locateChunk(g, chunk)) {
        data = await this.readSlot(loc.slot, loc.row * g.chunk + within, n);
        if (data) break;
      }
      if (!data && (g.level === 4 || g.level === 5 || g.level === 6)) data = await this.rebuild(chunk, within, n);
      if (!data) throw new DecodeError(`array chunk ${chunk} has no readable copy`);
      data.copy(out, done);
      done += n;
    }
    return out;
  }

  /** XOR of the stripe's other data chunks and P: what a degraded RAID 4/5/6 returns. */
  private async rebuild(chunk: bigint, within: bigint, n: number): Promise<Buffer | null> {
    const g = this.g;
    const [{ slot: missing, row }] = locateChunk(g, chunk);
    const table = stripeTable(g, row);
    const acc = Buffer.alloc(n);
    for (let slot = 0; slot < g.disks; slot++) {
      if (slot === missing || table[slot]?.kind === 'Q') continue;
      const part = await this.readSlot(slot, row * g.chunk + within, n);
      if (!part) return null;
      for (let i = 0; i < n; i++) acc[i] ^= part[i];
    }
    return acc;
  }
}

/** The freshest superblock decides the array's geometry and every device's role. */
function freshest(members: MdMember[]): MdSuperblock {
  return members.reduce((a, b) => (b.sb.events > a.sb.events ? b : a)).sb;
}

/**
 * RAID 0 over members of different sizes: each slot's size (md's zones follow from them), or
 * undefined when the sizes agree or a slot's member is not here (its size is then unknown).
 */
function zoneSizes(sb: MdSuperblock, members: MdMember[]): bigint[] | undefined {
  if (sb.level !== 0) return undefined;
  const sizes: bigint[] = [];
  for (const m of members) {
    const role = sb.roles[m.sb.devNumber] ?? m.sb.role;
    if (typeof role === 'number' && m.sb.events === sb.events) sizes[role] = m.sb.usedBytes;
  }
  const all = Array.from({ length: sb.raidDisks }, (_, k) => sizes[k]);
  if (all.some((b) => b === undefined) || all.every((b) => b === all[0])) return undefined;
  return all as bigint[];
}

/** Member key → the meaning of that member's data area. */
export type MemberSpaces = Map<string, Space>;

/** An assembled array as the API reports it (arrayStatus). */
export interface ArrayInfo {
  id: string;
  name: string;
  level: number;
  layout: string;
  chunk: bigint;
  raidDisks: number;
  /** Chunk rows per member (stripes, for RAID 4/5/6). */
  rows: bigint;
  /** Roles no device holds in md's own view (failed or removed): the array is degraded. */
  missing: number[];
  /** Roles md gives to a device whose superblock is not on these disks. */
  notFound: number[];
  members: Array<{
    /** Where the member's data area starts (null: not on one of the engine's disks). */
    at: { disk: number; offset: bigint } | null;
    role: MdSuperblock['role'];
    state: 'active' | 'rebuilding' | 'spare' | 'faulty' | 'stale' | 'journal';
    /** Rebuilding: bytes of its data area md says are rebuilt (recovery_offset). */
    rebuilt: bigint | null;
  }>;
}

const roleText = (roles: number[]) => `role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}`;

/**
 * The array's roles (slots 0…n-1) that no working device fills. md's own view first: a role
 * that no device holds in the freshest superblock (its device failed or was removed) leaves the
 * array degraded, or, for RAID 0, unable to run. Then Blockscope's view: a role md gives to a
 * device whose superblock is on none of these disks (a member outside Blockscope).
 */
function roleGaps(sb: MdSuperblock, members: MdMember[]): { missing: number[]; notFound: number[] } {
  const held = new Set(sb.roles.filter((r): r is number => typeof r === 'number'));
  const here = new Set(
    members.filter((m) => m.sb.events === sb.events).map((m) => sb.roles[m.sb.devNumber] ?? m.sb.role),
  );
  const slots = Array.from({ length: sb.raidDisks }, (_, k) => k);
  return { missing: slots.filter((k) => !held.has(k)), notFound: slots.filter((k) => held.has(k) && !here.has(k)) };
}

/** ", degraded: role 2 missing" for the array's label; '' when every role is filled here. */
function gapText(level: number, missing: number[], notFound: number[]): string {
  const parts = [
    missing.length ? `${level === 0 ? 'cannot run' : 'degraded'}: ${roleText(missing)} missing` : '',
    notFound.length ? `${roleText(notFound)} not on these disks` : '',
  ].filter(Boolean);
  return parts.length ? `, ${parts.join(', ')}` : '';
}

export async function assembleMd(
  found: FoundMember[],
  ctx: DecodeContext,
  out: MemberSpaces,
  arrays: ArrayInfo[] = [],
  locate: (src: ByteSource) => { disk: number; offset: bigint } | null = () => null,
): Promise<void> {
  const byUuid = new Map<string, MdMember[]>();
  for (const m of found) if (m.kind === 'md') byUuid.set(m.sb.uuid, [...(byUuid.get(m.sb.uuid) ?? []), m]);
  for (const [uuid, members] of byUuid) {
    const sb = freshest(members);
    const g: RaidGeometry = {
      level: sb.level,
      layout: sb.layout,
      disks: sb.raidDisks,
      chunk: sb.chunkBytes,
      memberBytes: sb.usedBytes,
      slotBytes: zoneSizes(sb, members),
    };
    const level = LEVEL_NAMES[sb.level] ?? `level ${sb.level}`;
    const arrayId = `md:${uuid}`;
    const why = supported(g);
    const spares = members.filter((m) => sb.roles[m.sb.devNumber] === 'spare').length;
    const { missing, notFound } = roleGaps(sb, members);
    ctx.object({
      id: arrayId,
      kind: 'array',
      label: `${sb.name} (${level}${layoutName(g) ? `, ${layoutName(g)}` : ''}, ${g.disks} members${spares ? ` + ${spares} spare` : ''}${gapText(g.level, missing, notFound)})`,
      where: members.map((m) => m.place.where).join(', '),
    });
    if (g.level >= 4 && g.level <= 6)
      ctx.object({ id: `${arrayId}.parity`, kind: 'parity', label: `${sb.name} parity`, where: sb.name });
    const slots: Array<Slotted | undefined> = [];
    for (const m of members) {
      const role = sb.roles[m.sb.devNumber] ?? m.sb.role;
      if (typeof role !== 'number' || m.sb.events < sb.events) continue;
      const bytes = slotBytes(g, role);
      const valid = m.sb.recoveryOffset !== null && m.sb.recoveryOffset < bytes ? m.sb.recoveryOffset : bytes;
      slots[role] = { member: m, valid };
    }
    // Stale members still hold their old role's data: better than nothing for a missing slot.
    for (const m of members)
      if (m.sb.events < sb.events && typeof m.sb.role === 'number' && !slots[m.sb.role])
        slots[m.sb.role] = { member: m, valid: slotBytes(g, m.sb.role) };
    arrays.push({
      id: arrayId,
      name: sb.name,
      level: g.level,
      layout: layoutName(g),
      chunk: g.chunk,
      raidDisks: g.disks,
      rows: g.chunk > 0n ? g.memberBytes / g.chunk : 0n,
      missing,
      notFound,
      members: members.map((m) => {
        const role = m.sb.events < sb.events ? m.sb.role : (sb.roles[m.sb.devNumber] ?? m.sb.role);
        const loc = locate(m.source);
        const rebuilding =
          typeof role === 'number' && m.sb.recoveryOffset !== null && m.sb.recoveryOffset < g.memberBytes;
        return {
          at: loc ? { disk: loc.disk, offset: loc.offset + m.sb.dataOffset } : null,
          role,
          state:
            m.sb.events < sb.events
              ? 'stale'
              : role === 'spare' || role === 'faulty' || role === 'journal'
                ? role
                : rebuilding
                  ? 'rebuilding'
                  : 'active',
          rebuilt: rebuilding ? m.sb.recoveryOffset : null,
        };
      }),
    });
    const problem =
      why ??
      (g.level === 0 && !g.slotBytes && members.some((m) => m.sb.usedBytes !== sb.usedBytes)
        ? 'RAID 0 over members of different sizes with a member missing: its zones are not mapped'
        : null);
    if (problem) {
      ctx.budget.warn(`${sb.name}: ${problem}`);
      // The array is there (md assembles it); only its layout is beyond this decoder.
      for (const m of members)
        if (typeof m.sb.role === 'number')
          out.set(
            m.key,
            linear([{ start: 0n, end: m.sb.usedBytes, kind: 'container', label: `${sb.name} data area (${problem})` }]),
          );
      continue;
    }
    const size = arrayBytes(g);
    const place = { id: arrayId, where: sb.name };
    const content = await ctx.probe(new ArraySource(size, g, slots), ctx, place);
    const arraySpace: Space = content
      ? contentSpace(content, size)
      : linear([{ start: 0n, end: size, kind: 'container', label: `${sb.name} content (not recognised)` }]);
    for (const m of members) {
      const stale = m.sb.events < sb.events;
      const role = stale ? m.sb.role : (sb.roles[m.sb.devNumber] ?? m.sb.role);
      if (typeof role !== 'number') continue;
      const rebuilt = slots[role]?.member === m ? slots[role]!.valid : slotBytes(g, role);
      const mapped = memberSpace(g, sb.name, arrayId, role, arraySpace, rebuilt);
      // A member the array has moved on from (failed, replaced): say so, keep its old meaning.
      const now = sb.roles[m.sb.devNumber];
      const note = `stale: ${sb.name} now counts this device as ${typeof now === 'number' ? `role ${now}` : (now ?? 'absent')} (events ${m.sb.events} < ${sb.events})`;
      out.set(
        m.key,
        stale
          ? linear([{ start: 0n, end: slotBytes(g, role), kind: 'container', label: note, inner: mapped }])
          : mapped,
      );
    }
  }
}

function memberSpace(
  g: RaidGeometry,
  name: string,
  arrayId: string,
  slot: number,
  array: Space,
  rebuilt: bigint,
): MappedSpace {
  const pending = (start: bigint) => (start >= rebuilt ? ' (not yet rebuilt)' : '');
  const size = slotBytes(g, slot);
  return {
    type: 'mapped',
    size,
    *pieces(from: bigint, to: bigint): Iterable<Piece> {
      if (g.level === 1) {
        yield {
          start: 0n,
          end: g.memberBytes,
          kind: 'container',
          label: `mirror of ${name}`,
          describe: (a, b) => `copy of ${name} ${blocksText(a, b)}${pending(a)}`,
          target: { space: array, offset: 0n },
        };
        return;
      }
      const C = g.chunk;
      for (let row = from / C; row * C < to && (row + 1n) * C <= size; row++) {
        const c = rowContent(g, slot, row);
        const start = row * C;
        const stripe = g.level >= 4 && g.level <= 6 ? `${arrayId}:${row}` : undefined;
        if (c.kind === 'unused') {
          yield { start, end: start + C, kind: 'reserved', label: 'unused' };
        } else if (c.kind === 'data') {
          const base = c.chunk * C;
          const copy = g.level === 10 ? `, copy ${c.copy + 1}` : '';
          yield {
            start,
            end: start + C,
            kind: 'container',
            label: `data of ${name} chunk ${c.chunk}${stripe ? ` (stripe ${row})` : ''}${copy}${pending(start)}`,
            describe: (a, b) =>
              `data of ${name} ${blocksText(base + a, base + b)}${stripe ? ` (stripe ${row})` : ''}${copy}${pending(start)}`,
            target: { space: array, offset: base },
            stripe,
          };
        } else {
          yield {
            start,
            end: start + C,
            kind: 'parity',
            label: `parity (${c.kind}) of stripe ${row}${pending(start)}`,
            object: `${arrayId}.parity`,
            stripe,
          };
        }
      }
    },
  };
}
