// What every decoder gets: the budget, the object table it adds to, and the place it decodes
// (for object ids and the "where" words). Members of multi-disk devices (md, LVM) are reported
// here and assembled after every disk was probed.

import { linear, type DecodedObject, type Space } from './model.ts';
import type { ByteSource, DecodeBudget } from './source.ts';
import type { MdSuperblock } from './md/superblock.ts';
import type { LvmPhysicalVolume } from './lvm/label.ts';

export interface Place {
  /** Unique, stable id prefix for objects decoded here, e.g. "d1.p1" or "md:3f2a…". */
  id: string;
  /** Words for the panel: "GPT partition 1 of disk 1". */
  where: string;
}

export type FoundMember =
  | { kind: 'md'; key: string; source: ByteSource; place: Place; sb: MdSuperblock }
  | { kind: 'lvm'; key: string; source: ByteSource; place: Place; pv: LvmPhysicalVolume };

export class DecodeContext {
  readonly objects = new Map<string, DecodedObject>();
  readonly members: FoundMember[] = [];

  constructor(
    readonly budget: DecodeBudget,
    /** Recognise what is inside a space (a partition's content): probe.ts. */
    readonly probe: (src: ByteSource, ctx: DecodeContext, place: Place) => Promise<Recognised | null>,
  ) {}

  /** Register an object (first registration wins) and return its id. */
  object(o: DecodedObject): string {
    if (!this.objects.has(o.id)) this.objects.set(o.id, o);
    return o.id;
  }
}

/** A decoder looks at a space and, if it recognises it, returns what it found. */
export interface Recognised {
  /** Short name for the chain: "ext4", "vfat (FAT32)", "GPT", "md member". */
  name: string;
  space: Space;
  /** Partition tables: their own regions name everything, so no link of their own in chains. */
  transparent?: boolean;
  /** The object the whole space is (a filesystem, an array's member): picking it lights it all up. */
  object?: string;
}

/** The space a container shows for what was recognised inside it (a link named after it, unless transparent). */
export function contentSpace(found: Recognised, size: bigint): Space {
  if (found.transparent) return found.space;
  return linear([
    { start: 0n, end: size, kind: 'container', label: found.name, object: found.object, inner: found.space },
  ]);
}

export type Decoder = (src: ByteSource, ctx: DecodeContext, place: Place) => Promise<Recognised | null>;
