// md arrays as the API reports them: members with their disks, roles and states, and how many
// of each member's chunk rows are written on the grid — during a rebuild, the stripes already
// reconstructed onto the new member (the spare's written blocks mapped to stripes).

import type { Engine } from '../engine.ts';
import type { ArrayStatus } from '../shared/structure.ts';
import { BlockState } from '../shared/types.ts';
import type { ArrayInfo } from './md/array.ts';
import { LEVEL_NAMES } from './md/superblock.ts';

/** Most block-state lookups per member; beyond, each row is sampled. */
const MAX_LOOKUPS = 1 << 20;

export function arrayStatus(engine: Engine, arrays: ArrayInfo[]): ArrayStatus[] {
  return arrays.map((a) => {
    const chunkKiB = Number(a.chunk / 1024n);
    const desc = [LEVEL_NAMES[a.level] ?? `level ${a.level}`, a.layout, a.level !== 1 ? `${chunkKiB} KiB chunks` : '']
      .filter(Boolean)
      .join(', ');
    return {
      id: a.id,
      name: a.name,
      description: desc,
      stripes: Number(a.rows),
      missing: a.missing,
      notFound: a.notFound,
      members: a.members.map((m) => ({
        disk: m.at?.disk ?? null,
        role: m.role,
        state: m.state,
        stripesWritten: m.at ? writtenRows(engine, m.at.disk, m.at.offset, a.chunk, Number(a.rows)) : 0,
        stripesRebuilt: m.rebuilt !== null && a.chunk > 0n ? Number(m.rebuilt / a.chunk) : null,
      })),
    };
  });
}

function writtenRows(engine: Engine, diskNo: number, offset: bigint, chunk: bigint, rows: number): number {
  const disk = engine.disks.find((d) => d.number === diskNo);
  if (!disk || chunk <= 0n) return 0;
  const states = disk.stats.states;
  const perRow = Math.max(1, Number(chunk / 4096n));
  const step = rows * perRow > MAX_LOOKUPS ? Math.ceil(perRow / 8) : 1;
  const first = Number(offset / 4096n);
  let written = 0;
  for (let r = 0; r < rows; r++) {
    let all = true;
    for (let b = 0; b < perRow && all; b += step) all = states.get(first + r * perRow + b) === BlockState.WRITTEN;
    if (all) written++;
  }
  return written;
}
