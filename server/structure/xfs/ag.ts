// What every allocation group (AG) holds: its first sectors (superblock copy, AGF, AGI, AGFL:
// one sector each, so several share a block), the blocks of its B+trees (free space by block
// number and by size, inodes, free inodes, reverse mapping, reference counts), the blocks on
// its free list, its free space (the bnobt's leaf records) and its inode chunks (the inobt's).
// A damaged header or tree costs that AG's labels for it, with a warning, never the rest.

import type { Region } from '../model.ts';
import { DecodeError } from '../model.ts';
import {
  BNOBT,
  CNTBT,
  FINOBT,
  INOBT,
  REFCOUNTBT,
  RMAPBT,
  walkAgBtree,
  type BtreeShape,
  type BtreeVisitor,
} from './btree.ts';
import type { XfsFs } from './fs.ts';

const AGF_MAGIC = 0x58414746; // "XAGF"
const AGI_MAGIC = 0x58414749; // "XAGI"
const AGFL_HEADER = 36; // v5: magic, seqno, uuid, lsn, crc (packed)
const INODES_PER_CHUNK = 64;
const INODES_PER_HOLEMASK_BIT = 4;

/** An inode chunk from an inobt leaf: 64 inodes from `startAgino`, some maybe never allocated (sparse). */
export interface InodeChunk {
  ag: number;
  startAgino: number;
  /** Bit i set: inodes 4i…4i+3 of the chunk do not exist on disk (sparse inode chunks). */
  holemask: number;
  /** Bit i set: inode i of the chunk is free. */
  free: bigint;
}

export interface AgContents {
  /** Headers, tree blocks, free-list blocks. */
  meta: Region[];
  free: Region[];
  inodes: Region[];
  chunks: InodeChunk[];
}

interface Objects {
  sb: string;
  headers: string;
  freeTrees: string;
  inodeTrees: string;
  rmap: string;
  refcount: string;
  agfl: string;
  free: string;
  inodes: string;
}

function objects(fs: XfsFs): Objects {
  const o = (key: string, label: string, kind: Parameters<typeof fs.ctx.object>[0]['kind']) =>
    fs.ctx.object({ id: `${fs.place.id}.${key}`, kind, label, where: fs.place.where });
  return {
    sb: o('superblocks', 'superblocks', 'superblock'),
    headers: o('agheaders', 'AG headers (AGF, AGI, AGFL)', 'group-descriptors'),
    freeTrees: o('freebt', 'free-space B+trees (bnobt, cntbt)', 'bitmap'),
    inodeTrees: o('inobt', 'inode B+trees (inobt, finobt)', 'bitmap'),
    // Only listed in the panel when the filesystem has them (mkfs.xfs -m rmapbt=1, reflink=1).
    rmap: fs.sb.rmapbt ? o('rmapbt', 'reverse-mapping B+trees (rmapbt)', 'bitmap') : '',
    refcount: fs.sb.reflink ? o('refcountbt', 'reference-count B+trees (refcountbt)', 'bitmap') : '',
    agfl: o('agfl', 'AG free lists (blocks kept for the B+trees)', 'reserved'),
    free: o('free', 'free space', 'free'),
    inodes: o('inodes', 'inodes', 'inode-table'),
  };
}

export async function agContents(fs: XfsFs): Promise<AgContents> {
  const out: AgContents = { meta: [], free: [], inodes: [], chunks: [] };
  const obj = objects(fs);
  for (let ag = 0; ag < fs.sb.agCount; ag++) {
    // A filesystem larger than its container (already warned about) ends where the container does.
    if (fs.byte(ag, 1) > fs.src.size) break;
    headerRegions(fs, ag, obj, out.meta);
    await guarded(fs, ag, 'AGF', () => agfContents(fs, ag, obj, out));
    await guarded(fs, ag, 'AGI', () => agiContents(fs, ag, obj, out));
    await fs.ctx.budget.breathe();
  }
  return out;
}

/** Run one structure's walk; damage to it becomes a warning naming the AG and the structure. */
async function guarded(fs: XfsFs, ag: number, what: string, walk: () => Promise<void>): Promise<void> {
  try {
    await walk();
  } catch (err) {
    // RangeError: a field pointing outside a buffer, i.e. the same kind of damage.
    if (!(err instanceof DecodeError) && !(err instanceof RangeError)) throw err;
    fs.ctx.budget.warn(`${fs.place.where}: AG ${ag}: ${what}: ${err.message}`);
  }
}

