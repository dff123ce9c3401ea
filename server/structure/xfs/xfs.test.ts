// The XFS decoder against xfsprogs' own view. Filesystems are made by the installed mkfs.xfs
// (v5, CRCs; finobt and reflink as it defaults to, rmapbt in one of them), filled through a
// loop mount, then compared block by block:
//   - xfs_db `blockget` + `blockuse` names the type (and owning inode) of every block of every
//     AG: superblock, AGF/AGI/AGFL, each B+tree, free list, free space, inode chunks, log,
//     file data, directory blocks, block-map B+tree blocks, attribute blocks, symlink blocks;
//   - xfs_db `sb N`/`agf N`/`agi N`/`agfl N` + `daddr` place each AG header sector;
//   - xfs_db `ncheck` gives every path, `xfs_io -c fiemap` (on the mounted filesystem) each
//     file's byte offsets on the disk.
// Images: a whole disk with 4 AGs; one AG in a GPT partition starting at sector 35 (not 4 KiB
// aligned); 1 KiB blocks (AG headers share blocks, 4 KiB directory blocks span four) with rmapbt.
// Then hostile input: random bytes behind a valid superblock, a broken AGF, a B+tree that
// points at itself, a superblock that contradicts itself.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { decodeDisks, type DecodeResult } from '../decode.ts';
import { FileSource } from '../file-source.ts';
import type { Leaf } from '../flatten.ts';
import { StructureSnapshot } from '../snapshot.ts';
import { damagedSource, decodeImages, lastLabel, objectId, run, seededRandom } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-xfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Geometry {
  blockSize: number;
  agBlocks: number;
  agCount: number;
  agBlockLog: number;
  dblocks: number;
  sectSize: number;
}

interface Image {
  /** The disk image that is decoded. */
  path: string;
  /** The filesystem alone, for xfsprogs. */
  fsImage: string;
  /** Filesystem start on the disk, bytes. */
  fsStart: bigint;
  geo: Geometry;
  /** Per file: xfs_io fiemap extents in bytes. */
  fiemap: Map<string, ReturnType<typeof fiemapOf>>;
  /** What the chain starts with above the filesystem's own links. */
  container: string;
  /** Paths (as ncheck writes them) whose block map is a B+tree. */
  btreeFiles: string[];
}

const images: Record<string, Image> = {};
const decoded: Record<string, { result: DecodeResult; leaves: Leaf[] }> = {};

const FIEMAP_EXTENT_UNWRITTEN = 0x800;
const FIEMAP_EXTENT_SHARED = 0x2000;
const FILES = ['/etc/hello.txt', '/etc/numbers.txt', '/home/demo/big.bin', '/frag.bin'];

function geometry(fsImage: string): Geometry {
  const out = run('xfs_db', [
    '-r',
    '-c',
    'sb 0',
    '-c',
    'p blocksize agblocks agcount agblklog dblocks sectsize',
    fsImage,
  ]);
  const num = (k: string) => Number(new RegExp(`^${k} = (\\d+)$`, 'm').exec(out)![1]);
  return {
    blockSize: num('blocksize'),
    agBlocks: num('agblocks'),
    agCount: num('agcount'),
    agBlockLog: num('agblklog'),
    dblocks: num('dblocks'),
    sectSize: num('sectsize'),
  };
}

/** A mounted file's extents as `xfs_io -c 'fiemap -v'` lists them, in bytes. */
function fiemapOf(path: string) {
  // " 0: [0..7]:  3288..3295  8 0x0": file and disk ranges in 512-byte units, then the flags.
  const out = run('xfs_io', ['-r', '-c', 'fiemap -v', path]);
  const extents = [...out.matchAll(/^\s*\d+: \[(\d+)\.\.(\d+)\]:\s+(\d+)\.\.\d+\s+\d+\s+(0x[0-9a-f]+)$/gm)].map(
    (m) => ({
      fileOff: BigInt(m[1]) * 512n,
      diskOff: BigInt(m[3]) * 512n,
      len: (BigInt(m[2]) - BigInt(m[1]) + 1n) * 512n,
      unwritten: (Number(m[4]) & FIEMAP_EXTENT_UNWRITTEN) !== 0,
      shared: (Number(m[4]) & FIEMAP_EXTENT_SHARED) !== 0,
    }),
  );
  assert.ok(extents.length > 0, `fiemap lists no extents for ${path}:\n${out}`);
  return extents;
}

/** How much to write: enough, with 1 KiB blocks, for B+trees of two levels and more. */
interface Fill {
  /** Empty files in /big (a node directory; thousands of inodes in one AG grow its inobt). */
  bigEntries: number;
  /** Extents of /frag.bin (one block each, holes between). */
  fragExtents: number;
  /** One-block files of which every other one is then deleted: that many/2 free extents. */
  holes: number;
}

