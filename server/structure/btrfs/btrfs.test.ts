// The btrfs decoder against btrfs-progs' own view. mkfs.btrfs --rootdir makes and fills the
// filesystem (no mount needed): a small inline file, files of one and several extents, a sparse
// file, hundreds of files so that the fs tree has more than one level. Then it is compared with
// what did not come from the decoder:
//   - `btrfs inspect-internal dump-super -a`: where the superblock and its copy are;
//   - `dump-tree -t chunk`: every chunk, its type, profile and stripes (each block group's bytes);
//   - `dump-tree` (every tree): each tree block's bytenr, level and owner, at each copy;
//   - `dump-tree -t extent`: what is allocated (everything else in a block group is free);
//   - `dump-tree -t fs`: each file's EXTENT_DATA items, at the file offsets they give,
//     and `btrfs-map-logical` for the physical byte of a logical one;
//   - the files themselves: their labelled bytes, put together by their offsets, are the files.
// A second filesystem is filled by the kernel's own driver (one guestfish run, mounted with
// compress=zstd): a subvolume, a snapshot of it and a reflinked copy (one extent, three files),
// a compressed file and a preallocated one, checked against dump-tree's items for each tree.
// Then damaged copies: a superblock whose checksum fails (its copy is used), every copy failing
// (named "btrfs (not decoded)"), a tree block whose first DUP copy fails (the second is used),
// a pointer outside every chunk, a pointer back up the tree and one reached twice, budgets, and
// rounds of seeded random damage with the checksums made right again (so the parsers see it).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeDisks, leavesOf, type DecodeOptions, type DecodeResult } from '../decode.ts';
import { FileSource } from '../file-source.ts';
import type { Leaf } from '../flatten.ts';
import { firstRegionEndingAfter } from '../model.ts';
import {
  bytesByLabels,
  damagedSource,
  decodeImages,
  fillWithGuestfish,
  hasObject,
  lastLabel,
  objectId,
  readAt,
  run,
  seededRandom,
} from '../test-support.ts';
import { crc32c } from './checksum.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-btrfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const img = join(dir, 'btrfs.img');
const rootdir = join(dir, 'root');
const SIZE = 256 * 1024 * 1024;
const MANY = 400;

/** The files mkfs copies in, by path in the filesystem. */
const FILES = new Map<string, Buffer>([
  // Smaller than a sector: mkfs.btrfs puts it inline, inside its leaf (no blocks of its own).
  ['/one.txt', Buffer.from('x')],
  ['/four.bin', randomBytes(4096)],
  ['/big.bin', randomBytes(1_300_000)],
  ['/docs/deep/A rather long file name.bin', randomBytes(30_000)],
]);
const SPARSE = '/sparse.bin';
const btrfs = (...args: string[]) => run('btrfs', ['inspect-internal', ...args]);

interface OracleChunk {
  logical: number;
  length: number;
  type: string[];
  stripes: number[];
}
interface OracleBlock {
  logical: number;
  level: number;
  owner: string;
}
interface OracleExtent {
  inode: number;
  fileOffset: number;
  type: string;
  diskByte: number;
  diskBytes: number;
  offset: number;
  bytes: number;
  compression: string;
}

let result: DecodeResult;
let leaves: Leaf[];
let nodeSize: number;
let chunks: OracleChunk[];
let blocks: OracleBlock[];

/** Every chunk `dump-tree -t chunk` lists: "length L owner 2 stripe_len S type METADATA|DUP", its stripes. */
function parseChunks(out: string): OracleChunk[] {
  const found: OracleChunk[] = [];
  for (const m of out.matchAll(
    /key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)[^\n]*\n\s+length (\d+) [^\n]*type (\S+)([\s\S]*?)(?=\n\s+item |\n\S|$)/g,
  ))
    found.push({
      logical: Number(m[1]),
      length: Number(m[2]),
      type: m[3].split('|'),
      stripes: [...m[4].matchAll(/stripe \d+ devid \d+ offset (\d+)/g)].map((s) => Number(s[1])),
    });
  return found;
}

/** Every tree block `dump-tree` prints: "leaf 30457856 items 12 … owner FS_TREE", "node … level 1 …". */
function parseBlocks(out: string): OracleBlock[] {
  const seen = new Map<number, OracleBlock>();
  for (const m of out.matchAll(/^(leaf|node) (\d+) (?:level (\d+) )?items \d+ .*owner (\S+)$/gm))
    seen.set(Number(m[2]), { logical: Number(m[2]), level: m[1] === 'leaf' ? 0 : Number(m[3]), owner: m[4] });
  return [...seen.values()];
}

