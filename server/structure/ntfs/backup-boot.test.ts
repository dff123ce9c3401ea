// NTFS decoded from its backup boot sector when sector 0 is refused. mkntfs makes a small volume
// and ntfscp puts files in it (no guestfish run); then sector 0 is damaged (a field that
// contradicts the rest, or the 0xAA55 signature) and every label but sector 0's must be what the
// undamaged volume has, and what the volume has after ntfsfix rewrote sector 0 from the same
// backup (ntfs-3g's own fallback: "Trying the alternate boot sector"). Also inside an MBR
// partition (the backup is the partition's last sector), in a volume shorter than its space (the
// backup is where sector 0's TotalSectors says, not the space's last sector), and with both
// boot sectors damaged (refused, as before).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Leaf } from '../flatten.ts';
import { decodeImages, decodePatched, lastLabel, run } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-ntfs-backup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1 << 20;
const SIZE = 16 * MiB;
const vol = join(dir, 'volume.img');
/** The same volume, mkntfs told 30000 sectors of a 16 MiB file: TotalSectors 29999, the backup in sector 29999, not the file's last. */
const short = join(dir, 'short.img');
/** A 24 MiB disk whose MBR partition 1 (sectors 2048–34815) holds the volume. */
const disk = join(dir, 'disk.img');
const START = 2048 * 512;

/** Each leaf as [start, end, label], the boot sector's label replaced: what must not change. */
const labels = (ls: Leaf[], shift = 0): Array<[number, number, string]> =>
  ls.map((l) => [
    Number(l.start) - shift,
    Number(l.end) - shift,
    lastLabel(l).replace(/^boot sector \(refused\)$/, 'boot sector'),
  ]);

const TOTAL_SECTORS: (at: number) => (b: Buffer) => void = (at) => (b) => b.writeBigUInt64LE(1n << 40n, at + 40);
const NO_SIGNATURE: (at: number) => (b: Buffer) => void = (at) => (b) => b.writeUInt16LE(0, at + 510);
const TOTAL_WHY = 'TotalSectors 1099511627776 runs past the end of the space';

let good: Leaf[];

function mkntfs(img: string, label: string, sectors?: number, partitionStart = 0) {
  run('truncate', ['-s', String(SIZE), img]);
  run('mkntfs', [
    '-q',
    '-F',
    '-Q',
    '-L',
    label,
    '-p',
    String(partitionStart),
    img,
    ...(sectors ? [String(sectors)] : []),
  ]);
  for (const [name, size] of [
    ['a.bin', 70_000],
    ['b.bin', 300_000],
  ] as const) {
    const local = join(dir, `${label}-${name}`);
    writeFileSync(local, randomBytes(size));
    run('ntfscp', ['-q', img, local, `/${name}`]);
  }
}

before(async () => {
  mkntfs(vol, 'BACKUP');
  mkntfs(short, 'SHORT', 30000);
  // The partition's volume: mkntfs told its start (as on a real partition), then copied in.
  const part = join(dir, 'part.img');
  mkntfs(part, 'INPART', undefined, 2048);
  run('truncate', ['-s', '24M', disk]);
  run('sfdisk', ['-q', disk], { input: 'label: dos\nstart=2048, size=32768, type=7\n' });
  const fd = openSync(disk, 'r+');
  writeSync(fd, readFileSync(part), 0, SIZE, START);
  closeSync(fd);
  good = (await decodeImages([vol])).leaves[0];
});

