// The ISO 9660 decoder against xorriso: images made by `xorriso -as mkisofs` (Rock Ridge and
// Joliet, El Torito with a no-emulation boot image, an isohybrid MBR), by native xorriso with
// Joliet names only and with plain ISO names only. Every file's labelled extents must start
// where xorriso's report_lba puts them and hold the file's bytes at the labelled offsets; the
// boot catalog and boot image where -report_el_torito says; each descriptor labelled on a sector
// whose type byte is that descriptor's. Then damaged copies: a directory record running past its
// sector, an extent past the image, a directory loop, bad descriptors, a multi-extent file
// (made by hand: xorriso splits only files of 4 GiB), and 40 rounds of seeded random damage.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import {
  bytesByLabels,
  decodeImages,
  decodePatched,
  lastLabel,
  leafSpans,
  randomDamageRounds,
  readAt,
  run,
} from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-iso-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const src = join(dir, 'src');
const FILES: Record<string, Buffer> = {
  '/a.txt': Buffer.from('hello\n'),
  '/docs/big.bin': Buffer.alloc(3_000_000),
  '/docs/deep/A long Name with spaces.txt': Buffer.from('x\n'),
  '/docs/deep/deeper/x1.bin': Buffer.alloc(8192, 0x11),
  '/docs/deep/deeper/x2.bin': Buffer.alloc(5000, 0x22),
  '/boot/boot.img': Buffer.alloc(4096),
  // A directory of several sectors (records never cross one).
  ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`/many/file-${i}.txt`, Buffer.from(`${i}\n`)])),
};
const LONG_NAME = `${'n'.repeat(240)}.txt`;
const xorriso = (args: string[]) => run('xorriso', args, { timeoutMs: 60_000 });

/** report_lba: path → [lba of each extent, in extent order], and each extent's size. */
function reportLba(img: string): Map<string, Array<{ lba: number; size: number }>> {
  const out = new Map<string, Array<{ lba: number; size: number }>>();
  const text = xorriso(['-indev', img, '-find', '/', '-exec', 'report_lba', '--']);
  for (const m of text.matchAll(/File data lba:\s+(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+)\s*,\s*'(.*)'/g)) {
    const list = out.get(m[4]) ?? [];
    list[Number(m[1])] = { lba: Number(m[2]), size: Number(m[3]) };
    out.set(m[4], list);
  }
  assert.ok(out.size > 0, `report_lba listed nothing:\n${text}`);
  return out;
}

const fileLeaves = (leaves: Leaf[], path: string) => leaves.filter((l) => lastLabel(l).startsWith(`${path}, bytes `));

/** Every file xorriso lists: its first labelled byte where report_lba says, its bytes where the labels say. */
function checkFiles(img: string, leaves: Leaf[], r: DecodeResult, names: Map<string, string>) {
  const truth = reportLba(img);
  for (const [path, content] of Object.entries(FILES)) {
    const isoPath = names.get(path) ?? path;
    const extents = truth.get(isoPath);
    assert.ok(extents, `xorriso does not list ${isoPath}: ${[...truth.keys()].join(', ')}`);
    const mine = fileLeaves(leaves, isoPath);
    assert.ok(mine.length, `${isoPath}: no leaf labelled`);
    assert.equal(Number(mine[0].start), extents[0].lba * 2048, `${isoPath}: first extent`);
    const { bytes, placed } = bytesByLabels(img, leaves, r, isoPath, content.length);
    assert.equal(placed, content.length, `${isoPath}: bytes placed`);
    assert.ok(bytes.equals(content), `${isoPath}: bytes at the labelled offsets`);
  }
}

/** Each descriptor label is on a sector whose type byte (and "CD001") say that descriptor. */
function checkDescriptors(img: string, leaves: Leaf[], expected: string[]) {
  const types: Record<string, number> = {
    'primary volume': 1,
    'supplementary (Joliet)': 2,
    'boot record': 0,
    terminator: 255,
  };
  const found: string[] = [];
  for (const l of leaves.filter((x) => x.kind === 'superblock' && /descriptor|terminator/.test(lastLabel(x)))) {
    const sector = readAt(img, Number(l.start), 7);
    assert.equal(sector.toString('latin1', 1, 6), 'CD001', lastLabel(l));
    const key = Object.keys(types).find((k) => lastLabel(l).includes(k));
    assert.ok(key, lastLabel(l));
    assert.equal(sector[0], types[key], lastLabel(l));
    found.push(key);
  }
  assert.deepEqual(found, expected);
}

