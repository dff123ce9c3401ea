// The exFAT decoder against the real tools: mkfs.exfat makes the volume, the Linux exfat driver
// (in guestfish's appliance, one run under TCG) fills it, and everything is checked against
// what did not come from the decoder: each file's bytes as the driver reads them back, the
// allocation bitmap and the places dump.exfat reports. Then damaged copies: boot sector fields,
// a backup boot region that differs, a FAT chain that loops, an entry set whose checksum is wrong.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import {
  bytesByLabels,
  decodeImages,
  decodePatched as decodePatchedImage,
  fillWithGuestfish,
  hasObject,
  lastLabel,
  objectId,
  readAt,
  run,
  randomDamageRounds,
} from '../test-support.ts';
import { bootChecksum } from './boot.ts';
import { entrySetChecksum } from './entries.ts';

const LONG = '/docs/deep/A rather long file name for several entries.bin';
/** Files written by upload, with their sizes; the fragmented pair is written by interleaved appends. */
const UPLOADED: Record<string, number> = {
  '/one.txt': 1,
  '/four.bin': 4096,
  '/big.bin': 1_300_000,
  [LONG]: 30_000,
};
const INTERLEAVED = ['/docs/a.bin', '/docs/b.bin'];
const dir = mkdtempSync(join(tmpdir(), 'blockscope-exfat-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const img = join(dir, 'exfat.img');
const FILES = [...Object.keys(UPLOADED), ...INTERLEAVED];
const local = (path: string) => join(dir, `local${path.replace(/[/ ]/g, '_')}`);
const back = (path: string) => join(dir, `back${path.replace(/[/ ]/g, '_')}`);

interface Dump {
  sectorBytes: number;
  clusterBytes: number;
  fatOffset: number;
  fatLength: number;
  heapOffset: number;
  clusterCount: number;
  bitmapCluster: number;
  bitmapBytes: number;
  upcaseCluster: number;
  upcaseBytes: number;
}

/** The numbers dump.exfat prints ("Cluster Count: 5632"). */
function dumpExfat(path: string): Dump {
  const out = run('dump.exfat', [path]);
  const num = (label: string) => {
    const m = new RegExp(`${label}[^:]*:\\s*(\\d+)`).exec(out);
    assert.ok(m, `dump.exfat printed no "${label}":\n${out}`);
    return Number(m[1]);
  };
  return {
    sectorBytes: 2 ** num('Sector Size Bits'),
    clusterBytes: 2 ** (num('Sector Size Bits') + num('Sector per Cluster bits')),
    fatOffset: num('FAT Offset'),
    fatLength: num('FAT Length'),
    heapOffset: num('Cluster Heap Offset'),
    clusterCount: num('Cluster Count'),
    bitmapCluster: num('Bitmap start cluster'),
    bitmapBytes: num('Bitmap size'),
    upcaseCluster: num('Upcase table start cluster'),
    upcaseBytes: num('Upcase table size'),
  };
}

let result: DecodeResult;
let leaves: Leaf[];
let dump: Dump;

before(async () => {
  run('truncate', ['-s', '40M', img]);
  run('mkfs.exfat', ['-L', 'TEACHVOL', img]);
  for (const [path, size] of Object.entries(UPLOADED)) writeFileSync(local(path), randomBytes(size));
  fillWithGuestfish({
    dir,
    img,
    dirs: ['/docs/deep'],
    uploads: Object.keys(UPLOADED).map((p) => [local(p), p]),
    // Two files growing by turns: the driver gives each append the next free cluster, so both
    // end up in pieces, chained through the FAT (no NoFatChain).
    shell: `for i in $(seq 1 24); do for f in ${INTERLEAVED.map((p) => `/sysroot${p}`).join(' ')}; do head -c 5000 /dev/urandom >> $f; done; done; sync`,
    downloads: FILES.map((p) => [p, back(p)]),
  });
  run('fsck.exfat', ['-n', img]);
  dump = dumpExfat(img);
  const decoded = await decodeImages([img]);
  result = decoded.result;
  leaves = decoded.leaves[0];
});

const at = (ls: Leaf[], byte: number) => ls.find((l) => l.start <= BigInt(byte) && BigInt(byte) < l.end);
const clusterAt = (c: number) => dump.heapOffset * dump.sectorBytes + (c - 2) * dump.clusterBytes;

describe('exFAT filled by the Linux driver', () => {
  it('names the volume by its label, with no warnings', () => {
    assert.deepEqual(result.warnings, []);
    assert.equal(leaves[0].chain[0].label, 'exFAT "TEACHVOL"');
  });

  it("every file's labelled bytes, in file-offset order, are the file as the driver reads it back", () => {
    for (const path of FILES) {
      const want = readFileSync(back(path));
      if (path in UPLOADED) assert.equal(want.length, UPLOADED[path], path);
      const { bytes, placed } = bytesByLabels(img, leaves, result, path, want.length);
      assert.equal(placed, want.length, `${path}: every byte labelled once`);
      assert.ok(bytes.equals(want), `${path}: labelled bytes differ from the file`);
    }
    assert.ok(LONG.split('/').pop()!.length > 15, 'the long name needs several File Name entries');
    assert.ok(leaves.some((l) => lastLabel(l) === `File Name entry of ${LONG}`));
  });

  it('the interleaved files are in pieces, followed through the FAT', () => {
    for (const path of INTERLEAVED) {
      const pieces = leaves.filter(hasObject(objectId(result, path)));
      assert.ok(pieces.length >= 2, `${path} should be fragmented: ${pieces.length} piece(s)`);
      assert.match(lastLabel(pieces[1]), /, bytes [1-9]\d*–\d+$/);
    }
  });

  it('every cluster the allocation bitmap marks used is labelled, every free one is free space', () => {
    const bitmap = readAt(img, clusterAt(dump.bitmapCluster), dump.bitmapBytes);
    for (let i = 0; i < dump.clusterCount; i++) {
      const leaf = at(leaves, clusterAt(i + 2));
      assert.ok(leaf, `cluster ${i + 2} has no label`);
      const used = (bitmap[i >> 3] >> (i & 7)) & 1;
      if (used) {
        assert.notEqual(leaf.kind, 'free', `cluster ${i + 2} is used`);
        assert.notEqual(lastLabel(leaf), 'in use (no owner found)', `cluster ${i + 2}`);
      } else assert.equal(leaf.kind, 'free', `cluster ${i + 2} is free: ${lastLabel(leaf)}`);
    }
  });

  it('boot regions, FAT, bitmap, up-case table and directories are where dump.exfat says', () => {
    const S = dump.sectorBytes;
    const label = (byte: number) => lastLabel(at(leaves, byte)!);
    assert.equal(label(0), 'boot sector');
    assert.equal(label(S), 'extended boot sectors');
    assert.equal(label(9 * S), 'OEM parameters');
    assert.equal(label(11 * S), 'boot checksum');
    assert.equal(label(12 * S), 'backup boot sector');
    assert.equal(label(23 * S), 'backup boot checksum');
    const fat = leaves.filter((l) => l.kind === 'fat');
    assert.deepEqual(
      fat.map((l) => [Number(l.start), Number(l.end)]),
      [[dump.fatOffset * S, (dump.fatOffset + dump.fatLength) * S]],
    );
    assert.equal(label(clusterAt(dump.bitmapCluster)), 'allocation bitmap');
    assert.equal(label(clusterAt(dump.upcaseCluster) + dump.upcaseBytes - 1), 'up-case table');
    assert.equal(at(leaves, clusterAt(dump.heapOffset))?.chain[0].label, 'exFAT "TEACHVOL"');
    for (const d of ['/docs/', '/docs/deep/']) assert.ok(leaves.some(hasObject(objectId(result, d))), d);
  });
});

describe('exFAT in a GPT partition', () => {
  it('is found inside the partition, each file at the partition offset plus its own', async () => {
    const disk = join(dir, 'gpt-exfat.img');
    const start = 2048 * 512;
    run('truncate', ['-s', '48M', disk]);
    run('sgdisk', ['-n', '1:2048:+40M', '-t', '1:0700', disk]);
    run('dd', [`if=${img}`, `of=${disk}`, 'bs=1M', `seek=${start / 2 ** 20}`, 'conv=notrunc', 'status=none']);
    const d = await decodeImages([disk]);
    assert.deepEqual(d.result.warnings, []);
    const file = '/docs/a.bin';
    const inside = d.leaves[0].filter(hasObject(objectId(d.result, file)));
    const alone = leaves.filter(hasObject(objectId(result, file)));
    assert.deepEqual(
      inside.map((l) => [Number(l.start) - start, lastLabel(l)]),
      alone.map((l) => [Number(l.start), lastLabel(l)]),
    );
    assert.deepEqual(
      inside[0].chain.slice(0, 2).map((c) => c.label),
      ['GPT partition 1', 'exFAT "TEACHVOL"'],
    );
  });
});

const decodePatched = (name: string, patch: (b: Buffer) => void) => decodePatchedImage(dir, img, name, patch);

/** Byte offset of the first entry labelled `label` (an entry set's entries are labelled by kind and path). */
const entryAt = (label: string) => Number(leaves.find((l) => lastLabel(l) === label)!.start);

describe('exFAT damaged or unusual', () => {
  const FIELDS: Array<[string, number, number, RegExp]> = [
    ['BytesPerSectorShift', 108, 20, /BytesPerSectorShift 20/],
    ['SectorsPerClusterShift', 109, 30, /SectorsPerClusterShift 30/],
    ['NumberOfFats', 110, 3, /NumberOfFats 3/],
    ['FatOffset', 80, 2, /FatOffset 2 lies inside the boot regions/],
    ['FatLength', 84, 1, /FatLength 1 sectors cannot hold/],
    ['ClusterHeapOffset', 88, 30, /ClusterHeapOffset 30 overlaps/],
    ['ClusterCount', 92, 0x7fffffff, /ClusterCount|cannot hold|runs past/],
    ['FirstClusterOfRootDirectory', 96, 1, /FirstClusterOfRootDirectory 1 is not in the cluster heap/],
  ];
  for (const [field, offset, value, why] of FIELDS)
    it(`${field} = ${value} in both boot regions: refused with a warning, the disk is still named "exFAT (not decoded)"`, async () => {
      const d = await decodePatched(field, (b) => {
        for (const at of [offset, 12 * dump.sectorBytes + offset])
          if (field.endsWith('Shift') || field === 'NumberOfFats') b.writeUInt8(value, at);
          else b.writeUInt32LE(value, at);
      });
      assert.ok(
        d.result.warnings.some((w) => why.test(w)),
        d.result.warnings.join('\n'),
      );
      assert.equal(d.leaves[0].chain[0].label, 'exFAT (not decoded)');
    });

  /** Leaves as [start, end, chain] lines, the main boot region's " (refused)" taken off. */
  const lines = (ls: Leaf[]) =>
    ls.map((l) => `${l.start}–${l.end} ${l.chain.map((c) => c.label.replace(/ \(refused\)$/, '')).join(' › ')}`);
  const mainRefused = (why: string) =>
    `exFAT on disk 1: the main boot region is refused (${why}): the backup boot region (sectors 12–23) is used`;

  it('a main boot sector whose fields are refused: the backup boot region is used, with a warning; every label as before', async () => {
    const S = dump.sectorBytes;
    const d = await decodePatched('main-refused', (b) => b.writeUInt32LE(0x7fffffff, 92)); // ClusterCount
    assert.deepEqual(d.result.warnings, [
      mainRefused(`boot sector: FatLength ${dump.fatLength} sectors cannot hold 2147483647 clusters`),
      'exFAT on disk 1: the backup boot region differs from the main one (boot sector)',
    ]);
    assert.equal(d.leaves[0].chain[0].label, 'exFAT "TEACHVOL"');
    assert.equal(lastLabel(at(d.leaves, 0)!), 'boot sector (refused)');
    assert.equal(lastLabel(at(d.leaves, 11 * S)!), 'boot checksum (refused)');
    assert.equal(lastLabel(at(d.leaves, 12 * S)!), 'backup boot sector');
    assert.deepEqual(lines(d.leaves), lines(leaves));
    // fsck.exfat repairs such a volume from the same backup: decoded, it is the volume as it was.
    const out = run('fsck.exfat', ['-y', d.copy], { okStatus: [0, 1] });
    assert.match(out, /boot region is corrupted. try to restore the region from backup/);
    const repaired = await decodeImages([d.copy]);
    assert.deepEqual(repaired.result.warnings, []);
    assert.deepEqual(lines(repaired.leaves[0]), lines(leaves));
  });

  it('a main boot region whose checksum is wrong: the backup boot region is used; with the backup refused too, the main one', async () => {
    const S = dump.sectorBytes;
    const d = await decodePatched('main-checksum', (b) => {
      b[S + 7] ^= 0x5a; // an extended boot sector: only the checksum notices
    });
    const stored = readAt(img, 11 * S, 4).readUInt32LE(0);
    const wrong = `boot checksum 0x${stored.toString(16)} does not match sectors 0–10 (0x${bootChecksum(readAt(d.copy, 0, 12 * S), S).toString(16)})`;
    assert.deepEqual(d.result.warnings, [
      mainRefused(wrong),
      'exFAT on disk 1: the backup boot region differs from the main one (extended boot sectors)',
    ]);
    assert.deepEqual(lines(d.leaves), lines(leaves));
    // The backup no better (its ClusterCount damaged): the main region is decoded, its checksum a warning.
    const both = await decodePatched('both-damaged', (b) => {
      b[S + 7] ^= 0x5a;
      b.writeUInt32LE(0x7fffffff, 12 * S + 92);
    });
    assert.deepEqual(both.result.warnings, [
      `exFAT on disk 1: ${wrong}`,
      'exFAT on disk 1: the backup boot region differs from the main one (boot sector, extended boot sectors)',
    ]);
    assert.equal(lastLabel(at(both.leaves, 0)!), 'boot sector');
    assert.deepEqual(lines(both.leaves), lines(leaves));
  });

  it('a backup boot region that differs from the main one is a warning naming the parts that differ', async () => {
    const S = dump.sectorBytes;
    const d = await decodePatched('backup-differs', (b) => {
      b[12 * S + 100] ^= 0xff; // the backup's VolumeSerialNumber
      b[21 * S + 5] ^= 0x01; // the backup's OEM parameters
    });
    assert.deepEqual(d.result.warnings, [
      'exFAT on disk 1: the backup boot region differs from the main one (boot sector, OEM parameters)',
    ]);
    // VolumeFlags (VolumeDirty while mounted) and PercentInUse change in the main boot sector
    // only, outside the checksum: not a difference.
    const flags = await decodePatched('main-flags', (b) => {
      b[106] ^= 0x02;
      b[112] = 42;
    });
    assert.deepEqual(flags.result.warnings, []);
  });

  it('a FAT chain that loops back is a warning, not a hang; the rest is still decoded', async () => {
    const first = leaves.find(hasObject(objectId(result, INTERLEAVED[0])))!;
    const second = leaves.filter(hasObject(objectId(result, INTERLEAVED[0])))[1];
    const c1 = Number((first.start - BigInt(clusterAt(2))) / BigInt(dump.clusterBytes)) + 2;
    const c2 = Number((second.start - BigInt(clusterAt(2))) / BigInt(dump.clusterBytes)) + 2;
    const d = await decodePatched('loop', (b) => b.writeUInt32LE(c1, dump.fatOffset * dump.sectorBytes + c2 * 4));
    assert.ok(
      d.result.warnings.some((w) => /a\.bin: the cluster chain loops/.test(w)),
      d.result.warnings.join('\n'),
    );
    assert.ok(d.leaves.some(hasObject(objectId(d.result, '/big.bin'))));
  });

  it('an entry set with a wrong checksum is a warning; its clusters are not taken for the file', async () => {
    const file = entryAt('File entry of /one.txt');
    const cluster = Number(leaves.find(hasObject(objectId(result, '/one.txt')))!.start);
    const d = await decodePatched('checksum', (b) => b.writeUInt16LE(b.readUInt16LE(file + 2) ^ 0xffff, file + 2));
    assert.deepEqual(d.result.warnings, [
      `exFAT on disk 1: entry set of /one.txt: SetChecksum 0x${(readAt(img, file + 2, 2).readUInt16LE(0) ^ 0xffff).toString(16)} is not the checksum of its entries (0x${readAt(
        img,
        file + 2,
        2,
      )
        .readUInt16LE(0)
        .toString(16)}); its clusters are not followed`,
    ]);
    assert.equal(lastLabel(at(d.leaves, file)!), 'File entry of /one.txt (bad entry set)');
    assert.equal(lastLabel(at(d.leaves, cluster)!), 'in use (no owner found)');
  });

  it('bytes past ValidDataLength are labelled "not yet written" (fsck.exfat accepts the set)', async () => {
    const file = entryAt('File entry of /big.bin');
    const valid = 100_000;
    const d = await decodePatched('valid-length', (b) => {
      b.writeBigUInt64LE(BigInt(valid), file + 32 + 8);
      const set = b.subarray(file, file + 32 * (b[file + 1] + 1));
      set.writeUInt16LE(entrySetChecksum(set), 2);
    });
    run('fsck.exfat', ['-n', d.copy]);
    assert.deepEqual(d.result.warnings, []);
    const big = d.leaves.filter(hasObject(objectId(d.result, '/big.bin')));
    const tail = big.filter((l) => lastLabel(l).endsWith(', not yet written'));
    assert.match(lastLabel(tail[0]), new RegExp(`^/big\\.bin, bytes ${valid}–\\d+, not yet written$`));
    const unwritten = tail.reduce((n, l) => n + Number(l.end - l.start), 0);
    assert.equal(unwritten, UPLOADED['/big.bin'] - valid);
  });

  it('more files than the budget walks: a warning, the rest "in use (not itemised)"', async () => {
    const d = await decodeImages([img], { maxFiles: 3 });
    assert.equal(d.result.truncated, true);
    assert.deepEqual(d.result.warnings, [
      'exFAT on disk 1: more than 3 files and directories; the rest are not itemised',
    ]);
    assert.ok(d.leaves[0].some((l) => lastLabel(l) === 'in use (not itemised)'));
    assert.ok(d.leaves[0].some((l) => lastLabel(l) === 'allocation bitmap'));
  });

  it('random damage to the metadata it reads: never a throw, a hang or an unguarded path', async () => {
    const S = dump.sectorBytes;
    const fatStart = dump.fatOffset * S;
    const spans = (pick: (l: Leaf) => boolean) =>
      leaves.filter(pick).map((l) => [Number(l.start), Number(l.end)] as [number, number]);
    const clusterOf = (byte: bigint) => Number((byte - BigInt(clusterAt(2))) / BigInt(dump.clusterBytes)) + 2;
    // Where the walks go: the FAT entries of every cluster in use (chains are followed through
    // them), directories and their entry sets, the bitmap; now and then the boot sector's fields.
    const used = leaves.filter((l) => l.start >= BigInt(clusterAt(2)) && l.kind !== 'free');
    const fatEntries = used.map((l) => [fatStart + clusterOf(l.start) * 4, fatStart + clusterOf(l.end - 1n) * 4 + 4]);
    const areas: Array<Array<[number, number]>> = [
      fatEntries as Array<[number, number]>,
      spans((l) => l.kind === 'directory'),
      spans((l) => l.kind === 'bitmap'),
    ];
    await randomDamageRounds({
      img,
      seed: 0xe8fa7,
      name: 'exFAT',
      header: [64, 112],
      areas,
      // A refused boot sector is probe's "disk 1: exFAT: boot sector: …".
      refusal: /^boot sector: /,
    });
  });
});
