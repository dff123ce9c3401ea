// An opened ext2/3/4 filesystem for the decoders: superblock, group descriptors and block reads.

import type { DecodeContext, Place } from '../context.ts';
import { DecodeError } from '../model.ts';
import type { ByteSource } from '../source.ts';
import {
  parseGroupDesc,
  parseSuperblock,
  primaryDescriptorBlocks,
  descsPerBlock,
  type ExtSuperblock,
  type GroupDesc,
} from './superblock.ts';

export class ExtFs {
  private constructor(
    readonly src: ByteSource,
    readonly sb: ExtSuperblock,
    readonly groups: GroupDesc[],
    readonly ctx: DecodeContext,
    /** Objects of this filesystem get ids under place.id. */
    readonly place: Place,
  ) {}

  static async open(src: ByteSource, ctx: DecodeContext, place: Place): Promise<ExtFs | null> {
    if (src.size < 2048n) return null;
    const raw = await src.read(1024n, 1024);
    if (raw.readUInt16LE(0x38) !== 0xef53) return null;
    const sb = parseSuperblock(raw);
    const fsBytes = BigInt(sb.blocksCount) * BigInt(sb.blockSize);
    if (fsBytes > src.size) ctx.budget.warn(`${place.where}: ext filesystem is larger than its container`);
    if (sb.groupCount > 4_000_000) throw new DecodeError('ext: too many block groups');
    const groups: GroupDesc[] = [];
    const perBlock = descsPerBlock(sb);
    const descBlocks = primaryDescriptorBlocks(sb);
    const fsLike = { src, sb } as const;
    for (let i = 0; i < descBlocks.length; i++) {
      const b = await readBlockOf(fsLike, descBlocks[i]);
      for (let k = 0; k < perBlock && groups.length < sb.groupCount; k++)
        groups.push(parseGroupDesc(b, k * sb.descSize, sb.descSize));
      await ctx.budget.breathe();
    }
    return new ExtFs(src, sb, groups, ctx, {
      id: `${place.id}.${sb.flavour}`,
      where: `${sb.flavour} on ${place.where}`,
    });
  }

  get blockSize(): number {
    return this.sb.blockSize;
  }

  /** Byte offset of block n (bigint: filesystems reach far beyond 2^53 bytes). */
  byte(n: number): bigint {
    return BigInt(n) * BigInt(this.sb.blockSize);
  }

  readBlock(n: number): Promise<Buffer> {
    return readBlockOf(this, n);
  }

  /** Does block n lie inside the filesystem and its container? */
  valid(n: number): boolean {
    return n < this.sb.blocksCount && this.byte(n + 1) <= this.src.size;
  }
}

function readBlockOf(fs: { src: ByteSource; sb: ExtSuperblock }, n: number): Promise<Buffer> {
  if (!Number.isSafeInteger(n) || n < 0 || n >= fs.sb.blocksCount)
    return Promise.reject(new DecodeError(`ext block ${n} is outside the filesystem`));
  return fs.src.read(BigInt(n) * BigInt(fs.sb.blockSize), fs.sb.blockSize);
}