before(() => {
  for (const [path, content] of Object.entries(FILES)) {
    if (path === '/docs/big.bin' || path === '/boot/boot.img')
      for (let i = 0; i < content.length; i++) content[i] = (i * 7919 + (i >> 11)) & 0xff;
    mkdirSync(join(src, path, '..'), { recursive: true });
    writeFileSync(join(src, path), content);
  }
});

describe('ISO 9660 (xorriso -as mkisofs: Rock Ridge, Joliet, El Torito)', () => {
  const img = join(dir, 'rr.iso');
  let r: DecodeResult;
  let leaves: Leaf[];
  before(async () => {
    // A name too long for its record: Rock Ridge puts the rest in a continuation area (CE).
    mkdirSync(join(dir, 'long'));
    writeFileSync(join(dir, 'long', LONG_NAME), 'long\n');
    xorriso(
      ['-as', 'mkisofs', '-R', '-J', '-V', 'TESTVOL', '-b', 'boot/boot.img', '-no-emul-boot'].concat([
        '-boot-load-size',
        '4',
        '-o',
        img,
        '-graft-points',
        `/=${src}`,
        `/long/=${join(dir, 'long')}`,
      ]),
    );
    ({
      result: r,
      leaves: [leaves],
    } = await decodeImages([img]));
  });

  it('names the volume and has no warnings', () => {
    assert.deepEqual(r.warnings, []);
    assert.match(lastLabel(leaves[0]), /system area/);
    assert.equal(leaves[0].chain[0].label, 'ISO 9660 "TESTVOL"');
  });

  it('labels every file where report_lba puts it, its bytes at the labelled offsets (Rock Ridge names)', () =>
    checkFiles(img, leaves, r, new Map()));

  it('takes a Rock Ridge name from its continuation area when it does not fit the record', () => {
    const path = `/long/${LONG_NAME}`;
    const extents = reportLba(img).get(path);
    assert.ok(extents, 'xorriso lists the long name');
    const mine = fileLeaves(leaves, path);
    assert.equal(mine.length, 1, 'labelled under its whole name');
    assert.equal(Number(mine[0].start), extents[0].lba * 2048);
  });

  it('labels each volume descriptor on its own sector, in order', () =>
    checkDescriptors(img, leaves, ['primary volume', 'boot record', 'supplementary (Joliet)', 'terminator']));

  it('labels the El Torito boot catalog and boot image where -report_el_torito says', () => {
    const text = xorriso(['-indev', img, '-report_el_torito', 'plain']);
    const cat = Number(/El Torito catalog\s*:\s*(\d+)/.exec(text)![1]);
    const lba = Number(/El Torito boot img\s*:\s*1\s.*\s(\d+)\s*$/m.exec(text)![1]);
    const at = (b: number) => leaves.find((l) => l.start <= BigInt(b) && l.end > BigInt(b))!;
    assert.ok(
      at(cat * 2048).chain.some((c) => c.label === 'El Torito boot catalog'),
      'catalog',
    );
    assert.match(
      at(lba * 2048)
        .chain.map((c) => c.label)
        .join(' › '),
      /El Torito boot image 1 \(x86, no emulation\) › \/boot\/boot\.img, bytes 0–/,
    );
  });

  it('labels every directory of both trees and the path tables', () => {
    const dirs = leaves.filter((l) => l.kind === 'directory').map(lastLabel);
    for (const d of ['/', '/docs/', '/docs/deep/', '/docs/deep/deeper/', '/boot/', '/many/'])
      for (const tree of ['', ' (Joliet)']) assert.ok(dirs.includes(`directory ${d}${tree}`), `${d}${tree}`);
    assert.ok(dirs.includes('path table (L)') && dirs.includes('path table (M) (Joliet)'), dirs.join(', '));
  });

  it('survives 40 rounds of seeded random damage to its descriptors, directories and boot catalog', () =>
    randomDamageRounds({
      img,
      seed: 9660,
      name: 'ISO 9660',
      header: [32768, 34816],
      areas: [leafSpans(leaves, (l) => l.kind === 'directory'), leafSpans(leaves, (l) => l.kind === 'superblock')],
      refusal: /no primary volume descriptor/,
    }));
});

