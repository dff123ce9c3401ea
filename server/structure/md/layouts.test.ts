// md layouts beyond the stacked test's, checked against arrays the real Linux md builds (one
// guestfish run under TCG): RAID 0 with v1 metadata (its superblock leaves the used size at 0),
// RAID 0 over members of different sizes (md's zones, in both zone layouts), RAID 6 with Q on
// the last member (left-symmetric-6, what a RAID 5 → 6 reshape leaves), RAID 10 near=2 over 3
// members (an odd number of rows leaves half a row unused), and RAID 10 far and offset copies
// over 2, 3 and 4 members, one of them degraded. Each array is filled with random bytes and
// downloaded as md assembles it: every member byte labelled "data of <array> block N" must be
// that array byte, and every array byte must be labelled once per copy.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import { applianceDiskBySize, decodeImages, readAt, run } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-md-layouts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DISKS = 4;
const disk = (d: number) => join(dir, `d${d}.img`);
const arrayImage = (name: string) => join(dir, `${name}.array`);

interface ArrayCase {
  name: string;
  members: number;
  create: string;
  /** Each member's partition in MiB (12 each unless given). */
  mib?: number[];
  /** Created without its last member (md runs it degraded). */
  degraded?: boolean;
}
// Far and offset arrays are small and made --assume-clean (every byte is written afterwards): CI time.
const far = (name: string, members: number, layout: string, chunk = 64, degraded = false): ArrayCase => ({
  name,
  members,
  create: `--metadata=1.2 --level=10 --chunk=${chunk} --layout=${layout} --assume-clean`,
  mib: Array<number>(members).fill(5),
  degraded,
});
const ARRAYS: ArrayCase[] = [
  { name: 'r0', members: 3, create: '--metadata=1.2 --level=0 --chunk=16' },
  { name: 'r6q', members: 4, create: '--metadata=1.2 --level=6 --chunk=64 --layout=left-symmetric-6' },
  { name: 'r10n', members: 3, create: '--metadata=1.0 --level=10 --chunk=32 --layout=n2' },
  far('r10f', 4, 'f2'),
  far('r10f2', 2, 'f2'),
  far('r10f3', 3, 'f2', 32),
  far('r10f34', 4, 'f3'),
  far('r10o2', 2, 'o2'),
  far('r10o3', 3, 'o2', 32),
  far('r10o34', 4, 'o3'),
  far('r10fd', 3, 'f2', 64, true),
  // Data areas of 3, 5 and 7 MiB: zones of 3 × 3, 2 × 2 and 1 × 2 MiB.
  { name: 'r0z', members: 3, create: '--metadata=1.2 --level=0 --chunk=64 --layout=original', mib: [4, 6, 8] },
  // The largest first: the second zone is members 1 and 3, where the two layouts differ.
  { name: 'r0za', members: 3, create: '--metadata=1.0 --level=0 --chunk=32 --layout=alternate', mib: [8, 4, 6] },
];
const byName = (name: string) => ARRAYS.find((a) => a.name === name)!;

/** Array i's partition (number i + 1 on every disk) in MiB: its largest member's. */
const partMiB = (a: ArrayCase) => Math.max(...(a.mib ?? [12]));
/** Where partition i + 1 starts on every disk, in sectors: each array uses the same partition number. */
const partStart = (i: number) => 2048 + ARRAYS.slice(0, i).reduce((sum, a) => sum + partMiB(a) * 2048, 0);
/** Disk d is DISK_MIB + d MiB: a size of its own, so that `debug sh` can find it (applianceDiskBySize). */
const DISK_MIB = Math.ceil(partStart(ARRAYS.length) / 2048) + 1;
const diskMiB = (d: number) => DISK_MIB + d;

/** sfdisk's script for disk d, one word a line: every array's partition (so numbers match), named after its member. */
const partitionScript = (d: number) =>
  [
    'label:gpt',
    ...ARRAYS.map((a, p) => {
      const member = d <= a.members;
      const mib = member ? (a.mib?.[d - 1] ?? partMiB(a)) : partMiB(a);
      return `start=${partStart(p)},size=${mib * 2048},name=${member ? `${a.name}-${d}` : 'unused'}`;
    }),
  ].join(' ');

