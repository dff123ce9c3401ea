// md layouts beyond the stacked test's, checked against arrays the real Linux md builds (one
// guestfish run under TCG): RAID 0 with v1 metadata (its superblock leaves the used size at 0),
// RAID 6 with Q on the last member (left-symmetric-6, what a RAID 5 → 6 reshape leaves),
// RAID 10 near=2 over 3 members (an odd number of rows leaves half a row unused), and RAID 10
// far=2, which is not mapped and must say so. Each array is filled with random bytes and
// downloaded as md assembles it: every member byte labelled "data of <array> block N" must be
// that array byte.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import { decodeImages, readAt, run } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-md-layouts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DISKS = 4;
const disk = (d: number) => join(dir, `d${d}.img`);
const arrayImage = (name: string) => join(dir, `${name}.array`);
const PART_SECTORS = 12 * 2048;
/** Partition p (1-based) of every disk, in sectors: each array uses the same partition number. */
const partStart = (p: number) => 2048 + (p - 1) * PART_SECTORS;

interface ArrayCase {
  name: string;
  part: number;
  members: number;
  create: string;
}
const ARRAYS: ArrayCase[] = [
  { name: 'r0', part: 1, members: 3, create: '--metadata=1.2 --level=0 --chunk=16' },
  { name: 'r6q', part: 2, members: 4, create: '--metadata=1.2 --level=6 --chunk=64 --layout=left-symmetric-6' },
  { name: 'r10n', part: 3, members: 3, create: '--metadata=1.0 --level=10 --chunk=32 --layout=n2' },
  { name: 'r10f', part: 4, members: 4, create: '--metadata=1.2 --level=10 --chunk=64 --layout=f2' },
];

/** Members by GPT partition name (kernel disk names in the appliance vary from boot to boot). */
const memberDevs = (a: ArrayCase) =>
  Array.from({ length: a.members }, (_, i) => `/dev/disk/by-partlabel/${a.name}-${i + 1}`).join(' ');

const SCRIPT = `
${Array.from({ length: DISKS }, (_, i) => `add-drive ${disk(i + 1)} format:raw`).join('\n')}
run
${Array.from({ length: DISKS }, (_, i) => `part-init /dev/sd${'abcd'[i]} gpt`).join('\n')}
${ARRAYS.flatMap((a) =>
  // Every disk gets every partition (so partition numbers match); members are named after their array.
  Array.from({ length: DISKS }, (_, i) => {
    const dev = `/dev/sd${'abcd'[i]}`;
    const s = partStart(a.part);
    const name = i < a.members ? `${a.name}-${i + 1}` : 'unused';
    return `part-add ${dev} p ${s} ${s + PART_SECTORS - 1}\npart-set-name ${dev} ${a.part} ${name}`;
  }),
).join('\n')}
${ARRAYS.map(
  (a) =>
    `debug sh "for i in 1 2 3 4 5; do udevadm settle; mdadm --create /dev/md/${a.name} --run ${a.create} --raid-devices=${a.members} ${memberDevs(a)} && exit 0; sleep 2; done; exit 1"`,
).join('\n')}
debug sh "mdadm --wait ${ARRAYS.map((a) => `/dev/md/${a.name}`).join(' ')}; true"
debug sh "for a in ${ARRAYS.map((a) => a.name).join(' ')}; do dd if=/dev/urandom of=/dev/md/$a bs=64k 2>/dev/null; done; sync; true"
${ARRAYS.map((a) => `download /dev/md/${a.name} ${arrayImage(a.name)}`).join('\n')}
`;

let decoded: DecodeResult;
let leaves: Leaf[][];

before(async () => {
  for (let d = 1; d <= DISKS; d++) run('truncate', ['-s', '64M', disk(d)]);
  writeFileSync(join(dir, 'build.gf'), SCRIPT);
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  run('guestfish', ['-f', join(dir, 'build.gf')], { env, timeoutMs: 600_000 });
  ({ result: decoded, leaves } = await decodeImages(Array.from({ length: DISKS }, (_, i) => disk(i + 1))));
});

const chainText = (l: Leaf) => l.chain.map((c) => c.label).join(' › ');