/** Fill a fresh filesystem through a loop mount; return fiemap of the files, read while mounted. */
function populate(fsImage: string, blockSize: number, fill: Fill): Image['fiemap'] {
  const mnt = mkdtempSync(join(dir, 'mnt-'));
  run('mount', ['-o', 'loop', fsImage, mnt]);
  try {
    mkdirSync(join(mnt, 'etc'));
    mkdirSync(join(mnt, 'home/demo/many'), { recursive: true });
    mkdirSync(join(mnt, 'big'));
    writeFileSync(join(mnt, 'etc/hello.txt'), 'hello\n');
    writeFileSync(join(mnt, 'etc/numbers.txt'), Array.from({ length: 20000 }, (_, i) => `${i}`).join('\n'));
    writeFileSync(join(mnt, 'home/demo/big.bin'), randomBytes(700 * 1024));
    // A short-form directory (etc), a leaf directory (many), a node directory in B+tree format (big).
    for (let i = 0; i < 150; i++) writeFileSync(join(mnt, `home/demo/many/file-with-a-long-name-${i}.txt`), `${i}\n`);
    for (let i = 0; i < fill.bigEntries; i++) writeFileSync(join(mnt, `big/entry-number-${i}-with-a-padded-name`), '');
    // Extents separated by holes: more than the inode holds, so the block map is a B+tree.
    const writes = Array.from({ length: fill.fragExtents }, (_, i) => [
      '-c',
      `pwrite -q ${i * 2 * blockSize} ${blockSize}`,
    ]).flat();
    run('xfs_io', ['-f', ...writes, '-c', 'fsync', join(mnt, 'frag.bin')]);
    if (fill.holes) {
      mkdirSync(join(mnt, 'holes'));
      const hole = (i: number) => join(mnt, `holes/${i}`);
      for (let i = 0; i < fill.holes; i++) writeFileSync(hole(i), randomBytes(blockSize));
      run('sync', []);
      for (let i = 0; i < fill.holes; i += 2) rmSync(hole(i));
    }
    // A symlink whose target needs a block of its own, a short one kept in the inode, and an
    // extended attribute too big for the inode (a remote value block).
    symlinkSync('long/'.repeat(120) + 'target', join(mnt, 'etc/longlink'));
    symlinkSync('hello.txt', join(mnt, 'etc/shortlink'));
    run('setfattr', ['-n', 'user.big', '-v', 'x'.repeat(3000), join(mnt, 'etc/hello.txt')]);
    run('sync', []);
    const fiemap: Image['fiemap'] = new Map();
    for (const f of FILES) fiemap.set(f, fiemapOf(join(mnt, f)));
    return fiemap;
  } finally {
    run('umount', [mnt]);
  }
}

const SMALL: Fill = { bigEntries: 3000, fragExtents: 100, holes: 0 };

function mkfs(name: string, args: string[], fill = SMALL): { fsImage: string; geo: Geometry; fiemap: Image['fiemap'] } {
  const fsImage = join(dir, `${name}.fs`);
  run('truncate', ['-s', '320M', fsImage]);
  run('mkfs.xfs', ['-q', '-f', ...args, fsImage]);
  const geo = geometry(fsImage);
  return { fsImage, geo, fiemap: populate(fsImage, geo.blockSize, fill) };
}

/**
 * A v4 filesystem (no CRCs: 16-byte tree headers, "XD2B"/"XD2D" directory blocks, 100-byte inode
 * cores) with 512-byte blocks. Today's kernel no longer mounts v4, so mkfs.xfs fills it from a
 * prototype file; file offsets come from xfs_db's bmap instead of fiemap.
 */
function v4(): Image {
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'hello.txt'), 'hello\n');
  writeFileSync(join(src, 'numbers.txt'), Array.from({ length: 20000 }, (_, i) => `${i}`).join('\n'));
  const many = Array.from({ length: 300 }, (_, i) => `file-with-a-long-name-${i} ---644 0 0 ${join(src, 'hello.txt')}`);
  const proto = join(dir, 'proto.txt');
  writeFileSync(
    proto,
    [
      '/dev/null',
      '0 0',
      'd--755 0 0',
      'etc d--755 0 0',
      `hello.txt ---644 0 0 ${join(src, 'hello.txt')}`,
      `numbers.txt ---644 0 0 ${join(src, 'numbers.txt')}`,
      '$',
      'many d--755 0 0',
      ...many,
      '$',
      '$',
      '',
    ].join('\n'),
  );
  const fsImage = join(dir, 'v4.fs');
  run('truncate', ['-s', '320M', fsImage]);
  run('mkfs.xfs', ['-q', '-f', '-m', 'crc=0', '-b', 'size=512', '-p', proto, fsImage]);
  const geo = geometry(fsImage);
  const ncheck = run('xfs_db', ['-r', '-c', 'blockget -n', '-c', 'ncheck', fsImage]);
  const fiemap: Image['fiemap'] = new Map();
  for (const f of ['/etc/hello.txt', '/etc/numbers.txt']) {
    const ino = new RegExp(`^\\s*(\\d+) ${f.slice(1)}$`, 'm').exec(ncheck)![1];
    // "data offset 0 startblock 3288 (0/3288) count 8 flag 0"
    const out = run('xfs_db', ['-r', '-c', `inode ${ino}`, '-c', 'bmap', fsImage]);
    const bs = BigInt(geo.blockSize);
    fiemap.set(
      f,
      [...out.matchAll(/^data offset (\d+) startblock \d+ \((\d+)\/(\d+)\) count (\d+) flag (\d)$/gm)].map((m) => ({
        fileOff: BigInt(m[1]) * bs,
        diskOff: (BigInt(m[2]) * BigInt(geo.agBlocks) + BigInt(m[3])) * bs,
        len: BigInt(m[4]) * bs,
        unwritten: m[5] === '1',
        shared: false, // reflink needs v5
      })),
    );
  }
  for (const [f, extents] of fiemap) assert.ok(extents.length > 0, `xfs_db bmap lists no extents for ${f}`);
  return { path: fsImage, fsImage, fsStart: 0n, container: '', btreeFiles: [], geo, fiemap };
}

