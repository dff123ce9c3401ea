// The NTFS decoder against ntfs-3g: mkntfs makes the volume, guestfish (one run under TCG) fills
// it, and everything is checked against what did not come from the decoder: each file's bytes as
// the driver reads them back, the runs `ntfscluster -f -I` lists for each inode, the owners
// `ntfscluster -c` names for clusters, and $Bitmap as `ntfscat` reads it. Then damaged copies:
// boot sector fields, a torn MFT record, a torn index record, a run outside the volume, parent
// references that loop, and rounds of seeded random damage.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
  decodePatched,
  fillWithGuestfish,
  hasObject,
  lastLabel,
  leafSpans,
  objectId,
  readAt,
  run,
  randomDamageRounds,
} from '../test-support.ts';
import { inodeOf as inodeOfIn, oracleRuns as oracleRunsIn, volumeNumber } from './ntfs-3g-oracle.ts';

/** Written into single-cluster holes of a full volume: in so many pieces that its run list continues in an extension record. */
const FRAGMENTED = '/docs/frag.bin';
/** 10 MiB with "hello" at 5,000,000 and nothing else written: one cluster, the rest sparse. */
const SPARSE = '/sparse.bin';
/** Written in a compressed directory: its runs hold compressed data (and sparse tails). */
const COMPRESSED = '/packed/c.txt';
const LONG = '/docs/deep/A rather long file name, not 8.3 at all.bin';
/** Files written by upload, and their sizes. */
const UPLOADED = new Map<string, number>([
  // Small enough to stay resident in its MFT record: no clusters of its own.
  ['/one.txt', 1],
  ['/four.bin', 4096],
  ['/big.bin', 1_300_000],
  // Its DOS 8.3 name is another $FILE_NAME: the Win32 one must win.
  [LONG, 30_000],
]);
const FILES = [...UPLOADED.keys(), FRAGMENTED, SPARSE];
const dir = mkdtempSync(join(tmpdir(), 'blockscope-ntfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const img = join(dir, 'ntfs.img');
const local = (path: string) => join(dir, `local${path.replace(/[/ ,.]/g, '_')}`);
const back = (path: string) => join(dir, `back${path.replace(/[/ ,.]/g, '_')}`);

const inodeOf = (path: string) => inodeOfIn(img, path);
const oracleRuns = (inode: number, type: string) => oracleRunsIn(img, inode, type);

/** Who `ntfscluster -c` says owns a cluster ("Inode 2 /$LogFile/$DATA"). */
const ownerOf = (cluster: number) => run('ntfscluster', ['-c', String(cluster), img]);

let result: DecodeResult;
let leaves: Leaf[];
let clusterBytes: number;
let recordBytes: number;
/** Byte of MFT record n (the MFT of this image is one run: checked in before()). */
let recordAt: (n: number) => number;

before(async () => {
  run('truncate', ['-s', '64M', img]);
  run('mkntfs', ['-q', '-F', '-Q', '-L', 'TEACHVOL', img]);
  for (const [path, size] of UPLOADED) writeFileSync(local(path), randomBytes(size));
  fillWithGuestfish({
    dir,
    img,
    // ntfs-3g compresses only when mounted with this option, in directories marked compressed.
    mount: 'mount-vfs compression ntfs',
    dirs: ['/docs/deep', '/holes', '/packed'],
    uploads: [...UPLOADED.keys()].map((p) => [local(p), p]),
    shell: [
      // Fill the volume, free every other 4 KiB file, then write: the only free space is holes
      // of one cluster, so the file is in pieces. Then the sparse file, into the freed filler.
      'cd /sysroot; for i in $(seq 1 600); do head -c 4096 /dev/urandom > holes/h$i; done',
      'dd if=/dev/zero of=fill bs=64k 2>/dev/null; sync; for i in $(seq 2 2 600); do rm holes/h$i; done; sync',
      `head -c 1100000 /dev/urandom > .${FRAGMENTED}; sync; rm fill`,
      `truncate -s 10M .${SPARSE}; printf hello | dd of=.${SPARSE} bs=1 seek=5000000 conv=notrunc 2>/dev/null`,
      // FILE_ATTRIBUTE_COMPRESSED on the directory: what is written in it is compressed.
      'setfattr -h -v 0x00000800 -n system.ntfs_attrib_be packed',
      `yes compressible | head -c 200000 > .${COMPRESSED}; head -c 70000 /dev/urandom >> .${COMPRESSED}; sync`,
    ].join('; '),
    downloads: [...FILES, COMPRESSED].map((p) => [p, back(p)]),
  });
  clusterBytes = volumeNumber(img, 'Cluster Size');
  recordBytes = volumeNumber(img, 'MFT Record Size');
  const mft = oracleRuns(0, '0x80');
  assert.equal(mft.length, 1, 'the test expects an MFT in one run');
  recordAt = (n) => mft[0].lcn! * clusterBytes + n * recordBytes;
  const decoded = await decodeImages([img]);
  result = decoded.result;
  leaves = decoded.leaves[0];
});

const at = (ls: Leaf[], byte: number) => ls.find((l) => l.start <= BigInt(byte) && BigInt(byte) < l.end);
const labelAt = (ls: Leaf[], byte: number) => lastLabel(at(ls, byte)!);

describe('NTFS made by mkntfs, filled by ntfs-3g', () => {
  it('names the volume by the label ntfsinfo reads, with no warnings', () => {
    const name = /Volume Name:\s*(\S*)/.exec(run('ntfsinfo', ['-m', img]))![1];
    assert.equal(name, 'TEACHVOL');
    assert.equal(leaves[0].chain[0].label, `NTFS "${name}"`);
    assert.deepEqual(result.warnings, []);
  });

  it("every file's labelled bytes, in file-offset order, are the file as the driver reads it back", () => {
    for (const path of FILES) {
      const want = readFileSync(back(path));
      const { bytes, placed } = bytesByLabels(img, leaves, result, path, want.length);
      if (UPLOADED.has(path)) assert.equal(want.length, UPLOADED.get(path), path);
      // What ntfs-3g says is on disk (not sparse, not resident), cut at the file's size.
      const onDisk = oracleRuns(inodeOf(path), '0x80')
        .filter((r) => r.lcn !== null)
        .reduce(
          (n, r) => n + Math.max(0, Math.min(want.length, (r.vcn + r.count) * clusterBytes) - r.vcn * clusterBytes),
          0,
        );
      assert.equal(placed, onDisk, `${path}: every byte on disk labelled once`);
      // Sparse holes and resident data are not on disk: they read back as zeros / are not placed.
      assert.ok(bytes.equals(want) || (placed === 0 && want.length < recordBytes), `${path}: labelled bytes differ`);
    }
    assert.equal(bytesByLabels(img, leaves, result, '/one.txt', 1).placed, 0, 'a one-byte file is resident');
    assert.equal(
      bytesByLabels(img, leaves, result, SPARSE, 10 << 20).placed,
      clusterBytes,
      'one cluster of the sparse file',
    );
  });

  it("each file's runs are where ntfscluster -f -I puts them, at the file offsets of their VCNs", () => {
    for (const path of [...FILES, COMPRESSED]) {
      const runs = oracleRuns(inodeOf(path), '0x80');
      // The file's $DATA: not its attribute list ("attribute list of /x").
      const mine = leaves
        .filter(hasObject(objectId(result, path)))
        .filter((l) => !lastLabel(l).endsWith(` of ${path}`));
      const clusters = new Set<number>();
      for (const l of mine)
        for (let b = Number(l.start); b < Number(l.end); b += clusterBytes) clusters.add(b / clusterBytes);
      const want = new Set<number>();
      for (const r of runs) {
        if (r.lcn === null) continue;
        for (let k = 0; k < r.count; k++) want.add(r.lcn + k);
        assert.match(labelAt(leaves, r.lcn * clusterBytes), new RegExp(`, bytes ${r.vcn * clusterBytes}–\\d+$`), path);
      }
      assert.deepEqual(
        [...clusters].sort((a, b) => a - b),
        [...want].sort((a, b) => a - b),
        path,
      );
    }
    assert.ok(oracleRuns(inodeOf(FRAGMENTED), '0x80').length >= 200, `${FRAGMENTED} should be in many pieces`);
    assert.ok(
      oracleRuns(inodeOf(SPARSE), '0x80').some((r) => r.lcn === null),
      `${SPARSE} should be sparse`,
    );
  });

  it("a compressed file's runs are labelled as its compressed data (not decompressed)", () => {
    const runs = oracleRuns(inodeOf(COMPRESSED), '0x80');
    assert.ok(
      runs.some((r) => r.lcn === null),
      'compression units that shrank end in sparse clusters',
    );
    for (const r of runs)
      if (r.lcn !== null)
        assert.match(
          labelAt(leaves, r.lcn * clusterBytes),
          new RegExp(`^/packed/c\\.txt, compressed data, bytes ${r.vcn * clusterBytes}–\\d+$`),
        );
    assert.equal(readFileSync(back(COMPRESSED)).length, 270_000);
  });

  it('a file whose runs continue in an extension record ($ATTRIBUTE_LIST): that record is named after it', () => {
    const info = run('ntfsinfo', ['-F', FRAGMENTED, img]);
    assert.match(info, /\$ATTRIBUTE_LIST/, 'ntfs-3g should have given the file an attribute list');
    const list = oracleRuns(inodeOf(FRAGMENTED), '0x20');
    assert.ok(list.length > 0, 'a non-resident attribute list');
    for (const r of list) assert.equal(labelAt(leaves, r.lcn! * clusterBytes), `attribute list of ${FRAGMENTED}`);
    assert.ok(
      leaves.some((l) => new RegExp(`^MFT record \\d+ \\(extension of ${FRAGMENTED}\\)$`).test(lastLabel(l))),
      'an extension record labelled',
    );
  });

  it('the long name is the Win32 one, not the 8.3 DOS name; MFT records are named after their files', () => {
    assert.ok(objectId(result, LONG));
    for (const path of [...FILES, '/docs', '/docs/deep'])
      assert.equal(labelAt(leaves, recordAt(inodeOf(path))), `MFT record ${inodeOf(path)} (${path})`);
    assert.equal(labelAt(leaves, recordAt(0)), 'MFT record 0 (/$MFT)');
    assert.equal(labelAt(leaves, recordAt(5)), 'MFT record 5 (/)');
  });

  it('system files, indexes and boot sectors are what ntfscluster -c says they are', () => {
    const systemFiles: Array<[string, RegExp]> = [
      ['$LogFile', /Inode 2 \/\$LogFile\/\$DATA/],
      ['$AttrDef', /Inode 4 \/\$AttrDef\/\$DATA/],
      ['$Bitmap', /Inode 6 \/\$Bitmap\/\$DATA/],
      ['$UpCase', /Inode 10 \/\$UpCase\/\$DATA/],
      ['$MFTMirr', /Inode 1 \/\$MFTMirr\/\$DATA/],
      ['/$Secure:$SDS', /Inode 9 \/\$Secure\/\$DATA\(\$SDS\)/],
      ['index $I30 of /', /Inode 5 \/\.\/\$INDEX_ALLOCATION\(\$I30\)/],
      ['MFT bitmap', /Inode 0 \/\$MFT\/\$BITMAP/],
    ];
    for (const [label, owner] of systemFiles) {
      const found = leaves.filter((l) => lastLabel(l) === label || lastLabel(l).startsWith(`${label}, `));
      assert.ok(found.length > 0, `no leaf labelled ${label}`);
      for (const l of found) assert.match(ownerOf(Number(l.start) / clusterBytes), owner, label);
    }
    assert.equal(labelAt(leaves, 0), 'boot sector');
    assert.equal(labelAt(leaves, 512), '$Boot, bytes 512–8191');
    const size = 64 * 1024 * 1024;
    assert.equal(labelAt(leaves, size - 512), 'backup boot sector');
    assert.ok(readAt(img, size - 512, 512).equals(readAt(img, 0, 512)), 'mkntfs writes the backup as a copy');
  });

  it('every cluster $Bitmap marks used is labelled (with an owner), every free one is free space', () => {
    const bitmap = execFileSync('ntfscat', [img, '$Bitmap']);
    const clusters = Math.floor((64 * 1024 * 1024 - 512) / clusterBytes);
    for (let c = 0; c < clusters; c++) {
      const leaf = at(leaves, c * clusterBytes);
      assert.ok(leaf, `cluster ${c} has no label`);
      if ((bitmap[c >> 3] >> (c & 7)) & 1) {
        assert.notEqual(leaf.kind, 'free', `cluster ${c} is used`);
        assert.notEqual(lastLabel(leaf), 'in use (no owner found)', `cluster ${c}`);
      } else assert.equal(leaf.kind, 'free', `cluster ${c} is free: ${lastLabel(leaf)}`);
    }
  });
});

/** Offset (in the image) of the first attribute of `type` in MFT record n. */
function attributeAt(b: Buffer, n: number, type: number): number {
  const rec = recordAt(n);
  for (let off = rec + b.readUInt16LE(rec + 20); b.readUInt32LE(off) !== 0xffffffff; off += b.readUInt32LE(off + 4))
    if (b.readUInt32LE(off) === type) return off;
  throw new Error(`record ${n} has no attribute 0x${type.toString(16)}`);
}

/**
 * Where the first run of record n's $DATA is (its header byte), and its length and LCN widths;
 * the run must not cross a fixup (the bytes there are the update sequence number, not the run).
 */
function firstRun(b: Buffer, n: number): { runs: number; lenBytes: number; lcnBytes: number } {
  const data = attributeAt(b, n, 0x80);
  const runs = data + b.readUInt16LE(data + 32);
  const lenBytes = b[runs] & 0x0f;
  const lcnBytes = b[runs] >> 4;
  assert.ok((runs + 1 + lenBytes + lcnBytes - recordAt(n)) % 512 < 510, 'the run list must not cross a fixup');
  return { runs, lenBytes, lcnBytes };
}

describe('NTFS damaged', () => {
  // Each is written into the boot sector at `at`; both copies are damaged (sector 0 alone falls
  // back to the backup: backup-boot.test.ts).
  const FIELDS: Array<[string, (b: Buffer, at: number) => void, RegExp]> = [
    ['BytesPerSector', (b, at) => b.writeUInt16LE(300, at + 11), /BytesPerSector 300/],
    ['SectorsPerCluster', (b, at) => b.writeUInt8(3, at + 13), /SectorsPerCluster 3/],
    ['ClustersPerMftRecord', (b, at) => b.writeUInt8(0, at + 64), /MFT record size 0/],
    ['TotalSectors', (b, at) => b.writeBigUInt64LE(1n << 40n, at + 40), /TotalSectors \d+ runs past the end/],
    ['MftLcn', (b, at) => b.writeBigUInt64LE(1n << 40n, at + 48), /MftLcn \d+ is not inside the volume/],
  ];
  for (const [field, patch, why] of FIELDS)
    it(`${field} in both boot sectors: refused with a warning, the disk is still named "NTFS (not decoded)"`, async () => {
      const d = await decodePatched(dir, img, field, (b) => {
        patch(b, 0);
        patch(b, b.length - 512);
      });
      assert.ok(
        d.result.warnings.some((w) => why.test(w)),
        d.result.warnings.join('\n'),
      );
      assert.equal(d.leaves[0].chain[0].label, 'NTFS (not decoded)');
    });

  it("an MFT record whose fixup does not match is refused: a warning, its file's clusters have no owner", async () => {
    const n = inodeOf('/four.bin');
    const cluster = Number(leaves.find(hasObject(objectId(result, '/four.bin')))!.start);
    const d = await decodePatched(dir, img, 'torn', (b) =>
      b.writeUInt16LE(b.readUInt16LE(recordAt(n) + 510) ^ 0xffff, recordAt(n) + 510),
    );
    assert.deepEqual(d.result.warnings, [
      `NTFS on disk 1: MFT record ${n}: fixup of stride 1 does not match (torn or damaged record); skipped`,
    ]);
    assert.equal(labelAt(d.leaves, recordAt(n)), `MFT record ${n} (refused: its fixups do not match)`);
    assert.equal(labelAt(d.leaves, cluster), 'in use (no owner found)');
  });

  it('a torn MFT record 0 is read from $MFTMirr, with a warning', async () => {
    const d = await decodePatched(dir, img, 'torn0', (b) =>
      b.writeUInt16LE(b.readUInt16LE(recordAt(0) + 510) ^ 1, recordAt(0) + 510),
    );
    assert.ok(
      d.result.warnings.some((w) => /MFT record 0: fixup .*; its copy in \$MFTMirr is used/.test(w)),
      d.result.warnings.join('\n'),
    );
    assert.ok(d.leaves.some(hasObject(objectId(d.result, LONG))));
  });

  it('an index record whose fixup does not match is a warning', async () => {
    const root = oracleRuns(5, '0xa0')[0];
    const d = await decodePatched(dir, img, 'torn-index', (b) =>
      b.writeUInt16LE(b.readUInt16LE(root.lcn! * clusterBytes + 1022) ^ 1, root.lcn! * clusterBytes + 1022),
    );
    assert.deepEqual(d.result.warnings, [
      'NTFS on disk 1: index record 0 of /: fixup of stride 2 does not match (torn or damaged record)',
    ]);
  });

  it('a run pointing outside the volume is a warning; the file keeps its other runs', async () => {
    const n = inodeOf('/big.bin');
    let warning = '';
    const d = await decodePatched(dir, img, 'outside', (b) => {
      const { runs, lenBytes, lcnBytes } = firstRun(b, n);
      b[runs + lenBytes + lcnBytes] = 0x70; // the LCN's top byte: far past the end
      warning = `/big.bin: run of `;
    });
    assert.ok(
      d.result.warnings.some(
        (w) => w.startsWith(`NTFS on disk 1: ${warning}`) && w.endsWith('lies outside the volume'),
      ),
      d.result.warnings.join('\n'),
    );
    assert.ok(d.leaves.some(hasObject(objectId(d.result, LONG))));
  });

  it('two files claiming the same clusters (cross-linked runs): a warning naming both and the clusters', async () => {
    // /four.bin's run pointed into the middle of /big.bin's first run: ntfscluster -c then finds
    // both files owning that cluster.
    const four = inodeOf('/four.bin');
    const [fourRun] = oracleRuns(four, '0x80');
    const bigRun = oracleRuns(inodeOf('/big.bin'), '0x80').find((r) => r.lcn !== null && r.count > 2)!;
    const lcn = bigRun.lcn! + 1;
    const d = await decodePatched(dir, img, 'cross-linked', (b) => {
      const { runs, lenBytes, lcnBytes } = firstRun(b, four);
      assert.ok(lcn < 2 ** (8 * lcnBytes - 1), "the new LCN fits the run's LCN bytes");
      b.writeUIntLE(lcn, runs + 1 + lenBytes, lcnBytes); // the first run's LCN is absolute
    });
    const owners = run('ntfscluster', ['-c', String(lcn), d.copy]);
    assert.match(owners, /\/big\.bin/);
    assert.match(owners, /\/four\.bin/);
    const last = Math.min(lcn + fourRun.count, bigRun.lcn! + bigRun.count) - 1;
    const clusters = last === lcn ? `cluster ${lcn} is` : `clusters ${lcn}–${last} are`;
    assert.deepEqual(d.result.warnings, [
      `NTFS on disk 1: ${clusters} claimed by both /big.bin and /four.bin (cross-linked)`,
    ]);
  });

  it('parent references that loop are a warning, not a hang; the paths say where', async () => {
    const docs = inodeOf('/docs');
    const deep = inodeOf('/docs/deep');
    const d = await decodePatched(dir, img, 'loop', (b) => {
      const name = attributeAt(b, docs, 0x30);
      b.writeUIntLE(deep, name + b.readUInt16LE(name + 20), 6);
    });
    assert.ok(
      d.result.warnings.some((w) => /its parent references loop/.test(w)),
      d.result.warnings.join('\n'),
    );
    assert.ok(d.leaves.some((l) => /^MFT record \d+ \(\/<loop at record \d+>.*frag\.bin\)$/.test(lastLabel(l))));
  });

  it('more MFT records than the budget reads: a warning, the decode marked truncated', async () => {
    const d = await decodeImages([img], { maxFiles: 20 });
    assert.equal(d.result.truncated, true);
    assert.ok(d.result.warnings.includes('NTFS on disk 1: more than 20 MFT records; the rest are not read'));
    assert.equal(lastLabel(at(d.leaves[0], recordAt(6))!), 'MFT record 6 (/$Bitmap)');
  });

  it('random damage to the metadata it reads: never a throw, a hang or an unguarded path', async () => {
    await randomDamageRounds({
      img,
      name: 'NTFS',
      seed: 0x17f5,
      // Where the walks go: the MFT records in use, directory indexes, $Bitmap; now and then
      // the boot sector's fields.
      areas: [
        leafSpans(leaves, (l) => /^MFT record \d+ \(\//.test(lastLabel(l))),
        leafSpans(leaves, (l) => l.kind === 'directory'),
        leafSpans(leaves, (l) => l.kind === 'bitmap'),
      ],
      header: [11, 80],
      // A refused boot sector, or MFT record 0 torn in both copies, stops the whole decoder.
      refusal: /^(boot sector|MFT record 0): /,
    });
  });
});
