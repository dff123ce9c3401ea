// The structure part of the control API (what each block is): maps, one block's chain, the
// overlay, objects and their blocks, the activity line. Validated like every control call.

import type { Engine } from '../engine.ts';
import type {
  ArrayStatus,
  BlockChain,
  DiskMap,
  ObjectBlocks,
  StructureActivity,
  StructureObject,
  StructureOverlay,
  StructureStatus,
} from '../shared/structure.ts';
import { REGION_KINDS, NO_KIND } from '../shared/structure.ts';
import { arrayStatus } from '../structure/array-status.ts';
import type { StructureService } from '../structure/service.ts';
import { ValidationError, int, optInt, optStr, str } from './validate.ts';

export const STRUCTURE_METHODS = [
  'structureStatus',
  'diskMap',
  'blockChain',
  'structureOverlay',
  'structureObjects',
  'objectBlocks',
  'structureActivity',
  'arrayStatus',
] as const;
export type StructureMethod = (typeof STRUCTURE_METHODS)[number];

const MAX_MAP_RANGES = 100_000;

function service(engine: Engine): StructureService {
  if (!engine.structure) throw new Error('structure decoding is turned off (started with --no-structure)');
  return engine.structure;
}

function disk(engine: Engine, p: Record<string, unknown>) {
  return engine.disk(int(p, 'disk', 1, 16));
}

export async function structureCall(
  engine: Engine,
  method: StructureMethod,
  p: Record<string, unknown>,
): Promise<unknown> {
  const s = service(engine);
  switch (method) {
    case 'structureStatus':
      return s.status() satisfies StructureStatus;
    case 'diskMap': {
      const d = disk(engine, p);
      const limit = optInt(p, 'limit', 1, MAX_MAP_RANGES) ?? MAX_MAP_RANGES;
      const fromText = optStr(p, 'from', 24);
      if (fromText !== undefined && !/^\d+$/.test(fromText))
        throw new ValidationError('from must be a decimal byte offset');
      const from = BigInt(fromText ?? '0');
      const leaves = (s.snapshot?.leaves(d.number) ?? []).filter((l) => l.end > from);
      return {
        disk: d.number,
        status: s.status(),
        ranges: leaves
          .slice(0, limit)
          .map((l) => ({ start: l.start.toString(), end: l.end.toString(), kind: l.kind, chain: l.chain })),
        truncated: leaves.length > limit || (s.snapshot?.disks.get(d.number)?.truncated ?? false),
      } satisfies DiskMap;
    }
    case 'blockChain': {
      const d = disk(engine, p);
      const blocks = d.stats.geometry.blocks;
      const block = int(p, 'block', 0, 2 ** 53);
      if (block >= blocks) throw new ValidationError(`block must be below ${blocks} (the disk's 4 KiB blocks)`);
      const start = BigInt(block) * 4096n;
      const end = start + 4096n < d.size ? start + 4096n : d.size;
      const parts = s.snapshot?.partsAt(d.number, start, end) ?? [];
      return {
        disk: d.number,
        block,
        byteStart: start.toString(),
        byteEnd: end.toString(),
        parts: parts.map((l) => ({ start: l.start.toString(), end: l.end.toString(), kind: l.kind, chain: l.chain })),
        status: s.status(),
      } satisfies BlockChain;
    }
    case 'structureOverlay': {
      const d = disk(engine, p);
      const g = d.stats.geometry;
      const cells = s.snapshot ? s.snapshot.overlay(d.number, g) : new Uint8Array(g.cells).fill(NO_KIND);
      const present = new Set<number>(cells);
      return {
        disk: d.number,
        version: s.status().version,
        cells: Buffer.from(cells).toString('base64'),
        kinds: REGION_KINDS.filter((_, i) => present.has(i)),
      } satisfies StructureOverlay;
    }
    case 'structureObjects':
      return (s.snapshot?.objects() ?? []) satisfies StructureObject[];
    case 'objectBlocks': {
      const id = str(p, 'id', 4096);
      const object = s.snapshot?.object(id);
      if (!object) throw new ValidationError(`no structure object '${id}' (list them with structureObjects)`);
      return { object, disks: s.snapshot!.objectBlocks(id) } satisfies ObjectBlocks;
    }
    case 'arrayStatus':
      return arrayStatus(engine, s.snapshot?.result.arrays ?? []) satisfies ArrayStatus[];
    case 'structureActivity': {
      const n = optInt(p, 'disk', 1, 16);
      if (n !== undefined) engine.disk(n);
      const seconds = optInt(p, 'seconds', 1, 3600) ?? 5;
      return s.activity(n, seconds) satisfies StructureActivity;
    }
  }
}