before(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('the XFS tests fill their filesystems through a loop mount: run as root');
  const four = mkfs('four-ags', ['-d', 'agcount=4']);
  const btreeFiles = ['frag.bin', 'big/.'];
  images.fourAgs = { path: four.fsImage, fsStart: 0n, container: '', btreeFiles, ...four };
  // mkfs.xfs wants a second superblock unless told --unsupported.
  const one = mkfs('one-ag', ['--unsupported', '-d', 'agcount=1']);
  const disk = join(dir, 'gpt.img');
  run('truncate', ['-s', '340M', disk]);
  run('sgdisk', ['-a', '1', '-n', '1:35:+320M', '-c', '1:p1', disk]);
  run('dd', [`if=${one.fsImage}`, `of=${disk}`, 'bs=512', 'seek=35', 'conv=notrunc,sparse', 'status=none']);
  images.oneAgGpt = { path: disk, fsStart: 35n * 512n, container: 'GPT partition 1 "p1" › ', btreeFiles, ...one };
  // One AG: the kernel keeps a directory's files in its parent's AG only while that AG's lock is
  // free, and on a loaded machine it spread the holes over several AGs (CI once found no bnobt
  // leaf: 200 free extents fit one 1 KiB leaf of ~121 records only when they share an AG).
  const small = mkfs('1k-blocks', ['--unsupported', '-b', 'size=1024', '-m', 'rmapbt=1', '-d', 'agcount=1'], {
    bigEntries: 4000,
    fragExtents: 1500,
    holes: 400,
  });
  images.blocks1k = { path: small.fsImage, fsStart: 0n, container: '', btreeFiles, ...small };
  images.v4 = v4();
  for (const [name, img] of Object.entries(images)) {
    const { result, leaves } = await decodeImages([img.path]);
    decoded[name] = { result, leaves: leaves[0] };
  }
});

/**
 * Blocks of the block-map B+trees of the files in B+tree format, walked with xfs_db from the root
 * in the inode (u3.bmbt) down through each node block's pointers. blockuse types these blocks
 * like the fork's data ("data", "dir"), so they are set apart here.
 */
function bmbtBlocks(img: Image): Map<number, string> {
  const out = new Map<number, string>();
  const db = (...cmds: string[]) => run('xfs_db', ['-r', ...cmds.flatMap((c) => ['-c', c]), img.fsImage]);
  // "ptrs[1-3] = 1:125 2:130 3:131" (or "= 125" for one)
  const ptrsOf = (p: string) =>
    /ptrs\[[^\]]*\] = (.*)$/m
      .exec(p)![1]
      .split(' ')
      .map((t) => Number(t.replace(/^\d+:/, '')));
  const ncheck = db('blockget -n', 'ncheck');
  for (const path of img.btreeFiles) {
    const ino = new RegExp(`^\\s*(\\d+) ${path.replace('.', '\\.')}$`, 'm').exec(ncheck)![1];
    const root = db(`inode ${ino}`, 'p core.format u3.bmbt.level u3.bmbt.ptrs');
    assert.match(root, /core\.format = 3 \(btree\)/, `${path} is not in B+tree format`);
    let level = Number(/u3\.bmbt\.level = (\d+)$/m.exec(root)![1]);
    let ptrs = ptrsOf(root);
    for (; level > 0; level--) {
      const next: number[] = [];
      for (const fsb of ptrs) {
        const ag = Math.floor(fsb / 2 ** img.geo.agBlockLog);
        out.set(ag * img.geo.agBlocks + (fsb % 2 ** img.geo.agBlockLog), `file-map of inode ${ino}`);
        if (level > 1) next.push(...ptrsOf(db(`fsblock ${fsb}`, 'type bmapbtd', 'p ptrs')));
      }
      ptrs = next;
    }
  }
  return out;
}