/** EXTENT_DATA items of one tree's dump (prealloc ones print no compression), and each inode's name (INODE_REF) and parent. */
function parseFsTree(out: string) {
  const extents: OracleExtent[] = [];
  const names = new Map<number, { parent: number; name: string }>();
  for (const m of out.matchAll(
    /key \((\d+) EXTENT_DATA (\d+)\)[^\n]*\n\s+generation \d+ type \d+ \((\w+)\)\n\s+(?:extent|prealloc) data disk byte (\d+) nr (\d+)\n\s+(?:extent|prealloc) data offset (\d+) nr (\d+)(?: ram \d+\n\s+extent compression \d+ \((\w+)\))?/g,
  ))
    extents.push({
      inode: Number(m[1]),
      fileOffset: Number(m[2]),
      type: m[3],
      diskByte: Number(m[4]),
      diskBytes: Number(m[5]),
      offset: Number(m[6]),
      bytes: Number(m[7]),
      compression: m[8] ?? 'none',
    });
  for (const m of out.matchAll(/key \((\d+) INODE_REF (\d+)\)[^\n]*\n\s+index \d+ namelen \d+ name: ([^\n]*)/g))
    if (!names.has(Number(m[1]))) names.set(Number(m[1]), { parent: Number(m[2]), name: m[3] });
  const pathOf = (inode: number): string => {
    const n = names.get(inode);
    return inode === 256 || !n ? '' : `${pathOf(n.parent)}/${n.name}`;
  };
  return { extents, pathOf };
}

/** The physical bytes (one per copy) of logical byte `l`, by dump-tree's chunks. */
let fsTreeDump: ReturnType<typeof parseFsTree> | undefined;
/** The fs tree's extents and names, as `dump-tree -t fs` prints them. */
const fsTree = () => (fsTreeDump ??= parseFsTree(btrfs('dump-tree', '-t', 'fs', img)));

function physical(l: number, of: OracleChunk[] = chunks): number[] {
  const c = of.find((c) => c.logical <= l && l < c.logical + c.length);
  assert.ok(c, `logical ${l} is in no chunk dump-tree lists`);
  return c.stripes.map((s) => s + (l - c.logical));
}

/** The leaf holding `byte` (leaves are in disk order: a binary search, since the checks below ask for every block). */
function at(ls: Leaf[], byte: number): Leaf | undefined {
  const i = firstRegionEndingAfter(ls, BigInt(byte));
  return ls[i] && ls[i].start <= BigInt(byte) ? ls[i] : undefined;
}
const labelAt = (ls: Leaf[], byte: number) => lastLabel(at(ls, byte)!);
const chainAt = (ls: Leaf[], byte: number) =>
  at(ls, byte)
    ?.chain.map((c) => c.label)
    .join(' › ') ?? '(nothing)';

/** dump-tree's owner names → the decoder's tree names. */
const TREE_NAMES: Record<string, string> = {
  ROOT_TREE: 'root tree',
  EXTENT_TREE: 'extent tree',
  CHUNK_TREE: 'chunk tree',
  DEV_TREE: 'device tree',
  FS_TREE: 'fs tree',
  CSUM_TREE: 'csum tree',
  UUID_TREE: 'uuid tree',
  FREE_SPACE_TREE: 'free space tree',
  DATA_RELOC_TREE: 'data reloc tree',
  BLOCK_GROUP_TREE: 'block group tree',
  QUOTA_TREE: 'quota tree',
};
const treeLabel = (b: OracleBlock) =>
  `${TREE_NAMES[b.owner] ?? `subvolume ${b.owner} tree`} ${b.level === 0 ? 'leaf' : `node (level ${b.level})`}`;

function makeRoot(): void {
  for (const [path, bytes] of FILES) {
    mkdirSync(dirname(join(rootdir, path)), { recursive: true });
    writeFileSync(join(rootdir, path), bytes);
  }
  // 10 MiB with "hello" at 5,000,000 and nothing else written.
  writeFileSync(join(rootdir, SPARSE), '');
  run('truncate', ['-s', '10M', join(rootdir, SPARSE)]);
  run('dd', [`of=${join(rootdir, SPARSE)}`, 'bs=1', 'seek=5000000', 'conv=notrunc', 'status=none'], {
    input: 'hello',
  });
  mkdirSync(join(rootdir, 'many'));
  for (let i = 0; i < MANY; i++) writeFileSync(join(rootdir, 'many', `file-${i}.bin`), randomBytes(5000 + i));
}