describe('NTFS whose boot sector is refused, decoded from its backup', () => {
  it('a field contradicting the rest: the backup in the last sector is used, every other label as undamaged and as after ntfsfix', async () => {
    const d = await decodePatched(dir, vol, 'total-sectors', TOTAL_SECTORS(0));
    assert.deepEqual(d.result.warnings, [
      `NTFS on disk 1: the boot sector is refused (${TOTAL_WHY}): the backup boot sector in the last sector of the space is used`,
    ]);
    assert.equal(d.leaves[0].chain[0].label, 'NTFS "BACKUP"');
    assert.equal(lastLabel(d.leaves.find((l) => l.start === 0n)!), 'boot sector (refused)');
    assert.equal(lastLabel(d.leaves.find((l) => l.end === BigInt(SIZE))!), 'backup boot sector');
    assert.deepEqual(labels(d.leaves), labels(good));
    // ntfs-3g's own repair takes the same backup: sector 0 rewritten as mkntfs made it.
    const fixed = join(dir, 'fixed.img');
    writeFileSync(fixed, readFileSync(d.copy));
    assert.match(run('ntfsfix', [fixed]), /The alternate bootsector is usable/);
    assert.ok(readFileSync(fixed).subarray(0, 512).equals(readFileSync(vol).subarray(0, 512)));
    const repaired = await decodeImages([fixed]);
    assert.deepEqual(repaired.result.warnings, []);
    assert.deepEqual(labels(d.leaves), labels(repaired.leaves[0]));
  });

  it('the 0xAA55 signature missing: the backup is used', async () => {
    const d = await decodePatched(dir, vol, 'no-signature', NO_SIGNATURE(0));
    assert.deepEqual(d.result.warnings, [
      'NTFS on disk 1: the boot sector is refused (boot signature 0xAA55 missing): the backup boot sector in the last sector of the space is used',
    ]);
    assert.deepEqual(labels(d.leaves), labels(good));
  });

  it('inside an MBR partition: the backup is the partition’s last sector; labels are the volume’s own, shifted', async () => {
    const whole = (await decodeImages([disk])).leaves[0];
    const d = await decodePatched(dir, disk, 'in-partition', TOTAL_SECTORS(START));
    assert.deepEqual(d.result.warnings, [
      `NTFS on MBR partition 1 of disk 1: the boot sector is refused (${TOTAL_WHY}): the backup boot sector in the last sector of the space is used`,
    ]);
    const inside = (ls: Leaf[]) => ls.filter((l) => l.start >= BigInt(START) && l.end <= BigInt(START + SIZE));
    assert.equal(lastLabel(d.leaves.find((l) => l.start === BigInt(START))!), 'boot sector (refused)');
    assert.equal(lastLabel(d.leaves.find((l) => l.end === BigInt(START + SIZE))!), 'backup boot sector');
    assert.deepEqual(labels(inside(d.leaves), START), labels(inside(whole), START));
    assert.deepEqual(
      labels(d.leaves).filter(([s]) => s < START || s >= START + SIZE),
      labels(whole).filter(([s]) => s < START || s >= START + SIZE),
      'outside the partition nothing changes',
    );
    assert.ok(inside(whole).length > 10, 'the volume is decoded in its partition');
  });

  it('a volume shorter than its space: the backup where sector 0’s TotalSectors puts it', async () => {
    const undamaged = (await decodeImages([short])).leaves[0];
    assert.equal(lastLabel(undamaged.find((l) => l.start === 29999n * 512n)!), 'backup boot sector');
    const d = await decodePatched(dir, short, 'short', NO_SIGNATURE(0));
    assert.deepEqual(d.result.warnings, [
      'NTFS on disk 1: the boot sector is refused (boot signature 0xAA55 missing): the backup boot sector in sector 29999 (after the volume sector 0 declares) is used',
    ]);
    assert.deepEqual(labels(d.leaves), labels(undamaged));
  });

  it('both boot sectors refused: the disk is "NTFS (not decoded)", the warning gives both reasons', async () => {
    const d = await decodePatched(dir, vol, 'both', (b) => {
      TOTAL_SECTORS(0)(b);
      NO_SIGNATURE(SIZE - 512)(b);
    });
    assert.equal(d.leaves[0].chain[0].label, 'NTFS (not decoded)');
    assert.ok(
      d.result.warnings.some((w) =>
        w.endsWith(
          `boot sector: ${TOTAL_WHY}; backup boot sector: the one in the last sector of the space: boot signature 0xAA55 missing`,
        ),
      ),
      d.result.warnings.join('\n'),
    );
  });
});
