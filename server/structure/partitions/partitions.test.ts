// Partition tables against sfdisk's own reading (sfdisk -J): GPT (primary and backup, names,
// types; a damaged primary falls back to the backup) and DOS/MBR with an extended partition and
// its chain of logical partitions.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { leavesOf, type DecodeResult } from '../decode.ts';
import { decodeImages, run } from '../test-support.ts';
import type { Leaf } from '../flatten.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-parts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface SfdiskTable {
  partitiontable: {
    label: 'gpt' | 'dos';
    firstlba?: number;
    lastlba?: number;
    partitions: Array<{ node: string; start: number; size: number; type: string; name?: string }>;
  };
}

const sfdiskJson = (img: string) => JSON.parse(run('sfdisk', ['-J', img])) as SfdiskTable;
const partNumber = (node: string) => Number(/(\d+)$/.exec(node)![1]);
const covering = (leaves: Leaf[], byte: bigint) => leaves.find((l) => l.start <= byte && byte < l.end);
const label = (l: Leaf | undefined) => l?.chain.map((c) => c.label).join(' › ') ?? '(nothing)';

function gptDisk(name: string): string {
  const img = join(dir, name);
  run('truncate', ['-s', '64M', img]);
  run('sgdisk', [
    '-n',
    '1:2048:+20M',
    '-c',
    '1:boot',
    '-t',
    '1:ef00',
    '-n',
    '3:0:+10M',
    '-c',
    '3:data',
    '-n',
    '4:0:0',
    '-c',
    '4:rest',
    '-t',
    '4:fd00',
    img,
  ]);
  return img;
}

describe('GPT', () => {
  it('labels each partition with its number and name where sfdisk puts it, and both copies of the table', async () => {
    const img = gptDisk('gpt.img');
    const t = sfdiskJson(img).partitiontable;
    assert.equal(t.label, 'gpt');
    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, []);
    const disk = leaves[0];
    for (const p of t.partitions) {
      const n = partNumber(p.node);
      const first = covering(disk, BigInt(p.start) * 512n);
      const last = covering(disk, BigInt(p.start + p.size) * 512n - 1n);
      const want = `GPT partition ${n} "${p.name}"`;
      assert.equal(first?.chain[0].label, want, label(first));
      assert.equal(last?.chain[0].label, want, label(last));
      assert.equal(first!.start, BigInt(p.start) * 512n);
      assert.ok(
        covering(disk, BigInt(p.start + p.size) * 512n)?.chain[0].label !== want,
        `${want} ends where sfdisk says`,
      );
    }
    // Partition 2 is unused: numbering follows the entry index, as Linux does.
    assert.deepEqual(
      t.partitions.map((p) => partNumber(p.node)),
      [1, 3, 4],
    );
    const size = 64n * 1024n * 1024n;
    const lastLba = BigInt(t.lastlba!);
    assert.equal(label(covering(disk, 0n)), 'protective MBR');
    assert.equal(label(covering(disk, 512n)), 'GPT header (primary)');
    assert.equal(label(covering(disk, 1024n)), 'GPT partition entries (primary)');
    assert.equal(label(covering(disk, (lastLba + 1n) * 512n)), 'GPT partition entries (backup)');
    assert.equal(label(covering(disk, size - 512n)), 'GPT header (backup)');
    const types = [...result.objects.values()].filter((o) => o.kind === 'partition').map((o) => o.label);
    assert.deepEqual(types, [
      'GPT partition 1 "boot" (EFI system)',
      'GPT partition 3 "data" (Linux filesystem)',
      'GPT partition 4 "rest" (Linux RAID)',
    ]);
  });

  it('falls back to the backup table when the primary header is damaged, and says so', async () => {
    const img = gptDisk('gpt-damaged.img');
    const fd = openSync(img, 'r+');
    writeSync(fd, Buffer.from('garbage!'), 0, 8, 512 + 24); // inside the primary header: its CRC breaks
    closeSync(fd);
    const { result, leaves } = await decodeImages([img]);
    assert.ok(
      result.warnings.some((w) => /primary GPT invalid \(header CRC mismatch\)/.test(w)),
      result.warnings.join('; '),
    );
    assert.equal(covering(leaves[0], 2048n * 512n)?.chain[0].label, 'GPT partition 1 "boot"');
    assert.match(label(covering(leaves[0], 512n)), /GPT header \(primary\) \(header CRC mismatch\)/);
    assert.equal(label(covering(leaves[0], 1024n)), 'GPT partition entries (primary)');
  });

  it('a renamed partition is named up to the NUL, as sfdisk reads it (parted leaves the old name after it)', async () => {
    const img = join(dir, 'gpt-renamed.img');
    run('truncate', ['-s', '16M', img]);
    // mkpart names the partition "primary"; renaming it to "ab" overwrites only "ab\0".
    run('parted', ['-s', img, 'mklabel', 'gpt', 'mkpart', 'primary', '1MiB', '5MiB', 'name', '1', 'ab']);
    assert.equal(sfdiskJson(img).partitiontable.partitions[0].name, 'ab');
    const { leaves } = await decodeImages([img]);
    assert.equal(covering(leaves[0], 2048n * 512n)?.chain[0].label, 'GPT partition 1 "ab"');
  });

  it('labels intact primary entries when the primary header sector is gone (sgdisk uses them too)', async () => {
    const img = gptDisk('gpt-headerless.img');
    const fd = openSync(img, 'r+');
    writeSync(fd, Buffer.alloc(512), 0, 512, 512); // the primary header's sector, zeroed
    closeSync(fd);
    assert.match(run('sgdisk', ['-v', img]), /corrupt GPT/);
    const { result, leaves } = await decodeImages([img]);
    assert.ok(
      result.warnings.some((w) => /primary GPT header missing \(its partition entries are intact\)/.test(w)),
      result.warnings.join('; '),
    );
    assert.equal(label(covering(leaves[0], 512n)), 'GPT header (primary) (missing)');
    assert.equal(label(covering(leaves[0], 1024n)), 'GPT partition entries (primary)');
    assert.equal(covering(leaves[0], 2048n * 512n)?.chain[0].label, 'GPT partition 1 "boot"');
    // Entries that no longer match the backup's CRC are not claimed as a copy of it.
    const fd2 = openSync(img, 'r+');
    writeSync(fd2, Buffer.from('changed!'), 0, 8, 1024 + 56); // the first entry's name
    closeSync(fd2);
    const again = await decodeImages([img]);
    assert.ok(
      again.result.warnings.some((w) => /primary GPT missing/.test(w)),
      again.result.warnings.join('; '),
    );
    assert.equal(label(covering(again.leaves[0], 1024n)), '(nothing)');
  });
});