describe('ISO 9660 names: Joliet only, plain ISO only', () => {
  it('takes Joliet names when there is no Rock Ridge', async () => {
    const img = join(dir, 'joliet.iso');
    xorriso(['-rockridge', 'off', '-joliet', 'on', '-outdev', img, '-map', src, '/', '-commit']);
    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, []);
    checkFiles(img, leaves[0], result, new Map());
  });

  it('takes the ISO identifiers (";1" dropped) when there is neither', async () => {
    const img = join(dir, 'plain.iso');
    xorriso(['-rockridge', 'off', '-joliet', 'off', '-outdev', img, '-map', src, '/', '-commit']);
    const { result, leaves } = await decodeImages([img]);
    assert.deepEqual(result.warnings, []);
    const names = new Map(Object.keys(FILES).map((p) => [p, p.toUpperCase().replace(/[ -]/g, '_')]));
    checkFiles(img, leaves[0], result, names);
  });
});

/** Absolute offset of the record named `isoName` (as stored, e.g. "BIG.BIN;1") in the directory at block `lba`. */
function recordAt(img: Buffer, lba: number, isoName: string): number {
  const sector = img.subarray(lba * 2048, lba * 2048 + 2048);
  for (let at = 0; at < 2048 && sector[at]; at += sector[at])
    if (sector.toString('latin1', at + 33, at + 33 + sector[at + 32]) === isoName) return lba * 2048 + at;
  throw new Error(`no record ${isoName} in block ${lba}`);
}
const extentOf = (img: Buffer, record: number) => img.readUInt32LE(record + 2);
/** Block of the directory at `path` (ISO names) in the primary tree. */
function dirBlock(img: Buffer, ...path: string[]): number {
  let lba = img.readUInt32LE(32768 + 156 + 2);
  for (const name of path) lba = extentOf(img, recordAt(img, lba, name));
  return lba;
}