/** The AG's first four sectors, and what is left of the block(s) they sit in. */
function headerRegions(fs: XfsFs, ag: number, obj: Objects, out: Region[]): void {
  const base = fs.byte(ag, 0);
  const ss = BigInt(fs.sb.sectSize);
  const sector = (i: number, kind: Region['kind'], label: string, object: string) =>
    out.push({ start: base + BigInt(i) * ss, end: base + BigInt(i + 1) * ss, kind, label, object });
  sector(0, 'superblock', ag === 0 ? 'superblock (AG 0)' : `superblock copy (AG ${ag})`, obj.sb);
  sector(1, 'group-descriptors', `AGF: free space header (AG ${ag})`, obj.headers);
  sector(2, 'group-descriptors', `AGI: inode header (AG ${ag})`, obj.headers);
  sector(3, 'group-descriptors', `AGFL: free list (AG ${ag})`, obj.headers);
  const bs = BigInt(fs.blockSize);
  const headerEnd = ((4n * ss + bs - 1n) / bs) * bs;
  if (headerEnd > 4n * ss)
    out.push({
      start: base + 4n * ss,
      end: base + headerEnd,
      kind: 'reserved',
      label: `rest of the AG header block (AG ${ag})`,
      object: obj.headers,
    });
}

/** Label every block of a per-AG tree: "bnobt root (AG 0)", "inobt leaf (AG 3)". */
function treeBlocks(
  fs: XfsFs,
  shape: BtreeShape,
  object: string,
  out: Region[],
  onLeaf: BtreeVisitor['onLeaf'] = () => {},
): BtreeVisitor {
  return {
    onBlock: ({ ag, agbno }, level, root) =>
      out.push({
        start: fs.byte(ag, agbno),
        end: fs.byte(ag, agbno + 1),
        kind: 'bitmap',
        label: `${shape.name} ${root ? 'root' : level === 0 ? 'leaf' : 'node'} (AG ${ag})`,
        object,
      }),
    onLeaf,
  };
}

async function agfContents(fs: XfsFs, ag: number, obj: Objects, out: AgContents): Promise<void> {
  const agLen = fs.agLength(ag);
  const agf = await fs.src.read(fs.byte(ag, 0) + BigInt(fs.sb.sectSize), fs.sb.sectSize);
  if (agf.readUInt32BE(0) !== AGF_MAGIC) throw new DecodeError('no AGF magic');
  if (agf.readUInt32BE(0x08) !== ag || agf.readUInt32BE(0x0c) !== agLen)
    throw new DecodeError('AGF sequence number or length disagrees with the superblock');
  const root = (off: number) => {
    const r = agf.readUInt32BE(off);
    if (r === 0 || r >= agLen) throw new DecodeError(`B+tree root ${r} is outside the AG`);
    return r;
  };
  // Free space first: its records are what the "free" labels are.
  const tree = (shape: BtreeShape, rootAt: number, levelAt: number, visitor: BtreeVisitor) =>
    guarded(fs, ag, shape.name, () => walkAgBtree(fs, shape, ag, root(rootAt), agf.readUInt32BE(levelAt), visitor));
  await tree(
    BNOBT,
    0x10,
    0x1c,
    treeBlocks(fs, BNOBT, obj.freeTrees, out.meta, (b, first, count) => {
      for (let i = 0; i < count; i++) {
        const start = b.readUInt32BE(first + i * 8);
        const len = b.readUInt32BE(first + i * 8 + 4);
        if (start + len > agLen) throw new DecodeError(`free extent ${start}+${len} is outside the AG`);
        out.free.push({
          start: fs.byte(ag, start),
          end: fs.byte(ag, start + len),
          kind: 'free',
          label: 'free',
          object: obj.free,
        });
      }
    }),
  );
  await tree(CNTBT, 0x14, 0x20, treeBlocks(fs, CNTBT, obj.freeTrees, out.meta));
  if (fs.sb.rmapbt) await tree(RMAPBT, 0x18, 0x24, treeBlocks(fs, RMAPBT, obj.rmap, out.meta));
  if (fs.sb.reflink) await tree(REFCOUNTBT, 0x58, 0x5c, treeBlocks(fs, REFCOUNTBT, obj.refcount, out.meta));
  await guarded(fs, ag, 'AGFL', () => freeListBlocks(fs, ag, agf, obj, out));
}