/** xfs_db's type of every block, per AG, as "type" or "type inode N". */
function blockuse(img: Image): string[][] {
  const args = ['-r', '-c', 'blockget -n'];
  for (let ag = 0; ag < img.geo.agCount; ag++) {
    const len = Math.min(img.geo.agBlocks, img.geo.dblocks - ag * img.geo.agBlocks);
    args.push('-c', `fsblock ${ag * 2 ** img.geo.agBlockLog}`, '-c', `blockuse -c ${len}`);
  }
  const out = run('xfs_db', [...args, img.fsImage]);
  const types: string[][] = Array.from({ length: img.geo.agCount }, () => []);
  for (const m of out.matchAll(/^block \d+ \((\d+)\/(\d+)\) type (\S+)(?: inode (\d+))?/gm)) {
    const type = m[3] === 'free1' || m[3] === 'free2' ? 'free' : m[3];
    types[Number(m[1])][Number(m[2])] = m[4] ? `${OWNED[type] ?? type} of inode ${m[4]}` : type;
  }
  return types;
}

/** xfs_db types of blocks that belong to an inode, as the kind the decoder gives them. */
const OWNED: Record<string, string> = {
  data: 'file',
  symlink: 'file',
  quota: 'file',
  dir: 'directory',
  btbmapd: 'file-map',
  btbmapa: 'file-map',
  attr: 'file-map',
};

const TREES: Record<string, string> = {
  bnobt: 'btbno',
  cntbt: 'btcnt',
  inobt: 'btino',
  finobt: 'btfino',
  rmapbt: 'btrmap',
  refcountbt: 'btrefcnt',
};
const HEADERS = new Set(['sb', 'agf', 'agi', 'agfl', 'header']);

/** The decoder's label as an xfs_db block type; a label naming another AG than its block's says so. */
function typeOf(l: Leaf, ag: number): string {
  const label = lastLabel(l);
  const agOf = /\(AG (\d+)\)$/.exec(label);
  if (agOf && Number(agOf[1]) !== ag) return `wrong AG: ${label}`;
  const object = l.chain.at(-1)!.object ?? '';
  const ino = /\.i(\d+)$/.exec(object);
  if (ino) return `${l.kind} of inode ${ino[1]}`;
  let m: RegExpExecArray | null;
  if (/^superblock/.test(label)) return 'sb';
  if ((m = /^(AGF|AGI|AGFL):/.exec(label))) return m[1].toLowerCase();
  if (/^rest of the AG header block/.test(label)) return 'header';
  if ((m = /^(\w+) (root|node|leaf) \(AG/.exec(label)) && TREES[m[1]]) return TREES[m[1]];
  if (/^on the AG free list/.test(label)) return 'freelist';
  if (/^inodes \d+–\d+/.test(label)) return 'inode';
  if (/^internal log/.test(label)) return 'log';
  if (l.kind === 'free') return 'free';
  return `unexpected: ${label}`;
}

for (const name of ['fourAgs', 'oneAgGpt', 'blocks1k', 'v4']) {
  describe(`XFS decoder: ${name}`, () => {
    it('decodes without warnings, inside the right container', () => {
      const { result, leaves } = decoded[name];
      assert.deepEqual(result.warnings, []);
      const agf = leaves.find((l) => lastLabel(l).startsWith('AGF'))!;
      assert.equal(
        agf.chain.map((c) => c.label).join(' › '),
        `${images[name].container}XFS › AGF: free space header (AG 0)`,
      );
    });

    it('every block has the type xfs_db blockuse gives it (and the AG it is in)', () => {
      const img = images[name];
      const truth = blockuse(img);
      for (const [b, type] of bmbtBlocks(img)) truth[Math.floor(b / img.geo.agBlocks)][b % img.geo.agBlocks] = type;
      const bs = BigInt(img.geo.blockSize);
      const mine: Array<Array<Set<string>>> = truth.map(() => []);
      for (const l of decoded[name].leaves) {
        if (l.end <= img.fsStart) continue;
        for (let b = (l.start - img.fsStart) / bs; b * bs + img.fsStart < l.end && b < img.geo.dblocks; b++) {
          const ag = Number(b) / img.geo.agBlocks;
          const agIndex = Math.floor(ag);
          const agbno = Number(b) - agIndex * img.geo.agBlocks;
          (mine[agIndex][agbno] ??= new Set()).add(typeOf(l, agIndex));
        }
      }
      const mismatches: string[] = [];
      let counted = 0;
      truth.forEach((types, ag) =>
        types.forEach((type, agbno) => {
          counted++;
          const got = [...(mine[ag][agbno] ?? [])];
          // AG header sectors share their block(s): xfs_db names the block after the first one.
          const ok = HEADERS.has(type)
            ? got.includes(type) && got.every((t) => HEADERS.has(t))
            : got.length === 1 && got[0] === type;
          if (!ok) mismatches.push(`AG ${ag} block ${agbno}: xfs_db ${type}, decoder ${got.join(' + ') || 'nothing'}`);
        }),
      );
      assert.equal(counted, img.geo.dblocks);
      assert.equal(mismatches.length, 0, mismatches.slice(0, 20).join('\n'));
    });

    it('each AG header sector is where xfs_db finds it', () => {
      const img = images[name];
      const args = ['-r'];
      const expect: string[] = [];
      for (let ag = 0; ag < img.geo.agCount; ag++)
        for (const [cmd, label] of [
          ['sb', ag === 0 ? 'superblock (AG 0)' : `superblock copy (AG ${ag})`],
          ['agf', `AGF: free space header (AG ${ag})`],
          ['agi', `AGI: inode header (AG ${ag})`],
          ['agfl', `AGFL: free list (AG ${ag})`],
        ]) {
          args.push('-c', `${cmd} ${ag}`, '-c', 'daddr');
          expect.push(label);
        }
      const daddrs = [...run('xfs_db', [...args, img.fsImage]).matchAll(/current daddr is (\d+)/g)].map((m) =>
        BigInt(m[1]),
      );
      assert.equal(daddrs.length, expect.length);
      daddrs.forEach((d, i) => {
        const at = img.fsStart + d * 512n;
        const hit = decoded[name].leaves.find((l) => l.start === at)!;
        assert.equal(hit && lastLabel(hit), expect[i], `sector ${d}`);
        assert.equal(hit.end - hit.start, BigInt(img.geo.sectSize));
      });
    });

    it('free extents are the ones xfs_db freesp -d lists (bnobt records, and the AGFL blocks it counts too)', () => {
      const img = images[name];
      const bs = BigInt(img.geo.blockSize);
      const truth = [...run('xfs_db', ['-r', '-c', 'freesp -d', img.fsImage]).matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)$/gm)]
        .map((m) => `${m[1]}/${m[2]}+${m[3]}`)
        .sort();
      const mine = decoded[name].leaves
        .filter((l) => l.kind === 'free' || /^on the AG free list/.test(lastLabel(l)))
        .map((l) => {
          const b = (l.start - img.fsStart) / bs;
          const ag = b / BigInt(img.geo.agBlocks);
          return `${ag}/${b - ag * BigInt(img.geo.agBlocks)}+${(l.end - l.start) / bs}`;
        })
        .sort();
      assert.ok(truth.length > 4);
      assert.deepEqual(mine, truth);
    });

    it('every inode has the path xfs_db ncheck gives it', () => {
      const img = images[name];
      const { objects } = decoded[name].result;
      const out = run('xfs_db', ['-r', '-c', 'blockget -n', '-c', 'ncheck', img.fsImage]);
      const paths = [...out.matchAll(/^\s*(\d+) (.+)$/gm)];
      assert.ok(paths.length > 300, `ncheck listed ${paths.length} names`);
      const wrong: string[] = [];
      for (const [, ino, path] of paths) {
        // ncheck writes directories as "dir/.".
        const want = '/' + path.replace(/\/\.$/, '/');
        const got = [...objects.values()].find((o) => o.id.endsWith(`.i${ino}`))?.label;
        if (got !== want) wrong.push(`inode ${ino}: ncheck ${want}, decoder ${got}`);
      }
      assert.equal(wrong.length, 0, wrong.slice(0, 10).join('\n'));
    });

    it('file bytes sit where fiemap puts them, labelled with their offsets in the file', () => {
      const img = images[name];
      for (const [file, extents] of img.fiemap) {
        for (const { fileOff, diskOff, len, unwritten } of extents) {
          const start = img.fsStart + diskOff;
          const leaves = decoded[name].leaves.filter((l) => l.start < start + len && l.end > start);
          let covered = 0n;
          for (const l of leaves) {
            const m = /^(.+), bytes (\d+)–(\d+) \(inode \d+(, unwritten)?\)$/.exec(lastLabel(l));
            assert.ok(m, `${file} at disk byte ${l.start}: ${lastLabel(l)}`);
            assert.equal(m[1], file);
            assert.equal(m[4] !== undefined, unwritten, `${file} at disk byte ${l.start}: unwritten?`);
            assert.equal(BigInt(m[2]), fileOff + (l.start - start), `${file}: offset of the leaf at ${l.start}`);
            assert.equal(BigInt(m[3]) - BigInt(m[2]) + 1n, l.end - l.start);
            covered += l.end - l.start;
          }
          assert.equal(covered, len, `${file}: fiemap extent at file byte ${fileOff}`);
        }
      }
    });
  });
}

