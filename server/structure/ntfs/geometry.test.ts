// NTFS of other geometries, inside partitions: 512-byte clusters in an MBR partition, 64 KiB
// clusters on 4 KiB sectors in a GPT partition. mkntfs makes each volume, ntfscp (ntfs-3g,
// without mounting: no guestfish run) puts files in it, and the volume is written into its
// partition. Checked against ntfs-3g's tools on the volume alone: each file's runs (ntfscluster)
// and bytes, the boot sectors, MFT records; and every label inside the partition must be the
// volume's own label shifted by the partition's start.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Leaf } from '../flatten.ts';
import { bytesByLabels, decodeImages, lastLabel, run } from '../test-support.ts';
import { inodeOf, oracleRuns, volumeNumber } from './ntfs-3g-oracle.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-ntfs-geometry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1 << 20;
/** Files put in by ntfscp, and their sizes (the first small enough to stay resident). */
const FILES = new Map([
  ['/one.txt', 1],
  ['/mid.bin', 70_000],
  ['/big.bin', 700_000],
]);

interface Geometry {
  name: string;
  label: string;
  sectorBytes: number;
  clusterBytes: number;
  /** sfdisk's script for a 40 MiB disk whose partition 1 starts at sector 2048 and is 32 MiB. */
  table: string;
  partition: string;
}

const GEOMETRIES: Geometry[] = [
  {
    name: 'mbr-512-clusters',
    label: 'SMALLCL',
    sectorBytes: 512,
    clusterBytes: 512,
    table: 'label: dos\nstart=2048, size=65536, type=7\n',
    partition: 'MBR partition 1',
  },
  {
    name: 'gpt-4k-sectors-64k-clusters',
    label: 'BIGCL',
    sectorBytes: 4096,
    clusterBytes: 65536,
    table: 'label: gpt\nstart=2048, size=65536, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=data\n',
    partition: 'GPT partition 1 "data"',
  },
];

const at = (ls: Leaf[], byte: number) => ls.find((l) => l.start <= BigInt(byte) && BigInt(byte) < l.end);
const labelAt = (ls: Leaf[], byte: number) => lastLabel(at(ls, byte)!);

for (const g of GEOMETRIES)
  describe(`NTFS with ${g.sectorBytes}-byte sectors and ${g.clusterBytes}-byte clusters in ${g.partition}`, () => {
    it('every label lands where it does on the volume alone, shifted by the partition start; files and runs as ntfs-3g says', async () => {
      const vol = join(dir, `${g.name}-volume.img`);
      const disk = join(dir, `${g.name}-disk.img`);
      const start = 2048 * 512;
      run('truncate', ['-s', '32M', vol]);
      run('mkntfs', [
        '-q',
        '-F',
        '-Q',
        '-L',
        g.label,
        '-s',
        String(g.sectorBytes),
        '-c',
        String(g.clusterBytes),
        '-p',
        String(start / g.sectorBytes),
        vol,
      ]);
      const local = (path: string) => join(dir, `${g.name}-${path.slice(1)}`);
      for (const [path, size] of FILES) {
        writeFileSync(local(path), randomBytes(size));
        run('ntfscp', ['-q', vol, local(path), path]);
      }
      assert.equal(volumeNumber(vol, 'Cluster Size'), g.clusterBytes);
      assert.equal(volumeNumber(vol, 'Sector Size'), g.sectorBytes);
      run('truncate', ['-s', '40M', disk]);
      run('sfdisk', ['-q', disk], { input: g.table });
      const fd = openSync(disk, 'r+');
      writeSync(fd, readFileSync(vol), 0, 32 * MiB, start);
      closeSync(fd);

      const alone = await decodeImages([vol]);
      const inDisk = await decodeImages([disk]);
      assert.deepEqual(alone.result.warnings, []);
      assert.deepEqual(inDisk.result.warnings, []);
      const leaves = inDisk.leaves[0];
      assert.deepEqual(
        at(leaves, start)!
          .chain.slice(0, 2)
          .map((c) => c.label),
        [g.partition, `NTFS "${g.label}"`],
      );
      // Every label inside the partition is the volume's own, at the partition start plus its offset.
      const inside = leaves.filter((l) => l.start >= BigInt(start) && l.end <= BigInt(start + 32 * MiB));
      assert.deepEqual(
        inside.map((l) => [Number(l.start) - start, Number(l.end) - start, lastLabel(l)]),
        alone.leaves[0].map((l) => [Number(l.start), Number(l.end), lastLabel(l)]),
      );

      // Against ntfs-3g, on the disk: boot sectors, MFT records, each file's runs and bytes.
      const S = g.sectorBytes;
      assert.equal(labelAt(leaves, start), 'boot sector');
      assert.equal(labelAt(leaves, start + S - 1), 'boot sector');
      assert.equal(labelAt(leaves, start + 32 * MiB - S), 'backup boot sector');
      const record = volumeNumber(vol, 'MFT Record Size');
      const [mft] = oracleRuns(vol, 0, '0x80');
      const recordAt = (n: number) => start + mft.lcn! * g.clusterBytes + n * record;
      for (const path of FILES.keys()) {
        const inode = inodeOf(vol, path);
        assert.equal(labelAt(leaves, recordAt(inode)), `MFT record ${inode} (${path})`);
        assert.equal(labelAt(leaves, recordAt(inode) + record - 1), `MFT record ${inode} (${path})`);
        const want = readFileSync(local(path));
        const runs = oracleRuns(vol, inode, '0x80');
        for (const r of runs)
          if (r.lcn !== null)
            assert.match(
              labelAt(leaves, start + r.lcn * g.clusterBytes),
              new RegExp(`^${path.replace('.', '\\.')}, bytes ${r.vcn * g.clusterBytes}–\\d+$`),
            );
        const { bytes, placed } = bytesByLabels(disk, leaves, inDisk.result, path, want.length);
        if (runs.length === 0) assert.equal(placed, 0, `${path} is resident`);
        else {
          assert.equal(placed, want.length, `${path}: every byte placed`);
          assert.ok(bytes.equals(want), `${path}: labelled bytes differ from the file`);
        }
      }
    });
  });