/**
 * Point entry `index` of both copies of an image's GPT at LBAs [first, last], their CRCs made
 * again: sfdisk, sgdisk and parted all refuse to write entries that overlap.
 */
function moveGptEntry(img: string, index: number, first: bigint, last: bigint): void {
  const fd = openSync(img, 'r+');
  try {
    for (const headerAt of [512, fstatSync(fd).size - 512]) {
      const h = Buffer.alloc(512);
      readSync(fd, h, 0, 512, headerAt);
      const tableAt = Number(h.readBigUInt64LE(72)) * 512;
      const entrySize = h.readUInt32LE(84);
      const entries = Buffer.alloc(h.readUInt32LE(80) * entrySize);
      readSync(fd, entries, 0, entries.length, tableAt);
      entries.writeBigUInt64LE(first, index * entrySize + 32);
      entries.writeBigUInt64LE(last, index * entrySize + 40);
      h.writeUInt32LE(crc32(entries) >>> 0, 88);
      h.writeUInt32LE(0, 16);
      h.writeUInt32LE(crc32(h.subarray(0, h.readUInt32LE(12))) >>> 0, 16);
      writeSync(fd, entries, 0, entries.length, tableAt);
      writeSync(fd, h, 0, 512, headerAt);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A disk of 32 MiB partitioned by sfdisk from `table`, with a vfat written at MiB 1–21 holding a
 * 12 MiB /big.bin whose every sector says which file byte it starts at.
 */
function diskWithSelfDescribingVfat(name: string, table: string): string {
  const img = join(dir, `${name}.img`);
  const fs = join(dir, `${name}-fs.img`);
  const big = join(dir, `${name}-self-describing.bin`);
  writeFileSync(
    big,
    Buffer.concat(Array.from({ length: 24576 }, (_, i) => Buffer.from(`file byte ${i * 512}`.padEnd(512, '.')))),
  );
  run('truncate', ['-s', '20M', fs]);
  run('mkfs.vfat', ['-F', '16', '-n', 'INNER', fs]);
  run('mcopy', ['-i', fs, big, '::/big.bin']);
  run('truncate', ['-s', '32M', img]);
  run('sfdisk', ['-q', img], { input: table });
  const fd = openSync(img, 'r+');
  writeSync(fd, readFileSync(fs), 0, 20 << 20, 1 << 20);
  closeSync(fd);
  return img;
}

/**
 * Every 256 KiB of MiB 2–21 of a disk made by diskWithSelfDescribingVfat, but the MiB from `hole`
 * (another partition is shown there): the sector there must be named as the byte of /big.bin it
 * holds, under `partition`. Returns how many were checked beyond the hole.
 */
function checkSelfDescribing(img: string, result: DecodeResult, partition: string, hole: bigint): number {
  const disk = openSync(img, 'r');
  let checked = 0;
  try {
    for (let at = 2n << 20n; at < 21n << 20n; at += 256n << 10n) {
      if (at >= hole && at < hole + (1n << 20n)) continue;
      const sector = Buffer.alloc(512);
      readSync(disk, sector, 0, 512, Number(at));
      const m = /^file byte (\d+)/.exec(sector.toString('latin1'));
      if (!m) continue;
      const [leaf] = leavesOf(result, 1, at, at + 512n);
      assert.deepEqual(
        leaf.chain.map((c) => c.label),
        [partition, 'vfat (FAT16) "INNER"', `/big.bin, bytes ${m[1]}–${Number(m[1]) + 511}`],
        `disk byte ${at}`,
      );
      if (at >= hole + (1n << 20n)) checked++;
    }
  } finally {
    closeSync(disk);
  }
  return checked;
}

describe('GPT with overlapping entries', () => {
  it("the part of a partition beyond an entry inside it still names its filesystem's bytes", async () => {
    // /big.bin's vfat in partition 1 (MiB 1–21); then entry 2 is moved to MiB 6–7, inside it.
    // Entry 2 wins there (the smaller), so partition 1 is cut in two, and the part from MiB 7
    // on must still be the same vfat.
    const img = diskWithSelfDescribingVfat(
      'gpt-overlap',
      'label: gpt\nstart=2048, size=40960, name=fs\nstart=43008, size=2048, name=inside\n',
    );
    moveGptEntry(img, 1, 12288n, 14335n);
    assert.match(run('sgdisk', ['-v', img]), /partitions 2 and 1 overlap/);

    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, [
      'disk 1: GPT partition 1 "fs" and GPT partition 2 "inside" overlap (sectors 12288–14335); GPT partition 2 "inside" is shown there',
    ]);
    assert.equal(covering(leaves[0], 6n << 20n)?.chain[0].label, 'GPT partition 2 "inside"');
    const checked = checkSelfDescribing(img, result, 'GPT partition 1 "fs"', 6n << 20n);
    assert.ok(checked >= 20, `${checked} sectors of /big.bin checked beyond the inner entry`);
  });
});

/** Point MBR entry `index` (0–3) at [first, first + sectors): sfdisk refuses to write entries that overlap. */
function moveMbrEntry(img: string, index: number, first: number, sectors: number): void {
  const fd = openSync(img, 'r+');
  try {
    const entry = Buffer.alloc(8);
    entry.writeUInt32LE(first, 0);
    entry.writeUInt32LE(sectors, 4);
    writeSync(fd, entry, 0, 8, 446 + 16 * index + 8);
  } finally {
    closeSync(fd);
  }
}

describe('MBR with overlapping entries', () => {
  it('decodes every entry, names the overlap in a warning, the smaller partition shown where they overlap', async () => {
    // As the GPT case: /big.bin's vfat in partition 1 (MiB 1–21), entry 2 moved inside it (MiB
    // 6–7); entry 3 overlaps nothing and must be decoded as it is.
    const img = diskWithSelfDescribingVfat(
      'mbr-overlap',
      'label: dos\nstart=2048, size=40960, type=c\nstart=43008, size=2048, type=83\nstart=47104, size=8192, type=83\n',
    );
    moveMbrEntry(img, 1, 12288, 2048);
    // sfdisk's own check names the overlap too (on stderr).
    assert.match(
      spawnSync('sfdisk', ['--verify', img], { encoding: 'utf8' }).stderr,
      /Partition 1: overlaps partition 2/,
    );

    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, [
      'disk 1: MBR partition 1 and MBR partition 2 overlap (sectors 12288–14335); MBR partition 2 is shown there',
    ]);
    assert.equal(label(covering(leaves[0], 0n)), 'MBR (boot code + partition table)');
    assert.equal(covering(leaves[0], 6n << 20n)?.chain[0].label, 'MBR partition 2');
    for (const at of [47104n * 512n, 55295n * 512n])
      assert.equal(covering(leaves[0], at)?.chain[0].label, 'MBR partition 3', `disk byte ${at}`);
    const checked = checkSelfDescribing(img, result, 'MBR partition 1', 6n << 20n);
    assert.ok(checked >= 20, `${checked} sectors of /big.bin checked beyond the inner entry`);
  });

  it('a partition inside a larger one listed after it is still shown, and an extended partition hides none', async () => {
    const img = join(dir, 'mbr-nested.img');
    run('truncate', ['-s', '16M', img]);
    run('sfdisk', ['-q', img], {
      input: 'label: dos\nstart=2048, size=2048, type=83\nstart=4096, size=8192, type=83\nstart=12288, type=5\n',
    });
    moveMbrEntry(img, 1, 2048, 10240); // partition 2: MiB 1–6, around partition 1 (MiB 1–2)
    moveMbrEntry(img, 2, 8192, 24576); // the extended partition: MiB 4–16, over the end of partition 2
    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, [
      'disk 1: MBR partition 1 and MBR partition 2 overlap (sectors 2048–4095); MBR partition 1 is shown there',
      'disk 1: MBR partition 2 and MBR partition 3 (Extended) overlap (sectors 8192–12287); MBR partition 2 is shown there',
    ]);
    const at = (mib: number) => covering(leaves[0], BigInt(mib * 2 ** 20))?.chain[0].label;
    assert.equal(at(1.5), 'MBR partition 1');
    assert.equal(at(3), 'MBR partition 2');
    assert.equal(at(5), 'MBR partition 2');
    assert.equal(at(7), 'MBR partition 3 (Extended)');
  });
});