describe('ISO 9660 damaged, multi-extent, isohybrid', () => {
  const img = join(dir, 'base.iso');
  before(() => {
    xorriso(['-as', 'mkisofs', '-R', '-J', '-V', 'DAMAGE', '-o', img, src]);
  });
  const warned = (r: DecodeResult, re: RegExp) =>
    assert.ok(
      r.warnings.some((w) => re.test(w)),
      r.warnings.join('\n'),
    );
  const stillLabels = (leaves: Leaf[], path: string) =>
    assert.ok(fileLeaves(leaves, path).length, `${path} still labelled`);

  it('a directory record running past its sector: a warning, the rest decoded', async () => {
    const { result, leaves } = await decodePatched(dir, img, 'past-sector', (b) => {
      // The last record of /many's first sector: made to run 10 bytes past it.
      const root = dirBlock(b, 'MANY') * 2048;
      let last = root;
      for (let at = root; at < root + 2048 && b[at]; at += b[at]) last = at;
      b[last] = root + 2048 - last + 10;
    });
    warned(result, /directory \/many: a directory record at byte \d+ \(\d+ bytes\) runs past the end of its sector/);
    stillLabels(leaves, '/docs/big.bin');
  });

  it('an extent past the image: a warning, the other files decoded', async () => {
    const { result, leaves } = await decodePatched(dir, img, 'past-image', (b) => {
      b.writeUInt32LE(0x7fff0000, recordAt(b, dirBlock(b, 'DOCS'), 'BIG.BIN;1') + 2);
    });
    warned(result, /\/docs\/big\.bin: its extent \(block 2147418112, 3000000 bytes\) lies past the end of the image/);
    // The Joliet tree still has it where it is: labelled from there.
    const truth = reportLba(img).get('/docs/big.bin')!;
    assert.equal(Number(fileLeaves(leaves, '/docs/big.bin')[0].start), truth[0].lba * 2048);
    stillLabels(leaves, '/a.txt');
  });

  it('a directory that is its own ancestor: a loop, named, not followed', async () => {
    const { result, leaves } = await decodePatched(dir, img, 'loop', (b) => {
      const rec = recordAt(b, dirBlock(b, 'DOCS', 'DEEP'), 'DEEPER');
      b.writeUInt32LE(dirBlock(b, 'DOCS'), rec + 2);
    });
    warned(result, /directory \/docs\/deep\/deeper is the extent of \/docs again .*a loop/);
    stillLabels(leaves, '/docs/deep/A long Name with spaces.txt');
  });

  it('a damaged supplementary descriptor ends the set with a warning; a missing primary one leaves it recognised only', async () => {
    const joliet = await decodePatched(dir, img, 'bad-svd', (b) => b.write('XXXXX', 18 * 2048 + 1, 'latin1'));
    warned(joliet.result, /sector 18 is not a volume descriptor/);
    stillLabels(joliet.leaves, '/docs/big.bin');
    const primary = await decodePatched(dir, img, 'bad-pvd', (b) => {
      b[16 * 2048] = 7;
    });
    warned(primary.result, /no primary volume descriptor/);
    assert.equal(primary.leaves[0].chain[0].label, 'ISO 9660 (not decoded)');
  });

  it('a multi-extent file: both extents, at their file offsets, as xorriso reads it', async () => {
    const plain = join(dir, 'plain-multi.iso');
    xorriso(['-rockridge', 'off', '-joliet', 'off', '-outdev', plain, '-map', src, '/', '-commit']);
    const { copy, result, leaves } = await decodePatched(dir, plain, 'multi', (b) => {
      const deeper = dirBlock(b, 'DOCS', 'DEEP', 'DEEPER');
      b[recordAt(b, deeper, 'X1.BIN;1') + 25] |= 0x80;
      b.write('X1.BIN;1', recordAt(b, deeper, 'X2.BIN;1') + 33, 'latin1');
    });
    const path = '/DOCS/DEEP/DEEPER/X1.BIN';
    const extents = reportLba(copy).get(path)!;
    assert.equal(extents.length, 2, 'xorriso reads two extents');
    const mine = fileLeaves(leaves, path);
    assert.deepEqual(
      mine.map((l) => [Number(l.start), lastLabel(l)]),
      [
        [extents[0].lba * 2048, `${path}, bytes 0–8191`],
        [extents[1].lba * 2048, `${path}, bytes 8192–13191`],
      ],
    );
    const whole = Buffer.concat([FILES['/docs/deep/deeper/x1.bin'], FILES['/docs/deep/deeper/x2.bin']]);
    assert.ok(bytesByLabels(copy, leaves, result, path, whole.length).bytes.equals(whole));
  });

  it('an isohybrid image: the ISO 9660 volume, its MBR named in the system area', async () => {
    const hybrid = join(dir, 'hybrid.iso');
    xorriso(['-as', 'mkisofs', '-R', '-J', '-V', 'HYBRID', '-o', hybrid, src]);
    // xorriso's -isohybrid-mbr wants syslinux's isohdpfx.bin and an isolinux boot image; the
    // table it writes is made here by hand: partition 1, bootable, type 0x17, from sector 0
    // over the whole image (as isohybrid and xorriso make it).
    const b = readFileSync(hybrid);
    b[446] = 0x80;
    b[446 + 4] = 0x17;
    b.writeUInt32LE(0, 446 + 8);
    b.writeUInt32LE(b.length / 512, 446 + 12);
    b.writeUInt16LE(0xaa55, 510);
    writeFileSync(hybrid, b);
    const table = JSON.parse(run('sfdisk', ['-J', hybrid])).partitiontable.partitions;
    assert.equal(table[0].start, 0, 'sfdisk: partition 1 starts at sector 0');
    const { result, leaves } = await decodeImages([hybrid]);
    assert.deepEqual(result.warnings, []);
    assert.equal(leaves[0][0].chain[0].label, 'ISO 9660 "HYBRID"');
    assert.equal(
      lastLabel(leaves[0][0]),
      `isohybrid MBR (boot code + partition 1 (type 0x${table[0].type}, sectors 0–${table[0].size - 1}))`,
    );
    checkFiles(hybrid, leaves[0], result, new Map());

    // With no primary descriptor the volume is not decodable: then the MBR is what the image
    // has, its partition 1 from sector 0 holding the recognised-only ISO.
    const broken = await decodePatched(dir, hybrid, 'hybrid-no-pvd', (x) => {
      x[16 * 2048] = 7;
    });
    assert.ok(
      broken.result.warnings.some((w) => /MBR partition 1 starts at sector 0/.test(w)),
      broken.result.warnings.join('\n'),
    );
    assert.equal(lastLabel(broken.leaves[0]), 'MBR (boot code + partition table)');
    assert.deepEqual(
      broken.leaves[1].chain.map((c) => c.label),
      ['MBR partition 1', 'ISO 9660 (not decoded)'],
    );
  });
});