describe('XFS decoder: what the trees and directories look like', () => {
  it('the fragmented file and the big directory have block-map B+tree blocks; directory blocks are named by part', () => {
    const labels = new Set(decoded.fourAgs.leaves.map(lastLabel));
    assert.ok(labels.has('block-map B+tree leaf of /frag.bin'));
    assert.ok(labels.has('block-map B+tree leaf of /big'));
    const dirs = decoded.fourAgs.leaves.filter((l) => l.kind === 'directory').map(lastLabel);
    assert.ok(dirs.some((l) => /^directory \/big, hash index \(inode \d+\)$/.test(l)));
    assert.ok(dirs.some((l) => /^directory \/big, free index \(inode \d+\)$/.test(l)));
    assert.ok(dirs.some((l) => /^directory \/home\/demo\/many \(inode \d+\)$/.test(l)));
    assert.ok(labels.has('extended attributes of /etc/hello.txt'));
  });

  it('inode chunks are named by their inode numbers, like xfs_db says for the root', () => {
    const root = Number(
      /rootino = (\d+)/.exec(run('xfs_db', ['-r', '-c', 'sb 0', '-c', 'p rootino', images.fourAgs.fsImage]))![1],
    );
    const chunk = decoded.fourAgs.leaves.find((l) => lastLabel(l).startsWith(`inodes ${root}–`))!;
    assert.equal(lastLabel(chunk), `inodes ${root}–${root + 63} (AG 0)`);
  });

  it('1 KiB blocks: rmapbt blocks are labelled; a 4 KiB directory block spans four filesystem blocks', () => {
    assert.ok(decoded.blocks1k.leaves.some((l) => /^rmapbt root \(AG 0\)$/.test(lastLabel(l))));
    const many = decoded.blocks1k.leaves.filter((l) => lastLabel(l).startsWith('directory /home/demo/many ('));
    assert.ok(many.some((l) => l.end - l.start >= 4096n));
  });

  it('1 KiB blocks: B+trees of two levels and more (free space, inodes, a block map) are walked', () => {
    const labels = new Set(decoded.blocks1k.leaves.map(lastLabel));
    for (const tree of ['bnobt', 'cntbt', 'inobt'])
      assert.ok(
        [...labels].some((l) => new RegExp(`^${tree} leaf \\(AG \\d+\\)$`).test(l)),
        `no ${tree} below its root`,
      );
    assert.ok(labels.has('block-map B+tree node of /frag.bin'));
  });
});