before(async () => {
  makeRoot();
  run('truncate', ['-s', String(SIZE), img]);
  run('mkfs.btrfs', ['-q', '-f', '-L', 'TEACHVOL', '--rootdir', rootdir, img]);
  nodeSize = Number(/nodesize\s+(\d+)/.exec(btrfs('dump-super', img))![1]);
  chunks = parseChunks(btrfs('dump-tree', '-t', 'chunk', img));
  blocks = parseBlocks(btrfs('dump-tree', img));
  const decoded = await decodeImages([img]);
  result = decoded.result;
  leaves = decoded.leaves[0];
});

describe('btrfs made by mkfs.btrfs --rootdir', () => {
  it('crc32c is the Castagnoli CRC (the check value of "123456789")', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it('is named by its label, with no warnings; the superblock and its copy are where dump-super says', () => {
    assert.deepEqual(result.warnings, []);
    assert.equal(leaves[0].chain[0].label, 'btrfs "TEACHVOL"');
    const supers = [...btrfs('dump-super', '-a', img).matchAll(/^bytenr\s+(\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(supers, [65536, 64 * 1024 * 1024]);
    assert.equal(chainAt(leaves, 65536), 'btrfs "TEACHVOL" › superblock');
    assert.equal(chainAt(leaves, 64 * 1024 * 1024 + 4095), 'btrfs "TEACHVOL" › superblock copy 1');
    assert.equal(at(leaves, 65536)!.kind, 'superblock');
    assert.match(btrfs('dump-super', img), /csum_type\s+0 \(crc32c\)/);
  });

  it("every chunk's stripes are its block group, by type and profile as dump-tree -t chunk says; the rest unallocated", () => {
    assert.ok(chunks.length >= 3, 'data, metadata and system chunks');
    const inStripe = (byte: number) => chunks.some((c) => c.stripes.some((s) => s <= byte && byte < s + c.length));
    for (const c of chunks) {
      const usage = c.type
        .filter((t) => t !== 'DUP' && t !== 'single' && !t.startsWith('RAID'))
        .map((t) => t.toLowerCase());
      const profile = c.type.find((t) => t === 'DUP' || t.startsWith('RAID')) ?? 'single';
      c.stripes.forEach((s, i) => {
        const copy = c.stripes.length > 1 ? `, copy ${i + 1}` : '';
        for (let byte = s; byte < s + c.length; byte += 4096) {
          const chain = at(leaves, byte)!.chain.map((l) => l.label);
          if (chain[1].startsWith('superblock')) continue;
          assert.equal(chain[1], `${usage.join('+')} block group (${profile}${copy})`, `byte ${byte}`);
        }
      });
    }
    assert.ok(
      chunks.some((c) => c.type.includes('METADATA') && c.type.includes('DUP')),
      'mkfs.btrfs makes metadata DUP on one device',
    );
    for (const l of leaves)
      if (l.start >= 1n << 20n && l.chain[1].label === 'unallocated') {
        assert.equal(l.kind, 'free');
        assert.ok(!inStripe(Number(l.start)) && !inStripe(Number(l.end) - 1), `${l.start}–${l.end} is in a chunk`);
      }
    for (let byte = 1 << 20; byte < SIZE; byte += 65536)
      if (!inStripe(byte) && !chainAt(leaves, byte).includes('superblock'))
        assert.equal(chainAt(leaves, byte), 'btrfs "TEACHVOL" › unallocated', `byte ${byte}`);
  });

  it('every tree block dump-tree prints is labelled by its tree and level, at each of its copies, and no other', () => {
    assert.ok(
      blocks.some((b) => b.owner === 'FS_TREE' && b.level > 0),
      'the fs tree should have more than one level',
    );
    let copies = 0;
    for (const b of blocks)
      for (const p of physical(b.logical)) {
        copies++;
        const leaf = at(leaves, p)!;
        assert.equal(lastLabel(leaf), treeLabel(b), `block at logical ${b.logical}, byte ${p}`);
        assert.ok(leaf.start <= BigInt(p) && leaf.end >= BigInt(p + nodeSize), `${treeLabel(b)}: the whole block`);
      }
    const labelled = leaves
      .filter((l) => / (leaf|node \(level \d+\))$/.test(lastLabel(l)))
      .reduce((n, l) => n + Number(l.end - l.start) / nodeSize, 0);
    assert.equal(labelled, copies);
  });

  it("every file's labelled bytes, in file-offset order, are the file; small ones are inline (no blocks)", () => {
    for (const [path, want] of FILES) {
      if (want.length < 4096) {
        // Inline: its bytes are inside an fs tree leaf, nothing is labelled as the file.
        assert.ok(!leaves.some((l) => lastLabel(l).startsWith(`${path},`)), `${path} is inline`);
        continue;
      }
      const { bytes, placed } = bytesByLabels(img, leaves, result, path, want.length);
      assert.equal(placed, want.length, `${path}: every byte labelled once`);
      assert.ok(bytes.equals(want), `${path}: labelled bytes differ`);
    }
    for (let i = 0; i < MANY; i += 37) {
      const path = `/many/file-${i}.bin`;
      const want = readFileSync(join(rootdir, path));
      const { bytes, placed } = bytesByLabels(img, leaves, result, path, want.length);
      assert.equal(placed, want.length, path);
      assert.ok(bytes.equals(want), path);
    }
    // The sparse file: what its EXTENT_DATA items put on disk (holes have no blocks).
    const { extents, pathOf } = fsTree();
    const onDisk = extents
      .filter((e) => pathOf(e.inode) === SPARSE && e.diskByte !== 0)
      .reduce((n, e) => n + e.bytes, 0);
    const sparse = bytesByLabels(img, leaves, result, SPARSE, 10 << 20);
    assert.equal(sparse.placed, onDisk);
    assert.equal(sparse.bytes.toString('latin1', 5_000_000, 5_000_005), 'hello');
    assert.ok(sparse.bytes.equals(readFileSync(join(rootdir, SPARSE))));
  });

  it("each file extent is where dump-tree's EXTENT_DATA puts it, at its file offset; btrfs-map-logical agrees", () => {
    let checked = 0;
    const { extents, pathOf } = fsTree();
    for (const e of extents) {
      if (e.type !== 'regular' || e.diskByte === 0) continue;
      const path = pathOf(e.inode);
      const [p] = physical(e.diskByte + e.offset);
      const want = `${path}, bytes ${e.fileOffset}–${e.fileOffset + e.bytes - 1}`;
      assert.equal(labelAt(leaves, p), want);
      if (checked++ % 50 === 0) {
        const mapped = run('btrfs-map-logical', ['-l', String(e.diskByte + e.offset), img]);
        assert.match(mapped, new RegExp(`physical ${p}\\b`), mapped);
      }
    }
    assert.ok(checked > MANY, `${checked} extents checked`);
  });

  it('free space inside block groups is what the extent tree leaves unallocated', () => {
    const out = btrfs('dump-tree', '-t', 'extent', img);
    const used: Array<[number, number]> = [];
    for (const m of out.matchAll(/key \((\d+) (EXTENT_ITEM|METADATA_ITEM) (\d+)\)/g))
      used.push([Number(m[1]), Number(m[1]) + (m[2] === 'EXTENT_ITEM' ? Number(m[3]) : nodeSize)]);
    let free = 0;
    for (const c of chunks)
      for (let l = c.logical; l < c.logical + c.length; l += 4096) {
        const isUsed = used.some(([a, b]) => a <= l && l < b);
        for (const p of physical(l)) {
          const leaf = at(leaves, p)!;
          if (lastLabel(leaf).startsWith('superblock')) continue;
          if (isUsed) assert.notEqual(leaf.kind, 'free', `logical ${l} is allocated`);
          else {
            assert.equal(lastLabel(leaf), 'free', `logical ${l} (byte ${p}) is free`);
            free++;
          }
        }
      }
    assert.ok(free > 0);
  });

  it('inside a GPT partition', async () => {
    const disk = join(dir, 'gpt.img');
    run('truncate', ['-s', String(SIZE + (2 << 20)), disk]);
    run('sgdisk', ['-n', '1:2048:0', disk]);
    run('dd', [`if=${img}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    const d = await decodeImages([disk]);
    assert.equal(chainAt(d.leaves[0], (1 << 20) + 0x10000), 'GPT partition 1 › btrfs "TEACHVOL" › superblock');
    assert.deepEqual(d.result.warnings, []);
  });

  it('sha256 checksums are checked too; xxhash64 is refused with a warning, the disk named "btrfs (not decoded)"', async () => {
    for (const csum of ['sha256', 'xxhash']) {
      const other = join(dir, `${csum}.img`);
      run('truncate', ['-s', String(SIZE), other]);
      run('mkfs.btrfs', ['-q', '-f', '--csum', csum, '--rootdir', join(rootdir, 'docs'), other]);
      const d = await decodeImages([other]);
      if (csum === 'sha256') {
        assert.deepEqual(d.result.warnings, []);
        assert.ok(objectId(d.result, '/deep/A rather long file name.bin'));
      } else {
        assert.deepEqual(d.result.warnings, [
          'disk 1: btrfs: superblock: at byte 65536: csum_type 1 (xxhash64) is not one this decoder checks (crc32c, sha256); ' +
            'at byte 67108864: csum_type 1 (xxhash64) is not one this decoder checks (crc32c, sha256)',
        ]);
        assert.equal(d.leaves[0][0].chain[0].label, 'btrfs (not decoded)');
      }
    }
  });
});

/** Damage to the image as it is read: bytes set, and checksums made right again over the damaged bytes. */
class Damage {
  readonly bytes = new Map<bigint, number>();
  set(at: number, value: number): this {
    this.bytes.set(BigInt(at), value);
    return this;
  }
  u64(at: number, value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    b.forEach((v, i) => this.set(at + i, v));
    return this;
  }
  /** Recompute the crc32c of the block of `length` bytes at `start` (superblock or tree block). */
  resum(start: number, length: number): this {
    const b = readAt(img, start, length);
    for (const [k, v] of this.bytes) if (k >= BigInt(start) && k < BigInt(start + length)) b[Number(k) - start] = v;
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(crc32c(b.subarray(32)));
    sum.forEach((v, i) => this.set(start + i, v));
    return this;
  }
}

async function decodeDamaged(d: Damage, options: DecodeOptions = {}) {
  const base = await FileSource.open(img);
  try {
    const t0 = performance.now();
    const r = await decodeDisks([{ disk: 1, source: damagedSource(base, d.bytes) }], options);
    assert.ok(performance.now() - t0 < 20_000, 'decode took too long');
    return { result: r, leaves: leavesOf(r, 1, 0n, base.size) };
  } finally {
    await base.close();
  }
}

/** The fs tree's root node (level ≥ 1: checked above) and its child pointers' places in the image (copy 1). */
function fsRoot() {
  const root = blocks.filter((b) => b.owner === 'FS_TREE').sort((a, b) => b.level - a.level)[0];
  assert.ok(root.level > 0);
  const p = physical(root.logical)[0];
  const n = readAt(img, p, nodeSize).readUInt32LE(0x60);
  const pointer = (i: number) => p + 0x65 + i * 33 + 17;
  return { root, p, n, pointer };
}

/** Where, in copy 1 of its leaf, the EXTENT_DATA item of `inode` at file offset 0 is. */
function extentItem(inode: number): { leaf: number; data: number } {
  for (const b of blocks.filter((b) => b.owner === 'FS_TREE' && b.level === 0)) {
    const p = physical(b.logical)[0];
    const leaf = readAt(img, p, nodeSize);
    for (let i = 0; i < leaf.readUInt32LE(0x60); i++) {
      const k = 0x65 + i * 25;
      if (leaf.readBigUInt64LE(k) === BigInt(inode) && leaf[k + 8] === 108 && leaf.readBigUInt64LE(k + 9) === 0n)
        return { leaf: p, data: p + 0x65 + leaf.readUInt32LE(k + 17) };
    }
  }
  throw new Error(`no EXTENT_DATA item of inode ${inode}`);
}

const hasFile = (d: { result: DecodeResult }, path: string) =>
  [...d.result.objects.values()].some((o) => o.label === path);
const files = (d: { result: DecodeResult }) => [...d.result.objects.values()].filter((o) => o.kind === 'file').length;

describe('btrfs damaged', () => {
  it('a primary superblock whose checksum fails: its copy at 64 MiB is used, with a warning', async () => {
    const d = await decodeDamaged(new Damage().set(0x10000 + 0x12b, 0x41));
    assert.deepEqual(d.result.warnings, [
      'btrfs on disk 1: superblock at byte 65536: checksum does not match; the copy at byte 67108864 is used',
    ]);
    assert.equal(labelAt(d.leaves, 65536), 'superblock (checksum does not match)');
    assert.ok(hasFile(d, '/big.bin'));
  });

  it('every superblock copy failing: refused with a warning, the disk still named "btrfs (not decoded)"', async () => {
    const d = await decodeDamaged(new Damage().set(0x10000 + 0x12b, 0x41).set(0x4000000 + 0x12b, 0x41));
    assert.ok(
      d.result.warnings.some((w) => w.startsWith('disk 1: btrfs: superblock: at byte 65536: checksum does not match')),
      d.result.warnings.join('\n'),
    );
    assert.equal(d.leaves[0].chain[0].label, 'btrfs (not decoded)');
  });

  it('a tree block whose first DUP copy fails its checksum is read from the second, with a warning', async () => {
    const { root, p } = fsRoot();
    const d = await decodeDamaged(new Damage().set(p + 200, readAt(img, p + 200, 1)[0] ^ 0xff));
    assert.deepEqual(d.result.warnings, [
      `btrfs on disk 1: tree block at logical ${root.logical}: copy 1 has a checksum that does not match; copy 2 used`,
    ]);
    assert.ok(hasFile(d, '/big.bin'));
    assert.equal(files(d), files({ result }));
  });

  it('a pointer outside every chunk, one back to the node itself, one reached twice: warnings, the rest decoded', async () => {
    const { root, p, n, pointer } = fsRoot();
    assert.ok(n >= 5, 'the fs root node should have five children');
    const fourth = readAt(img, pointer(3), 8).readBigUInt64LE();
    const d = await decodeDamaged(
      new Damage()
        .u64(pointer(0), 1n << 50n)
        .u64(pointer(1), BigInt(root.logical))
        .u64(pointer(2), fourth)
        .resum(p, nodeSize),
    );
    const w = d.result.warnings;
    assert.deepEqual(w, [
      `btrfs on disk 1: fs tree: block at logical ${1n << 50n} is in no chunk; not followed`,
      `btrfs on disk 1: fs tree: block at logical ${root.logical} is reached twice; followed once`,
      `btrfs on disk 1: fs tree: block at logical ${fourth} is reached twice; followed once`,
    ]);
    assert.ok(files(d) > MANY / 4, `${files(d)} files found`);
  });

  it('a block at another level than its parent says is not followed', async () => {
    const { root, pointer } = fsRoot();
    const child = Number(readAt(img, pointer(4), 8).readBigUInt64LE());
    // Both DUP copies: with one, the other would be read instead.
    const damage = new Damage();
    for (const p of physical(child)) damage.set(p + 0x64, 3).resum(p, nodeSize);
    const d = await decodeDamaged(damage);
    const why = `is at level 3, its parent says ${root.level - 1}`;
    assert.deepEqual(d.result.warnings, [
      `btrfs on disk 1: fs tree: block at logical ${child} has no good copy (copy 1 ${why}; copy 2 ${why}); not followed`,
    ]);
  });

  it('a chunk whose stripe lies past the device: a warning, its block group not shown', async () => {
    const leaf = blocks.find((b) => b.owner === 'CHUNK_TREE')!;
    const p = physical(leaf.logical)[0];
    const b = readAt(img, p, nodeSize);
    // The data chunk's item: find its key (FIRST_CHUNK_TREE=256, CHUNK_ITEM=228, logical).
    const data = chunks.find((c) => c.type.includes('DATA'))!;
    let item = -1;
    for (let i = 0; i < b.readUInt32LE(0x60); i++) {
      const k = 0x65 + i * 25;
      if (b[k + 8] === 228 && b.readBigUInt64LE(k + 9) === BigInt(data.logical)) item = i;
    }
    assert.ok(item >= 0);
    const itemAt = p + 0x65 + b.readUInt32LE(0x65 + item * 25 + 17);
    const d = await decodeDamaged(new Damage().u64(itemAt + 48 + 8, 1n << 40n).resum(p, nodeSize));
    assert.ok(
      d.result.warnings.includes(
        `btrfs on disk 1: data block group at logical ${data.logical}: its stripe at byte ${1n << 40n} lies past the device's end`,
      ),
      d.result.warnings.join('\n'),
    );
    assert.equal(chainAt(d.leaves, data.stripes[0] + 4096), 'btrfs "TEACHVOL" › unallocated');
  });

  it('more inodes than the budget, or more tree blocks: warnings, the decode marked truncated', async () => {
    const few = await decodeImages([img], { maxFiles: 10 });
    assert.equal(few.result.truncated, true);
    assert.ok(few.result.warnings.includes('btrfs on disk 1: more than 10 inodes; the rest are not read'));
    // Half the byte budget goes to tree blocks: 16 of them here, fewer than the filesystem has.
    assert.ok(blocks.length > 16);
    const small = await decodeImages([img], { maxBytes: 32 * nodeSize });
    assert.equal(small.result.truncated, true);
    assert.ok(
      small.result.warnings.includes('btrfs on disk 1: more than 16 tree blocks; the rest are not read'),
      small.result.warnings.join('\n'),
    );
  });

  it('an extent item marked preallocated, or compressed, says so in its label', async () => {
    const { extents, pathOf } = fsTree();
    const e = extents.find((e) => pathOf(e.inode) === '/four.bin')!;
    const item = extentItem(e.inode);
    const [p] = physical(e.diskByte + e.offset);
    assert.equal(labelAt(leaves, p), '/four.bin, bytes 0–4095');
    // struct btrfs_file_extent_item: compression at 16, type at 20 (2: prealloc).
    const pre = await decodeDamaged(new Damage().set(item.data + 20, 2).resum(item.leaf, nodeSize));
    assert.equal(labelAt(pre.leaves, p), '/four.bin, bytes 0–4095 (preallocated, reads as zeros)');
    const packed = await decodeDamaged(new Damage().set(item.data + 16, 3).resum(item.leaf, nodeSize));
    assert.equal(labelAt(packed.leaves, p), '/four.bin, zstd-compressed extent of file bytes 0–4095');
    assert.deepEqual([pre.result.warnings, packed.result.warnings], [[], []]);
  });

  it('random damage to tree blocks and the superblock, checksums made right: never a throw, a hang or an unguarded path', async () => {
    const random = seededRandom(0xb7f5);
    const targets = blocks.map((b) => physical(b.logical)[0]);
    let damaged = 0;
    for (let round = 0; round < 40; round++) {
      const d = new Damage();
      for (let k = 0; k < 3; k++) {
        const p = targets[random(targets.length)];
        for (let i = 0; i < 8; i++) d.set(p + 32 + random(nodeSize - 32), random(256));
        d.resum(p, nodeSize);
      }
      if (round % 4 === 0) {
        // The superblock's fields and its sys_chunk_array.
        for (let i = 0; i < 4; i++) d.set(0x10000 + 0x30 + random(0x32b + 0x200 - 0x30), random(256));
        d.resum(0x10000, 4096);
      }
      const r = await decodeDamaged(d);
      const whole = r.result.warnings.filter(
        (w) => w.startsWith('disk 1: btrfs: ') && !/^disk 1: btrfs: superblock: /.test(w),
      );
      assert.deepEqual(whole, [], `round ${round}`);
      // Decoded (the copy at 64 MiB is never damaged), though the label may be.
      assert.match(r.leaves[0].chain[0].label, /^btrfs(?! \(not decoded\))/, `round ${round}`);
      damaged += r.result.warnings.length > 0 ? 1 : 0;
    }
    assert.ok(damaged >= 20, `only ${damaged} rounds of 40 gave warnings: the damage should reach the parsers`);
  });
});

const driverImg = join(dir, 'driver.img');
const driverBack = (name: string) => join(dir, `driver-${name.replace(/\//g, '_')}`);

describe('btrfs filled by the kernel driver: subvolume, snapshot, reflink, compression, fallocate', () => {
  let d: { result: DecodeResult; leaves: Leaf[] };
  let driverChunks: OracleChunk[];
  /** Each tree's EXTENT_DATA items, by the subvolume path their files are under. */
  const trees: Array<[string, string]> = [
    ['fs', ''],
    ['256', '/sub'],
    ['257', '/snap'],
  ];
  const dumps = new Map<string, ReturnType<typeof parseFsTree>>();

  before(async () => {
    run('truncate', ['-s', String(SIZE), driverImg]);
    run('mkfs.btrfs', ['-q', '-f', driverImg]);
    fillWithGuestfish({
      dir,
      img: driverImg,
      mount: 'mount-options compress=zstd',
      dirs: [],
      uploads: [],
      shell: [
        'cd /sysroot',
        'btrfs subvolume create sub >/dev/null',
        'head -c 300000 /dev/urandom > sub/a.bin; sync',
        'btrfs subvolume snapshot sub snap >/dev/null',
        'cp --reflink=always sub/a.bin reflinked.bin',
        'yes compressible | head -c 300000 > packed.txt',
        'fallocate -l 1M pre.bin',
        'mkdir -p d/e; head -c 20000 /dev/urandom > d/e/f.bin; sync',
      ].join('; '),
      downloads: ['/sub/a.bin', '/d/e/f.bin', '/packed.txt'].map((p) => [p, driverBack(p)]),
    });
    driverChunks = parseChunks(btrfs('dump-tree', '-t', 'chunk', driverImg));
    for (const [tree] of trees) dumps.set(tree, parseFsTree(btrfs('dump-tree', '-t', tree, driverImg)));
    const decoded = await decodeImages([driverImg]);
    d = { result: decoded.result, leaves: decoded.leaves[0] };
  });

  /** Every EXTENT_DATA item with blocks, with the path of its file. */
  const extents = () =>
    trees.flatMap(([tree, prefix]) => {
      const { extents, pathOf } = dumps.get(tree)!;
      return extents.filter((e) => e.diskByte !== 0).map((e) => ({ ...e, path: `${prefix}${pathOf(e.inode)}` }));
    });

  it('no warnings; the subvolume and snapshot trees are labelled by their ids (as dump-tree names their owners) and paths', () => {
    assert.deepEqual(d.result.warnings, []);
    const owners = parseBlocks(btrfs('dump-tree', driverImg));
    for (const owner of ['256', '257']) {
      const mine = owners.filter((b) => b.owner === owner);
      assert.ok(mine.length > 0, `dump-tree lists blocks of tree ${owner}`);
      const path = owner === '256' ? '/sub' : '/snap';
      for (const b of mine)
        for (const p of physical(b.logical, driverChunks))
          assert.equal(labelAt(d.leaves, p), treeLabel(b).replace(/^subvolume \d+/, `$& (${path})`));
    }
  });

  it("files in subvolumes have their subvolume's path; their labelled bytes are the files the driver reads back", () => {
    for (const [path, back] of [
      ['/sub/a.bin', '/sub/a.bin'],
      ['/snap/a.bin', '/sub/a.bin'],
      ['/reflinked.bin', '/sub/a.bin'],
      ['/d/e/f.bin', '/d/e/f.bin'],
    ]) {
      const want = readFileSync(driverBack(back));
      const { bytes, placed } = bytesByLabels(driverImg, d.leaves, d.result, path, want.length);
      assert.equal(placed, want.length, path);
      assert.ok(bytes.equals(want), path);
    }
  });

  it('an extent a snapshot and a reflinked copy share names all three files, and picking any of them finds it', () => {
    const shared = extents().filter((e) => e.path.endsWith('a.bin') || e.path === '/reflinked.bin');
    assert.deepEqual(shared.map((e) => e.path).sort(), ['/reflinked.bin', '/snap/a.bin', '/sub/a.bin']);
    assert.equal(new Set(shared.map((e) => e.diskByte)).size, 1, 'dump-tree: one extent on disk for the three');
    const [p] = physical(shared[0].diskByte + shared[0].offset, driverChunks);
    const leaf = at(d.leaves, p)!;
    for (const e of shared) {
      assert.ok(hasObject(objectId(d.result, e.path))(leaf), e.path);
      assert.ok(lastLabel(leaf).includes(`${e.path}, bytes 0–${e.bytes - 1}`), lastLabel(leaf));
    }
  });

  it('compressed extents and a preallocated one are where dump-tree puts them, labelled so', () => {
    const items = extents();
    const packed = items.filter((e) => e.path === '/packed.txt');
    assert.ok(packed.length > 0 && packed.every((e) => e.compression === 'zstd'), 'the driver compressed it');
    for (const e of packed)
      assert.equal(
        labelAt(d.leaves, physical(e.diskByte, driverChunks)[0]),
        `/packed.txt, zstd-compressed extent of file bytes ${e.fileOffset}–${e.fileOffset + e.bytes - 1}`,
      );
    const pre = items.filter((e) => e.path === '/pre.bin');
    assert.deepEqual(
      pre.map((e) => e.type),
      ['prealloc'],
    );
    assert.equal(
      labelAt(d.leaves, physical(pre[0].diskByte, driverChunks)[0]),
      '/pre.bin, bytes 0–1048575 (preallocated, reads as zeros)',
    );
  });
});