describe('MBR with an entry at sector 0 (isohybrid)', () => {
  it("decodes it, says it holds the MBR, keeps sector 0 the table's, and shows a partition inside it", async () => {
    // As an isohybrid image's table: partition 1 (bootable, type 0x17) from sector 0 over the
    // whole disk, partition 2 (EFI) inside it. sfdisk writes neither, so entry 1 is moved by hand.
    const img = join(dir, 'mbr-sector0.img');
    run('truncate', ['-s', '16M', img]);
    run('sfdisk', ['-q', img], {
      input: 'label: dos\nstart=2048, size=28672, type=17, bootable\nstart=30720, size=2048, type=ef\n',
    });
    moveMbrEntry(img, 0, 0, 32768);
    const t = sfdiskJson(img).partitiontable;
    assert.deepEqual(
      t.partitions.map((p) => [p.start, p.size]),
      [
        [0, 32768],
        [30720, 2048],
      ],
      'sfdisk reads entry 1 from sector 0',
    );
    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, [
      "disk 1: MBR partition 1 starts at sector 0, so it holds the MBR itself (as an isohybrid image's partition 1 holds the whole image); sector 0 is shown as the table",
      'disk 1: MBR partition 1 and MBR partition 2 overlap (sectors 30720–32767); MBR partition 2 is shown there',
    ]);
    assert.equal(label(covering(leaves[0], 0n)), 'MBR (boot code + partition table)');
    assert.equal(label(covering(leaves[0], 512n)), 'MBR partition 1');
    assert.equal(label(covering(leaves[0], 8n << 20n)), 'MBR partition 1');
    assert.equal(covering(leaves[0], 30720n * 512n)?.chain[0].label, 'MBR partition 2');
    // Inside partition 1, sector 0 is the same table: not decoded again as a table of its own.
    assert.ok(![...result.objects.keys()].some((id) => id.includes('.p1.')), [...result.objects.keys()].join(', '));
  });
});

