// The ext2/3/4 decoder against e2fsprogs' own answers: dumpe2fs for every group's superblock
// copy, descriptors, reserved GDT, bitmaps, inode tables and free space; debugfs for the blocks
// of files (data, extent-tree nodes, indirect blocks), the journal and directories; icheck and
// ncheck for the owner of sampled blocks. Images: 1 KiB and 4 KiB ext4 (flex_bg, as mke2fs makes
// them today), ext3 with block maps up to double-indirect blocks, and a fragmented file whose
// extent tree has an index node in its own block.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import { decodeImages, dumpe2fs, fsBlocks, hasObject, objectId, parseRanges, run, sorted } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-ext-'));
const MiB = 1024 * 1024;

function makeTree(): string {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  mkdirSync(join(src, 'home/demo/many'), { recursive: true });
  writeFileSync(join(src, 'etc/hello.txt'), 'hello\n');
  writeFileSync(join(src, 'etc/numbers.txt'), Array.from({ length: 20000 }, (_, i) => `${i}`).join('\n'));
  const big = Buffer.alloc(700 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(src, 'home/demo/big.bin'), big);
  for (let i = 0; i < 150; i++)
    writeFileSync(join(src, `home/demo/many/file-with-a-long-name-${i}.txt`), `${i}\n`.repeat(i));
  return src;
}

interface Image {
  path: string;
  /** Filesystem start inside the image, bytes. */
  fsStart: number;
  blockSize: number;
  /** The filesystem alone, for e2fsprogs. */
  fsImage: string;
  files: string[];
}

const images: Record<string, Image> = {};
const decoded: Record<string, { result: DecodeResult; leaves: Leaf[] }> = {};