/** Create an array, retrying while udev is still making the by-partlabel links. */
const create = (a: ArrayCase) =>
  `for i in 1 2 3 4 5; do udevadm settle; mdadm --create /dev/md/${a.name} --run ${a.create} --raid-devices=${a.members} ${memberDevs(a)} && break; [ $i = 5 ] && exit 1; sleep 2; done`;

/** Members by GPT partition name (kernel disk names in the appliance vary from boot to boot). */
const memberDevs = (a: ArrayCase) =>
  Array.from({ length: a.members }, (_, i) =>
    a.degraded && i === a.members - 1 ? 'missing' : `/dev/disk/by-partlabel/${a.name}-${i + 1}`,
  ).join(' ');

// One sfdisk and one mdadm call per disk and array, in as few appliance calls as possible: each
// guestfish command costs seconds under TCG.
const SCRIPT = `
${Array.from({ length: DISKS }, (_, i) => `add-drive ${disk(i + 1)} format:raw`).join('\n')}
run
debug sh "${Array.from({ length: DISKS }, (_, i) => `for l in ${partitionScript(i + 1)}; do echo $l; done | sfdisk -q ${applianceDiskBySize(diskMiB(i + 1))}`).join(' && ')}"
debug sh "${ARRAYS.map(create).join('; ')}"
debug sh "mdadm --wait ${ARRAYS.map((a) => `/dev/md/${a.name}`).join(' ')}; true"
debug sh "for a in ${ARRAYS.map((a) => a.name).join(' ')}; do dd if=/dev/urandom of=/dev/md/$a bs=64k 2>/dev/null; done; sync; true"
${ARRAYS.map((a) => `download /dev/md/${a.name} ${arrayImage(a.name)}`).join('\n')}
`;

let decoded: DecodeResult;
let leaves: Leaf[][];

before(async () => {
  for (let d = 1; d <= DISKS; d++) run('truncate', ['-s', `${diskMiB(d)}M`, disk(d)]);
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

/**
 * Every data leaf holds the array bytes it names; every array byte is labelled once per copy
 * (a degraded array: at least once, on the members it has).
 */
function checkDataBytes(a: ArrayCase, copies: number): void {
  let checked = 0;
  const size = statSync(arrayImage(a.name)).size;
  const labelled = new Set<number>();
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
      for (let b = at; b < at + len; b += 4096) labelled.add(Math.floor(b / 4096));
    }
  assert.equal(labelled.size, size / 4096, `${a.name}: array blocks labelled`);
  if (!a.degraded) assert.equal(checked, size * copies, `${a.name}: bytes labelled as array data`);
}

/** The array's own label (its object in the decode). */
const arrayLabel = (name: string) =>
  [...decoded.objects.values()].find((o) => o.kind === 'array' && o.label.startsWith(`${name} `))?.label;

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

  for (const [name, copies, layout] of [
    ['r10f', 2, 'far=2'],
    ['r10f2', 2, 'far=2'],
    ['r10f3', 2, 'far=2'],
    ['r10f34', 3, 'far=3'],
    ['r10o2', 2, 'offset=2'],
    ['r10o3', 2, 'offset=2'],
    ['r10o34', 3, 'offset=3'],
  ] as const) {
    const a = byName(name);
    it(`RAID 10 ${layout} over ${a.members} members: every copy of every chunk where md puts it`, () => {
      assert.match(arrayLabel(name) ?? '', new RegExp(`^${name} \\(RAID 10, ${layout}, ${a.members} members\\)$`));
      checkDataBytes(a, copies);
    });
  }

  it('RAID 10 far=2 with a member missing: the array says it is degraded, the members it has are mapped', () => {
    assert.equal(arrayLabel('r10fd'), 'r10fd (RAID 10, far=2, 3 members, degraded: role 2 missing)');
    checkDataBytes(byName('r10fd'), 2);
  });

  for (const [name, layout] of [
    ['r0z', 'original'],
    ['r0za', 'alternate'],
  ] as const)
    it(`RAID 0 over members of different sizes (zones, ${layout} layout): every member chunk is the array data it names`, () => {
      assert.ok(!decoded.warnings.some((w) => w.startsWith(`${name}:`)), decoded.warnings.join('; '));
      assert.equal(arrayLabel(name), `${name} (RAID 0, ${layout}, 3 members)`);
      checkDataBytes(byName(name), 1);
    });
});