describe('MBR', () => {
  it('labels primary, extended and logical partitions as sfdisk numbers them, and the EBR chain', async () => {
    const img = join(dir, 'mbr.img');
    run('truncate', ['-s', '64M', img]);
    run('sfdisk', ['-q', img], {
      input:
        'label: dos\nstart=2048, size=20M, type=83\nstart=43008, size=10M, type=c\nstart=65536, type=5\nstart=67584, size=5M, type=83\nstart=80000, size=5M, type=82\n',
    });
    const t = sfdiskJson(img).partitiontable;
    assert.equal(t.label, 'dos');
    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, []);
    const disk = leaves[0];
    assert.equal(label(covering(disk, 0n)), 'MBR (boot code + partition table)');
    for (const p of t.partitions) {
      const n = partNumber(p.node);
      const inside = covering(disk, BigInt(p.start) * 512n + 4096n);
      if (p.type === '5') assert.equal(inside?.chain[0].label, `MBR partition ${n} (Extended)`);
      else {
        assert.equal(inside?.chain[0].label, `MBR partition ${n}`, label(inside));
        assert.equal(covering(disk, BigInt(p.start + p.size) * 512n - 1n)?.chain[0].label, `MBR partition ${n}`);
      }
    }
    // Each logical partition's EBR sits in the extended partition, before the partition.
    const ebrs = disk.filter((l) => /^EBR of partition/.test(label(l)));
    assert.deepEqual(ebrs.map(label), ['EBR of partition 5', 'EBR of partition 6']);
    assert.equal(ebrs[0].start, 65536n * 512n);
    const logicals = t.partitions.filter((p) => partNumber(p.node) >= 5);
    for (const [i, e] of ebrs.entries()) assert.ok(e.start < BigInt(logicals[i].start) * 512n);
  });

  it('a blank disk decodes to nothing, without warnings', async () => {
    const blank = join(dir, 'blank.img');
    run('truncate', ['-s', '8M', blank]);
    const { result, leaves } = await decodeImages([blank]);
    assert.deepEqual(result.warnings, []);
    assert.equal(leaves[0].length, 0);
  });
});