before(async () => {
  const src = makeTree();
  const mk = (name: string, args: string[], sizeMiB: number) => {
    const fsImage = join(dir, `${name}.fs`);
    run('truncate', ['-s', `${sizeMiB}M`, fsImage]);
    run('mke2fs', ['-q', '-F', ...args, fsImage]);
    return fsImage;
  };
  // 1. GPT disk, partition 1 at 1 MiB holding ext4 with 1 KiB blocks (what guestfish's mkfs makes on small disks).
  const p1 = mk('ext4-1k', ['-t', 'ext4', '-b', '1024', '-d', src], 40);
  const disk1 = join(dir, 'ext4-1k.img');
  run('truncate', ['-s', '64M', disk1]);
  run('sgdisk', ['-n', '1:2048:+40M', '-c', '1:p1', disk1]);
  run('dd', [`if=${p1}`, `of=${disk1}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
  images.ext4_1k = {
    path: disk1,
    fsStart: MiB,
    blockSize: 1024,
    fsImage: p1,
    files: ['/etc/hello.txt', '/etc/numbers.txt', '/home/demo/big.bin'],
  };
  // 2. A whole-disk ext4 with 4 KiB blocks, big enough for backup superblocks.
  const p2 = mk('ext4-4k', ['-t', 'ext4', '-b', '4096', '-d', src], 700); // sparse; 6 groups, backups in 1, 3, 5
  images.ext4_4k = {
    path: p2,
    fsStart: 0,
    blockSize: 4096,
    fsImage: p2,
    files: ['/etc/hello.txt', '/etc/numbers.txt', '/home/demo/big.bin'],
  };
  // 3. ext3: classic block maps with indirect and double-indirect blocks (1 KiB blocks: 700 KiB needs both).
  const p3 = mk('ext3', ['-t', 'ext3', '-b', '1024', '-d', src], 32);
  images.ext3 = {
    path: p3,
    fsStart: 0,
    blockSize: 1024,
    fsImage: p3,
    files: ['/etc/numbers.txt', '/home/demo/big.bin', '/home/demo/many/file-with-a-long-name-149.txt'],
  };
  // 4. A badly fragmented file: more extents than four leaf blocks hold, so the tree has an
  //    index node of its own (depth 2). Fill with small files, free every other, write it.
  const p4 = mk('frag', ['-t', 'ext4', '-b', '1024', '-N', '4096'], 24);
  const cmds: string[] = [];
  for (let i = 0; i < 1400; i++) cmds.push(`write ${join(src, 'etc/hello.txt')} f${i}`);
  for (let i = 0; i < 1400; i += 2) cmds.push(`rm f${i}`);
  cmds.push(`write ${join(src, 'home/demo/big.bin')} fragmented.bin`);
  run('debugfs', ['-w', '-f', '-', p4], { input: cmds.join('\n') + '\n' });
  images.frag = { path: p4, fsStart: 0, blockSize: 1024, fsImage: p4, files: ['/fragmented.bin', '/f1', '/f1399'] };
  // 5. meta_bg (no resize inode): each descriptor block sits in its meta group's first, second and
  //    last group; 16 groups of 4096 blocks, fewer than one descriptor block's 64 slots.
  const p5 = mk('metabg', ['-t', 'ext4', '-b', '4096', '-g', '4096', '-O', 'meta_bg,^resize_inode', '-d', src], 256);
  images.metabg = {
    path: p5,
    fsStart: 0,
    blockSize: 4096,
    fsImage: p5,
    files: ['/etc/hello.txt', '/home/demo/big.bin'],
  };
  for (const [name, img] of Object.entries(images)) {
    const { result, leaves } = await decodeImages([img.path]);
    decoded[name] = { result, leaves: leaves[0] };
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

const debugfs = (fsImage: string, request: string) => run('debugfs', ['-R', request, fsImage]);

/** Mapping blocks of a file per debugfs: extent-tree nodes below the inode, or IND/DIND/TIND. */
function mappingBlocks(fsImage: string, path: string): number[] {
  const stat = debugfs(fsImage, `stat ${path}`);
  if (/^EXTENTS:/m.test(stat)) {
    // dump_extents -n lists interior entries; their "Physical" column is the child node's block.
    const lines = debugfs(fsImage, `dump_extents -n ${path}`).split('\n').slice(1);
    return lines
      .map((l) => /^\s*\d+\/\s*\d+\s+\d+\/\s*\d+\s+\d+\s+-\s+\d+\s+(\d+)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m![1]));
  }
  return [...stat.matchAll(/\((?:IND|DIND|TIND)\):(\d+)/g)].map((m) => Number(m[1]));
}

for (const name of ['ext4_1k', 'ext4_4k', 'ext3', 'frag', 'metabg']) {
  describe(`ext decoder: ${name}`, () => {
    const blocksOf = (pick: (l: Leaf) => boolean) => {
      const img = images[name];
      return fsBlocks(decoded[name].leaves, BigInt(img.fsStart), img.blockSize, pick);
    };

    it('decodes without warnings, inside the right container', () => {
      const { result, leaves } = decoded[name];
      assert.deepEqual(result.warnings, []);
      const ext = leaves.find((l) => l.kind === 'inode-table')!;
      const names = ext.chain.map((c) => c.label);
      assert.match(
        names.join(' › '),
        name === 'ext4_1k'
          ? /^GPT partition 1 "p1" › ext4 › group 0 › inode table$/
          : /^ext[34] › group 0 › inode table$/,
      );
    });

    it('labels every superblock copy, descriptor, bitmap and inode table exactly where dumpe2fs puts them', () => {
      const img = images[name];
      const t = dumpe2fs(img.fsImage);
      const kindBlocks = (kind: Leaf['kind']) => sorted(blocksOf((l) => l.kind === kind));
      // A 4 KiB filesystem's block 0 holds the boot area and the superblock together.
      assert.deepEqual(kindBlocks('superblock'), sorted(t.superblock));
      assert.deepEqual(kindBlocks('group-descriptors'), sorted(t.gdt));
      assert.deepEqual(kindBlocks('bitmap'), sorted([...t.blockBitmap, ...t.inodeBitmap]));
      assert.deepEqual(kindBlocks('inode-table'), sorted(t.inodeTable));
      assert.deepEqual(kindBlocks('free'), sorted(t.free));
      // Backup superblocks carry their group: sparse_super puts them in groups 1, 3, 5, 7, 9, 25, 27, …
      const backups = decoded[name].leaves.filter(
        (l) => l.kind === 'superblock' && /backup/.test(l.chain.at(-1)!.label),
      );
      assert.equal(backups.length, t.superblock.length - 1);
    });

    it('labels the blocks of files, directories and the journal as debugfs lists them', () => {
      const img = images[name];
      const { result } = decoded[name];
      const paths = [...img.files, '/'];
      for (const path of paths) {
        const id = objectId(result, path === '/' ? '/' : path);
        const truth = parseRanges(debugfs(img.fsImage, `blocks ${path}`));
        assert.ok(truth.length > 0, `debugfs lists no blocks for ${path}`);
        // debugfs lists data blocks and the blocks that map them (extent nodes, indirect blocks).
        const all = blocksOf((l) => hasObject(id)(l) && !/^extended attributes/.test(l.chain.at(-1)!.label));
        assert.deepEqual(sorted(all), sorted(truth), `blocks of ${path}`);
        const maps = blocksOf((l) => hasObject(id)(l) && l.kind === 'file-map');
        assert.deepEqual(
          sorted(maps),
          sorted(mappingBlocks(img.fsImage, path)),
          `extent-tree/indirect blocks of ${path}`,
        );
      }
      const journal = parseRanges(debugfs(img.fsImage, 'blocks <8>'));
      const journalObj = [...result.objects.values()].find((o) => o.kind === 'journal')!;
      assert.deepEqual(sorted(blocksOf(hasObject(journalObj.id))), sorted(journal), 'journal (inode 8)');
    });

    it('agrees with icheck and ncheck on who owns sampled blocks', () => {
      const img = images[name];
      const { objects } = decoded[name].result;
      // Files and directories that have a path (the journal and other reserved inodes have none).
      const leaves = decoded[name].leaves.filter(
        (l) =>
          ['file', 'directory', 'file-map'].includes(l.kind) &&
          objects.get(l.chain.at(-1)!.object!)?.label.startsWith('/'),
      );
      const bs = BigInt(img.blockSize);
      const samples = leaves.filter((_, i) => i % Math.max(1, Math.floor(leaves.length / 25)) === 0).slice(0, 25);
      const blocks = samples.map((l) => Number((l.start - BigInt(img.fsStart)) / bs));
      const icheck = debugfs(img.fsImage, `icheck ${blocks.join(' ')}`);
      const owner = new Map([...icheck.matchAll(/^(\d+)\s+(\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]));
      const ncheck = debugfs(img.fsImage, `ncheck ${[...new Set(owner.values())].join(' ')}`);
      const pathOf = new Map(
        [...ncheck.matchAll(/^(\d+)\s+(\S.*)$/gm)].map((m) => [Number(m[1]), m[2].replace(/^\/\//, '/')]),
      );
      pathOf.set(2, '/'); // ncheck does not name the root
      samples.forEach((leaf, i) => {
        const ino = owner.get(blocks[i]);
        assert.ok(ino, `icheck found no owner for block ${blocks[i]} (${leaf.chain.at(-1)!.label})`);
        const obj = leaf.chain.at(-1)!.object!;
        assert.equal(obj.replace(/^.*\.i/, ''), String(ino), `block ${blocks[i]}: ${leaf.chain.at(-1)!.label}`);
        const label = decoded[name].result.objects.get(obj)!.label.replace(/(.)\/$/, '$1');
        assert.equal(label, pathOf.get(ino) ?? `(ncheck: no path for ${ino})`);
      });
    });
  });
}

describe('ext decoder: extent tree with an index node', () => {
  it('the fragmented file really has a depth-2 tree, and its index block is labelled', () => {
    const ex = debugfs(images.frag.fsImage, 'dump_extents -n /fragmented.bin');
    assert.match(ex, /^\s*1\/\s*2\s/m, `expected an index level in:\n${ex}`);
    const id = objectId(decoded.frag.result, '/fragmented.bin');
    const labels = decoded.frag.leaves
      .filter((l) => hasObject(id)(l) && l.kind === 'file-map')
      .map((l) => l.chain.at(-1)!.label);
    assert.ok(
      labels.some((l) => l.startsWith('extent tree index of /fragmented.bin')),
      labels.join('; '),
    );
    assert.ok(
      labels.some((l) => l.startsWith('extent tree leaf of /fragmented.bin')),
      labels.join('; '),
    );
  });

  it('meta_bg: a descriptor block names only the groups the filesystem has', () => {
    const labels = decoded.metabg.leaves
      .filter((l) => l.kind === 'group-descriptors')
      .map((l) => `${l.start / 4096n}: ${l.chain.at(-1)!.label}`);
    // dumpe2fs: "Group descriptor at 1" (group 0) and "at 4097" (group 1); 16 groups.
    assert.deepEqual(labels, ['1: group descriptors of groups 0–15', '4097: group descriptors of groups 0–15']);
  });

  it('labels file bytes with their offsets in the file', () => {
    const id = objectId(decoded.ext4_4k.result, '/home/demo/big.bin');
    const first = decoded.ext4_4k.leaves.find((l) => hasObject(id)(l))!;
    assert.match(first.chain.at(-1)!.label, /^\/home\/demo\/big\.bin, bytes 0–\d+ \(inode \d+\)$/);
  });
});
