// The vfat decoder against dosfstools and mtools: fsck.fat -v for the boot sector, FATs, root
// directory and data area of FAT12, FAT16 and FAT32; mshowfat for the clusters of every file
// (a fragmented one included) and directory, long names included.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import { decodeImages, fsckFat, hasObject, objectId, run } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-fat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FILES = ['/docs/numbers.txt', '/docs/deep/A long file name.bin', '/HELLO.TXT', '/fragmented.bin'];
const SIZES = { 12: '4M', 16: '24M', 32: '300M' } as const;
const images: Record<number, { path: string; result: DecodeResult; leaves: Leaf[] }> = {};

before(async () => {
  const src = (name: string, bytes: number) => {
    const p = join(dir, name);
    writeFileSync(p, Buffer.alloc(bytes, name.length));
    return p;
  };
  const small = src('small', 3000);
  const numbers = src('numbers', 110_000);
  const big = src('big', 300_000);
  for (const type of [12, 16, 32] as const) {
    const img = join(dir, `fat${type}.img`);
    run('truncate', ['-s', SIZES[type], img]);
    run('mkfs.vfat', ['-F', String(type), '-n', `VOL${type}`, img]);
    const m = (...args: string[]) => run(args[0], ['-i', img, ...args.slice(1)]);
    m('mmd', '::/docs', '::/docs/deep');
    m('mcopy', numbers, '::/docs/numbers.txt');
    m('mcopy', big, '::/docs/deep/A long file name.bin');
    m('mcopy', small, '::/HELLO.TXT');
    // Leave a hole in the middle of the data, then write a file bigger than the hole.
    m('mcopy', numbers, '::/gap.bin');
    m('mcopy', small, '::/after.bin');
    m('mdel', '::/gap.bin');
    m('mcopy', big, '::/fragmented.bin');
    const { result, leaves } = await decodeImages([img]);
    images[type] = { path: img, result, leaves: leaves[0] };
  }
});

/** mshowfat's cluster list of a file: "<4-57> <60-61>". */
function clustersOf(img: string, path: string): number[] {
  const out = run('mshowfat', ['-i', img, `::${path}`]);
  const clusters: number[] = [];
  for (const m of out.matchAll(/(\d+)(?:-(\d+))?/g)) {
    if (!out.includes('<')) break;
    const a = Number(m[1]);
    for (let c = a; c <= Number(m[2] ?? a); c++) clusters.push(c);
  }
  return clusters;
}

const bytesOf = (leaves: Leaf[], pick: (l: Leaf) => boolean) =>
  leaves.filter(pick).map((l) => [Number(l.start), Number(l.end)] as [number, number]);
const merge = (ranges: Array<[number, number]>) =>
  ranges
    .sort((a, b) => a[0] - b[0])
    .reduce<Array<[number, number]>>((out, r) => {
      const last = out[out.length - 1];
      if (last && last[1] === r[0]) last[1] = r[1];
      else out.push([...r]);
      return out;
    }, []);

for (const type of [12, 16, 32] as const) {
  describe(`FAT${type}`, () => {
    it('finds boot sector, FATs, root directory and data area where fsck.fat does', () => {
      const { path, result, leaves } = images[type];
      const t = fsckFat(path);
      assert.equal(t.bits, type);
      assert.deepEqual(result.warnings, []);
      assert.equal(leaves[0].chain[0].label, `vfat (FAT${type}) "VOL${type}"`);
      assert.deepEqual(merge(bytesOf(leaves, (l) => l.kind === 'fat')), [
        [t.fatStart, t.fatStart + t.fats * t.fatBytes],
      ]);
      const fat2 = leaves.find((l) => l.chain.at(-1)!.label === 'FAT 2 (copy)')!;
      assert.equal(Number(fat2.start), t.fatStart + t.fatBytes);
      assert.equal(leaves.find((l) => l.kind === 'superblock')!.start, 0n);
      if (t.rootStart !== null) {
        const root = leaves.find((l) => l.chain.at(-1)!.label === 'root directory')!;
        assert.deepEqual([Number(root.start), Number(root.end)], [t.rootStart, t.dataStart]);
      }
      // The data area: every cluster is free, a file, a directory, or (unexpected) unowned.
      const data = merge(bytesOf(leaves, (l) => l.start >= BigInt(t.dataStart) && l.kind !== 'reserved'));
      assert.equal(data[0][0], t.dataStart);
      assert.ok(data[0][1] >= t.dataStart + t.clusters * t.clusterBytes - t.clusterBytes);
    });

    it('labels every cluster of files and directories as mshowfat lists them, by long name', () => {
      const { path, result, leaves } = images[type];
      const t = fsckFat(path);
      for (const file of [...FILES, '/docs', '/docs/deep']) {
        const want = merge(
          clustersOf(path, file).map((c) => [
            t.dataStart + (c - 2) * t.clusterBytes,
            t.dataStart + (c - 1) * t.clusterBytes,
          ]),
        );
        const id = objectId(result, file.startsWith('/docs') && !file.includes('.') ? `${file}/` : file);
        assert.deepEqual(merge(bytesOf(leaves, hasObject(id))), want, file);
      }
      // mtools fills the hole on FAT12/16; on FAT32 it allocates after the FSInfo hint instead.
      if (type === 32) return;
      const frag = merge(bytesOf(leaves, hasObject(objectId(result, '/fragmented.bin'))));
      assert.ok(frag.length >= 2, `fragmented.bin should be in several pieces: ${JSON.stringify(frag)}`);
      const second = leaves.find(
        (l) => hasObject(objectId(result, '/fragmented.bin'))(l) && l.start === BigInt(frag[1][0]),
      )!;
      assert.match(second.chain.at(-1)!.label, /^\/fragmented\.bin, bytes [1-9]\d*–\d+$/);
    });
  });
}