/** The free list: a ring of flcount entries from flfirst in the AGFL sector (blocks kept for tree growth). */
async function freeListBlocks(fs: XfsFs, ag: number, agf: Buffer, obj: Objects, out: AgContents): Promise<void> {
  const agLen = fs.agLength(ag);
  const header = fs.crc ? AGFL_HEADER : 0;
  const slots = (fs.sb.sectSize - header) / 4;
  const flFirst = agf.readUInt32BE(0x28);
  const flCount = agf.readUInt32BE(0x30);
  if (flCount === 0) return;
  if (flFirst >= slots || flCount > slots) throw new DecodeError('AGFL ring is out of range');
  const agfl = await fs.src.read(fs.byte(ag, 0) + 3n * BigInt(fs.sb.sectSize), fs.sb.sectSize);
  for (let i = 0; i < flCount; i++) {
    const agbno = agfl.readUInt32BE(header + ((flFirst + i) % slots) * 4);
    if (agbno >= agLen) throw new DecodeError(`AGFL entry ${agbno} is outside the AG`);
    out.meta.push({
      start: fs.byte(ag, agbno),
      end: fs.byte(ag, agbno + 1),
      kind: 'reserved',
      label: `on the AG free list (AG ${ag})`,
      object: obj.agfl,
    });
  }
}

async function agiContents(fs: XfsFs, ag: number, obj: Objects, out: AgContents): Promise<void> {
  const agLen = fs.agLength(ag);
  const agi = await fs.src.read(fs.byte(ag, 0) + 2n * BigInt(fs.sb.sectSize), fs.sb.sectSize);
  if (agi.readUInt32BE(0) !== AGI_MAGIC) throw new DecodeError('no AGI magic');
  if (agi.readUInt32BE(0x08) !== ag || agi.readUInt32BE(0x0c) !== agLen)
    throw new DecodeError('AGI sequence number or length disagrees with the superblock');
  const root = agi.readUInt32BE(0x14);
  if (root === 0 || root >= agLen) throw new DecodeError(`inobt root ${root} is outside the AG`);
  const { inodeSize, inodesPerBlockLog, sparseInodes } = fs.sb;
  const agBase = fs.byte(ag, 0);
  const maxAgino = agLen * 2 ** inodesPerBlockLog;
  await walkAgBtree(
    fs,
    INOBT,
    ag,
    root,
    agi.readUInt32BE(0x18),
    treeBlocks(fs, INOBT, obj.inodeTrees, out.meta, (b, first, count) => {
      for (let i = 0; i < count; i++) {
        const r = first + i * 16;
        const startAgino = b.readUInt32BE(r);
        // Chunks start where sb_inoalignmt puts them: not always a multiple of 64 inodes.
        if (startAgino + INODES_PER_CHUNK > maxAgino)
          throw new DecodeError(`inode chunk at ${startAgino} is outside the AG`);
        const chunk: InodeChunk = {
          ag,
          startAgino,
          holemask: sparseInodes ? b.readUInt16BE(r + 4) : 0,
          free: b.readBigUInt64BE(r + 8),
        };
        out.chunks.push(chunk);
        // One region per run of inodes present on disk (a sparse chunk has holes).
        for (let bit = 0; bit < 16;) {
          if ((chunk.holemask >> bit) & 1) {
            bit++;
            continue;
          }
          let end = bit;
          while (end < 16 && !((chunk.holemask >> end) & 1)) end++;
          const a = startAgino + bit * INODES_PER_HOLEMASK_BIT;
          const z = startAgino + end * INODES_PER_HOLEMASK_BIT;
          out.inodes.push({
            start: agBase + BigInt(a) * BigInt(inodeSize),
            end: agBase + BigInt(z) * BigInt(inodeSize),
            kind: 'inode-table',
            label: `inodes ${fs.ino(ag, a)}–${fs.ino(ag, z - 1)} (AG ${ag})`,
            object: obj.inodes,
          });
          bit = end;
        }
      }
    }),
  );
  if (fs.sb.finobt)
    await guarded(fs, ag, 'finobt', async () => {
      const froot = agi.readUInt32BE(0x148);
      if (froot === 0 || froot >= agLen) throw new DecodeError(`root ${froot} is outside the AG`);
      const visitor = treeBlocks(fs, FINOBT, obj.inodeTrees, out.meta);
      await walkAgBtree(fs, FINOBT, ag, froot, agi.readUInt32BE(0x14c), visitor);
    });
}

/** The internal log: sb_logblocks blocks from sb_logstart, inside one AG (null: external or out of range). */
export function logRegion(fs: XfsFs): Region | null {
  if (fs.sb.logStart === 0n) return null;
  const { ag, agbno } = fs.split(fs.sb.logStart);
  if (!fs.valid(ag, agbno, fs.sb.logBlocks)) {
    fs.ctx.budget.warn(`${fs.place.where}: the internal log is outside the filesystem or its container`);
    return null;
  }
  return {
    start: fs.byte(ag, agbno),
    end: fs.byte(ag, agbno + fs.sb.logBlocks),
    kind: 'journal',
    label: `internal log (AG ${ag})`,
    object: fs.ctx.object({ id: `${fs.place.id}.log`, kind: 'journal', label: 'log', where: fs.place.where }),
  };
}
