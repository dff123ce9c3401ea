// An opened XFS filesystem for the decoders: the superblock, the three ways XFS numbers places
// (AG-relative blocks, filesystem block numbers with the AG above agblklog bits, inode numbers
// with the AG above agblklog + inopblog bits) turned into byte offsets, and block reads.

import type { DecodeContext, Place } from '../context.ts';
import { DecodeError } from '../model.ts';
import type { ByteSource } from '../source.ts';
import { parseSuperblock, XFS_MAGIC, type XfsSuperblock } from './superblock.ts';

/** A block inside one allocation group. */
export interface AgBlock {
  ag: number;
  agbno: number;
}

export class XfsFs {
  private constructor(
    readonly src: ByteSource,
    readonly sb: XfsSuperblock,
    readonly ctx: DecodeContext,
    /** Objects of this filesystem get ids under place.id. */
    readonly place: Place,
  ) {}

  /** null when there is no XFS magic; throws DecodeError when the superblock contradicts itself. */
  static async open(src: ByteSource, ctx: DecodeContext, place: Place): Promise<XfsFs | null> {
    if (src.size < 4096n) return null;
    const raw = await src.read(0n, 512);
    if (raw.readUInt32BE(0) !== XFS_MAGIC) return null;
    const sb = parseSuperblock(raw);
    if (sb.dblocks * BigInt(sb.blockSize) > src.size)
      ctx.budget.warn(`${place.where}: XFS filesystem is larger than its container`);
    return new XfsFs(src, sb, ctx, { id: `${place.id}.xfs`, where: `XFS on ${place.where}` });
  }

  get blockSize(): number {
    return this.sb.blockSize;
  }

  get crc(): boolean {
    return this.sb.version === 5;
  }

  /** Blocks in AG `ag` (the last one may be short). */
  agLength(ag: number): number {
    const rest = this.sb.dblocks - BigInt(ag) * BigInt(this.sb.agBlocks);
    return rest < BigInt(this.sb.agBlocks) ? Number(rest) : this.sb.agBlocks;
  }

  /** Byte offset of block `agbno` of AG `ag` (bigint: filesystems reach far beyond 2^53 bytes). */
  byte(ag: number, agbno: number): bigint {
    return (BigInt(ag) * BigInt(this.sb.agBlocks) + BigInt(agbno)) * BigInt(this.sb.blockSize);
  }

  /** Byte just past the filesystem. */
  get end(): bigint {
    return this.sb.dblocks * BigInt(this.sb.blockSize);
  }

  /** Split a filesystem block number (AG above agblklog bits), unchecked: see valid(). */
  split(fsbno: bigint): AgBlock {
    const ag = fsbno >> BigInt(this.sb.agBlockLog);
    const agbno = Number(fsbno & ((1n << BigInt(this.sb.agBlockLog)) - 1n));
    return { ag: ag > 0xffffffffn ? 0xffffffff : Number(ag), agbno };
  }

  /** Split a filesystem block number; DecodeError outside the filesystem. */
  fsb(fsbno: bigint): AgBlock {
    const at = this.split(fsbno);
    if (at.ag >= this.sb.agCount || at.agbno >= this.agLength(at.ag))
      throw new DecodeError(`XFS block ${fsbno} is outside the filesystem`);
    return at;
  }

  /** Does [agbno, agbno+count) lie inside AG `ag` and the container? */
  valid(ag: number, agbno: number, count = 1): boolean {
    return (
      ag < this.sb.agCount &&
      agbno >= 0 &&
      count >= 0 &&
      agbno + count <= this.agLength(ag) &&
      this.byte(ag, agbno + count) <= this.src.size
    );
  }

  readBlock(ag: number, agbno: number): Promise<Buffer> {
    if (!this.valid(ag, agbno)) return Promise.reject(new DecodeError(`XFS block ${agbno} of AG ${ag} is outside`));
    return this.src.read(this.byte(ag, agbno), this.sb.blockSize);
  }

  /** Where inode `ino` is: its block and the byte offset of its record. */
  inodeAt(ino: bigint): { ag: number; agbno: number; byte: bigint } {
    const { agBlockLog, inodesPerBlockLog, inodeSize } = this.sb;
    const perAg = BigInt(agBlockLog + inodesPerBlockLog);
    const ag = Number(ino >> perAg);
    const agino = ino & ((1n << perAg) - 1n);
    const agbno = Number(agino >> BigInt(inodesPerBlockLog));
    const slot = Number(agino & ((1n << BigInt(inodesPerBlockLog)) - 1n));
    if (!this.valid(ag, agbno)) throw new DecodeError(`XFS inode ${ino} is outside the filesystem`);
    return { ag, agbno, byte: this.byte(ag, agbno) + BigInt(slot * inodeSize) };
  }

  /** Inode number of AG-relative inode `agino` of AG `ag`. */
  ino(ag: number, agino: number): bigint {
    return (BigInt(ag) << BigInt(this.sb.agBlockLog + this.sb.inodesPerBlockLog)) | BigInt(agino);
  }

  readInode(ino: bigint): Promise<Buffer> {
    return this.src.read(this.inodeAt(ino).byte, this.sb.inodeSize);
  }
}