describe('XFS decoder: reflinked files (blocks several files share)', () => {
  // /orig.bin (1 MiB) reflinked to /copy.bin, then 64 KiB in the middle of the copy overwritten:
  // XFS copies that piece away (copy on write), so there the two files own different blocks.
  // /small.bin reflinked six times: its blocks have seven owners, more than a label names.
  const OVERWRITTEN = { from: 256n * 1024n, len: 64n * 1024n };
  const COPIES = Array.from({ length: 6 }, (_, i) => `/copies/c${i}.bin`);
  const FILES = ['/orig.bin', '/copy.bin', '/small.bin', ...COPIES];
  let fsImage = '';
  let truth: Map<string, ReturnType<typeof fiemapOf>>;
  let result: DecodeResult;
  let leaves: Leaf[];

  before(async () => {
    fsImage = join(dir, 'reflink.fs');
    run('truncate', ['-s', '320M', fsImage]);
    run('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', fsImage]);
    const mnt = mkdtempSync(join(dir, 'mnt-'));
    run('mount', ['-o', 'loop', fsImage, mnt]);
    try {
      writeFileSync(join(mnt, 'orig.bin'), randomBytes(1024 * 1024));
      writeFileSync(join(mnt, 'small.bin'), randomBytes(64 * 1024));
      mkdirSync(join(mnt, 'copies'));
      run('sync', []);
      run('cp', ['--reflink=always', join(mnt, 'orig.bin'), join(mnt, 'copy.bin')]);
      for (const c of COPIES) run('cp', ['--reflink=always', join(mnt, 'small.bin'), join(mnt, c)]);
      run('dd', [
        'if=/dev/urandom',
        `of=${join(mnt, 'copy.bin')}`,
        `bs=${OVERWRITTEN.len}`,
        `seek=${OVERWRITTEN.from / OVERWRITTEN.len}`,
        'count=1',
        'conv=notrunc,fsync',
        'status=none',
      ]);
      run('sync', []);
      truth = new Map(FILES.map((f) => [f, fiemapOf(join(mnt, f))]));
    } finally {
      run('umount', [mnt]);
    }
    ({
      result,
      leaves: [leaves],
    } = await decodeImages([fsImage]));
  });

  /** Disk bytes of `file`'s bytes [from, from + len), per fiemap. */
  const diskRange = (file: string, from: bigint, len: bigint) => {
    const x = truth.get(file)!.find((e) => e.fileOff <= from && from + len <= e.fileOff + e.len)!;
    assert.ok(x, `${file}: no single fiemap extent holds bytes ${from}+${len}`);
    return { start: x.diskOff + (from - x.fileOff), end: x.diskOff + (from - x.fileOff) + len, shared: x.shared };
  };
  /** The paths a leaf's label names: its own file first, then the ones sharing it. */
  const named = (l: Leaf) => {
    const label = lastLabel(l);
    const own = /^(\S+), bytes (\d+)–(\d+) \(inode (\d+)\)(?:, shared with (.*))?$/.exec(label);
    assert.ok(own, `disk byte ${l.start}: ${label}`);
    const others = [...(own[5] ?? '').matchAll(/(\S+) \(bytes (\d+)–(\d+), inode (\d+)\)/g)];
    const more = / and (\d+) more$/.exec(own[5] ?? '');
    return {
      files: [own, ...others].map((m) => ({ path: m[1], from: BigInt(m[2]), to: BigInt(m[3]) })),
      more: more ? Number(more[1]) : 0,
    };
  };
  const leavesIn = (r: { start: bigint; end: bigint }) => leaves.filter((l) => l.start < r.end && l.end > r.start);

  it("fiemap agrees with the scenario: the overwritten piece is the copy's own, the rest is shared", () => {
    const copy = diskRange('/copy.bin', OVERWRITTEN.from, OVERWRITTEN.len);
    const orig = diskRange('/orig.bin', OVERWRITTEN.from, OVERWRITTEN.len);
    assert.equal(copy.shared, false);
    assert.equal(orig.shared, false);
    assert.notEqual(copy.start, orig.start);
    assert.deepEqual(diskRange('/copy.bin', 0n, OVERWRITTEN.from), diskRange('/orig.bin', 0n, OVERWRITTEN.from));
    assert.equal(diskRange('/orig.bin', 0n, OVERWRITTEN.from).shared, true);
  });

  it("every file byte is labelled with every file that holds it, at each file's offsets (fiemap)", () => {
    assert.deepEqual(result.warnings, []);
    const owners = [...truth].flatMap(([path, xs]) =>
      xs.map((x) => ({ path, start: x.diskOff, end: x.diskOff + x.len, fileOff: x.fileOff })),
    );
    for (const [path, xs] of truth)
      for (const x of xs) {
        const all = leavesIn({ start: x.diskOff, end: x.diskOff + x.len });
        assert.equal(
          all.reduce((n, l) => n + (l.end - l.start), 0n),
          x.len,
          `${path}: fiemap extent at file byte ${x.fileOff} is not covered exactly`,
        );
        for (const l of all) {
          const want = owners.filter((o) => o.start < l.end && o.end > l.start);
          for (const o of want)
            assert.ok(o.start <= l.start && l.end <= o.end, `disk byte ${l.start}: one label over ${o.path}'s edge`);
          const got = named(l);
          const where = `disk byte ${l.start} (${lastLabel(l)})`;
          assert.equal(got.files.length + got.more, want.length, `${where}: owners are ${want.map((o) => o.path)}`);
          for (const f of got.files) {
            const o = want.find((w) => w.path === f.path);
            assert.ok(o, `${where}: ${f.path} does not hold these bytes`);
            assert.equal(f.from, o.fileOff + (l.start - o.start), `${where}: ${f.path}'s offset`);
            assert.equal(f.to - f.from + 1n, l.end - l.start, `${where}: ${f.path}'s length`);
          }
          // Picking any owner highlights the bytes: the link belongs to each owner's object.
          const link = l.chain.at(-1)!;
          const ids = [link.object, ...(link.sharedWith ?? [])].sort();
          assert.deepEqual(ids, [...new Set(want.map((o) => objectId(result, o.path)))].sort(), where);
        }
      }
  });

  it("the shared range names both files; the overwritten piece names only the copy, the original's old blocks only the original", () => {
    const shared = leavesIn(diskRange('/orig.bin', 0n, OVERWRITTEN.from));
    assert.ok(shared.length > 0);
    for (const l of shared)
      assert.deepEqual(
        named(l)
          .files.map((f) => f.path)
          .sort(),
        ['/copy.bin', '/orig.bin'],
      );
    for (const l of leavesIn(diskRange('/copy.bin', OVERWRITTEN.from, OVERWRITTEN.len)))
      assert.deepEqual(
        named(l).files.map((f) => f.path),
        ['/copy.bin'],
        lastLabel(l),
      );
    for (const l of leavesIn(diskRange('/orig.bin', OVERWRITTEN.from, OVERWRITTEN.len)))
      assert.deepEqual(
        named(l).files.map((f) => f.path),
        ['/orig.bin'],
        lastLabel(l),
      );
    const first = shared.find((l) => l.start === diskRange('/orig.bin', 0n, 4096n).start)!;
    assert.match(
      lastLabel(first),
      /^\/orig\.bin, bytes 0–\d+ \(inode \d+\), shared with \/copy\.bin \(bytes 0–\d+, inode \d+\)$/,
    );
  });

  it('seven owners: three others named, the rest counted', () => {
    const [l] = leavesIn(diskRange('/small.bin', 0n, 4096n));
    assert.match(
      lastLabel(l),
      /^\/small\.bin, bytes 0–\d+ \(inode \d+\), shared with (\S+ \(bytes 0–\d+, inode \d+\), ){2}\S+ \(bytes 0–\d+, inode \d+\) and 3 more$/,
    );
  });

  it('picking either file lights up the shared blocks, and each file counts its whole size', () => {
    const size = BigInt(statSync(fsImage).size);
    const snapshot = new StructureSnapshot(result, new Map([[1, size]]));
    const blocksOf = (file: string) =>
      snapshot
        .objectBlocks(objectId(result, file))
        .flatMap((d) => d.runs)
        .flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
    for (const file of ['/orig.bin', '/copy.bin']) {
      const want = truth
        .get(file)!
        .flatMap((x) => Array.from({ length: Number(x.len / 4096n) }, (_, i) => Number(x.diskOff / 4096n) + i));
      assert.deepEqual(
        blocksOf(file).sort((a, b) => a - b),
        want.sort((a, b) => a - b),
        file,
      );
      assert.equal(snapshot.object(objectId(result, file))!.bytes, String(1024 * 1024), file);
    }
  });
});