/** The array byte a member leaf holds, from its "data of r0 blocks A–B" link. */
function arrayByte(leaf: Leaf, array: string): number | null {
  for (const c of leaf.chain) {
    const m = new RegExp(`^data of ${array} blocks? (\\d+)`).exec(c.label);
    if (m) return Number(m[1]) * 4096 + Number(leaf.start % 4096n);
  }
  return null;
}

/** Every data leaf holds the array bytes it names; every array byte is labelled once per copy. */
function checkDataBytes(a: ArrayCase, copies: number): void {
  let checked = 0;
  for (let d = 1; d <= a.members; d++)
    for (const leaf of leaves[d - 1]) {
      const at = arrayByte(leaf, a.name);
      if (at === null) continue;
      const len = Number(leaf.end - leaf.start);
      assert.ok(
        readAt(disk(d), Number(leaf.start), len).equals(readAt(arrayImage(a.name), at, len)),
        `disk ${d} bytes ${leaf.start}+${len} should be ${a.name} bytes ${at}+${len} (${chainText(leaf)})`,
      );
      checked += len;
    }
  assert.equal(checked, statSync(arrayImage(a.name)).size * copies, `${a.name}: bytes labelled as array data`);
}

describe('md layouts', () => {
  it('RAID 0 (v1.2, its superblock has no used size): every member chunk is the array data it names', () => {
    checkDataBytes(ARRAYS[0], 1);
  });

  it('RAID 6 left-symmetric-6: data where md puts it, Q always on the last member, P the XOR of the data', () => {
    const a = ARRAYS[1];
    checkDataBytes(a, 1);
    const chunk = 64 * 1024;
    const parity = leaves.flatMap((l, d) =>
      l
        .filter((x) => x.kind === 'parity' && chainText(x).includes(`${a.name} member`))
        .map((x) => ({ d: d + 1, leaf: x, m: /parity \((P|Q)\) of stripe (\d+)/.exec(chainText(x))! })),
    );
    assert.ok(parity.length > 100, `${parity.length} parity leaves`);
    for (const { d, leaf, m } of parity) {
      const stripe = Number(m[2]);
      if (m[1] === 'Q') {
        assert.equal(d, 4, `Q of stripe ${stripe} is on the last member`);
        continue;
      }
      // Parity rotates over the first three members only (period 3, not 4).
      assert.equal(d, 1 + (2 - (stripe % 3)), `P of stripe ${stripe}`);
      // Same partitions, same data offset: row r is at the same disk offset on every member.
      const row = Number(leaf.start - (leaf.start % BigInt(chunk)));
      const acc = Buffer.alloc(chunk);
      for (const member of [1, 2, 3]) {
        const c = readAt(disk(member), row, chunk);
        for (let i = 0; i < chunk; i++) acc[i] ^= c[i];
      }
      assert.ok(
        acc.every((x) => x === 0),
        `stripe ${stripe}: data XOR P is not zero`,
      );
    }
  });

  it('RAID 10 near=2 over 3 members with an odd row count: the last half row is unused, not data', () => {
    const a = ARRAYS[2];
    checkDataBytes(a, 2);
    assert.ok(
      leaves
        .slice(0, 3)
        .some((l) => l.some((x) => chainText(x).includes('r10n member') && chainText(x).endsWith('› unused'))),
      'the unused half row is labelled',
    );
  });

  it('RAID 10 far=2: not mapped, and the warning and the members say why (not "not assembled")', () => {
    assert.ok(decoded.warnings.includes('r10f: RAID 10 layout far=2 is not mapped (only near copies are)'));
    for (let d = 1; d <= 4; d++) {
      const area = leaves[d - 1].filter((l) => chainText(l).includes('r10f member'));
      assert.ok(
        area.some((l) =>
          chainText(l).endsWith('r10f data area (RAID 10 layout far=2 is not mapped (only near copies are))'),
        ),
        `disk ${d}: ${area.map(chainText).join('; ')}`,
      );
      assert.ok(!area.some((l) => /not assembled|data of r10f/.test(chainText(l))));
    }
  });
});