describe('XFS decoder: hostile input', () => {
  const decodeBytes = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const t0 = performance.now();
    const r = await decodeImages([path]);
    assert.ok(performance.now() - t0 < 20_000, 'decode took too long');
    return r;
  };
  const fsBytes = () => readFileSync(images.fourAgs.fsImage);
  const geo = () => images.fourAgs.geo;
  const agStart = (ag: number) => ag * geo().agBlocks * geo().blockSize;

  it('random bytes behind a valid superblock: warnings, no throw, still XFS', async () => {
    const img = randomBytes(64 * 1024 * 1024);
    fsBytes().copy(img, 0, 0, 512);
    // The superblock says 320 MiB; the image is smaller: every AG past it is unreadable.
    const { result, leaves } = await decodeBytes('random.img', img);
    assert.ok(result.warnings.length > 0);
    assert.ok(
      result.warnings.some((w) => /AG 0: AGF: no AGF magic/.test(w)),
      result.warnings.join('\n'),
    );
    assert.equal(leaves[0][0].chain[0].label, 'XFS');
  });

  it('a broken AGF: that AG loses its free-space labels, with a warning; the others keep theirs', async () => {
    const img = fsBytes();
    img.write('JUNK', agStart(1) + geo().sectSize, 'latin1');
    const { result, leaves } = await decodeBytes('bad-agf.img', img);
    assert.deepEqual(result.warnings, ['XFS on disk 1: AG 1: AGF: no AGF magic']);
    const bnobt = leaves[0].filter((l) => /^bnobt root/.test(lastLabel(l))).map(lastLabel);
    assert.deepEqual(bnobt, ['bnobt root (AG 0)', 'bnobt root (AG 2)', 'bnobt root (AG 3)']);
    assert.ok(leaves[0].some((l) => lastLabel(l) === 'inobt root (AG 1)'));
  });

  it('a B+tree node that points at itself: a warning, not a hang', async () => {
    const img = fsBytes();
    const agf = agStart(2) + geo().sectSize;
    const root = img.readUInt32BE(agf + 0x10);
    const block = agStart(2) + root * geo().blockSize;
    // Make the bnobt root an interior node (level 1 of 2) whose only child is itself.
    img.writeUInt32BE(2, agf + 0x1c);
    img.writeUInt16BE(1, block + 4);
    img.writeUInt16BE(1, block + 6);
    const maxrecs = Math.floor((geo().blockSize - 56) / 12);
    img.writeUInt32BE(root, block + 56 + maxrecs * 8);
    const { result } = await decodeBytes('loop.img', img);
    assert.deepEqual(result.warnings, [`XFS on disk 1: AG 2: bnobt: bnobt: block ${root} is reached twice (a loop)`]);
  });

  it('more inodes than the budget walks: the rest is summarised, the AG structures are all there', async () => {
    const { result, leaves } = await decodeImages([images.fourAgs.fsImage], { maxFiles: 100 });
    assert.equal(result.truncated, true);
    assert.deepEqual(result.warnings, [
      'XFS on disk 1: more than 100 inodes or directory entries; the rest are not itemised',
    ]);
    assert.ok(leaves[0].some((l) => lastLabel(l) === 'in use (not itemised)'));
    assert.ok(leaves[0].some((l) => lastLabel(l) === 'finobt root (AG 3)'));
  });

  it('random damage to the metadata it reads: never a throw, a hang or an unguarded path', async () => {
    const random = seededRandom(0x5eed);
    const meta = decoded.fourAgs.leaves.filter((l) =>
      ['group-descriptors', 'bitmap', 'inode-table', 'directory', 'file-map'].includes(l.kind),
    );
    const base = await FileSource.open(images.fourAgs.fsImage);
    try {
      for (let round = 0; round < 40; round++) {
        const damage = new Map<bigint, number>();
        for (let i = 0; i < 24; i++) {
          const l = meta[random(meta.length)];
          damage.set(l.start + BigInt(random(Number(l.end - l.start))), random(256));
        }
        const source = damagedSource(base, damage);
        const t0 = performance.now();
        const result = await decodeDisks([{ disk: 1, source }]);
        assert.ok(performance.now() - t0 < 20_000, `round ${round} took too long`);
        // Damage is a warning about one structure ("XFS on disk 1: AG 2: …", "… inode 130: …"); the
        // decoder as a whole failing (probe's "disk 1: XFS: …") would mean an unguarded path.
        const whole = result.warnings.filter((w) => w.startsWith('disk 1: XFS: '));
        assert.deepEqual(whole, [], `round ${round}`);
      }
    } finally {
      await base.close();
    }
  });

  it('a superblock that contradicts itself: named "XFS (not decoded)", with a warning', async () => {
    const img = Buffer.alloc(8 * 1024 * 1024);
    fsBytes().copy(img, 0, 0, 512);
    img.writeUInt32BE(3, 0x58); // agcount 3 does not hold dblocks of 4 AGs
    const { result, leaves } = await decodeBytes('bad-sb.img', img);
    assert.match(result.warnings.join('\n'), /disk 1: XFS: XFS superblock: \d+ blocks do not fill 3 groups/);
    assert.equal(leaves[0][0].chain.map((c) => c.label).join(' › '), 'XFS (not decoded) › XFS superblock');
  });
});
