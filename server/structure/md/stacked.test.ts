// Stacked decoding across disks, checked against md, LVM and e2fsprogs themselves. One
// guestfish run (the real Linux md/LVM/mkfs under TCG) builds 17 disks: RAID 5 over 4 + 1 spare
// partitions with ext4 on top (the issue's case), RAID 6, RAID 1 (metadata 1.0), RAID 10
// near=2 (metadata 0.90), LVM with ext4 and vfat volumes, and a GPT disk with vfat. It also
// downloads each array and volume as md/LVM assemble it: the ground truth the members' labels
// are compared with, byte for byte.

import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecodeResult } from '../decode.ts';
import type { Leaf } from '../flatten.ts';
import { FileSource } from '../file-source.ts';
import { StructureSnapshot } from '../snapshot.ts';
import { SliceSource } from '../source.ts';
import {
  applianceDiskBySize,
  decodeImages,
  dumpe2fs,
  fsckFat,
  parseRanges,
  readAt,
  run,
  sorted,
} from '../test-support.ts';
import { findMdSuperblock } from './superblock.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-stacked-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The disks, in guestfish's drive order (sda, sdb, …) and Blockscope disk numbers 1…17. */
const DISKS = [
  'r5-1',
  'r5-2',
  'r5-3',
  'r5-4',
  'r5-5',
  'r6-1',
  'r6-2',
  'r6-3',
  'r6-4',
  'r1-1',
  'r1-2',
  'r10-1',
  'r10-2',
  'r10-3',
  'r10-4',
  'lvm',
  'vfat',
];
const diskNo = (name: string) => DISKS.indexOf(name) + 1;
const img = (name: string) => join(dir, `${name}.img`);
const GPT_PART = 65536; // guestfish part-disk starts partition 1 at sector 128
const FILES = ['/big.bin', '/numbers.txt', '/hello.txt'];

/**
 * Disk sizes (MiB). The members that mdadm gets by name (guestfish's md-create cannot choose the
 * metadata version or the RAID 10 layout) each have a size of their own: inside the appliance
 * (debug sh) kernel names are not guestfish's names (the disks' scan order varies from boot to
 * boot), so those members are found by their size.
 */
const UNIQUE_SIZE_MIB: Record<string, number> = {
  'r1-1': 40,
  'r1-2': 41,
  'r10-1': 44,
  'r10-2': 45,
  'r10-3': 46,
  'r10-4': 47,
};
const sizeMiB = (d: string) => UNIQUE_SIZE_MIB[d] ?? (d.startsWith('r5') || d === 'lvm' || d === 'vfat' ? 64 : 32);

/** Shell words naming these disks' kernel devices in the appliance, found by size. */
const kernelDevs = (...names: string[]) => names.map((n) => applianceDiskBySize(UNIQUE_SIZE_MIB[n])).join(' ');

/**
 * A command run in the appliance once udev has settled, tried again a few times: udev's probe of
 * a whole disk that another array was just created beside can hold it for a moment, and mdadm
 * then fails with "Device or resource busy".
 */
const retried = (cmd: string) => `for i in 1 2 3 4 5; do udevadm settle; ${cmd} && exit 0; sleep 2; done; exit 1`;

const SCRIPT = (files: string) => `
${DISKS.map((d) => `add-drive ${img(d)} format:raw`).join('\n')}
run
${['a', 'b', 'c', 'd', 'e'].map((x) => `part-disk /dev/sd${x} gpt`).join('\n')}
md-create md0 "/dev/sda1 /dev/sdb1 /dev/sdc1 /dev/sdd1 /dev/sde1" level:raid5 nrdevices:4 spare:1
md-create r6 "/dev/sdf /dev/sdg /dev/sdh /dev/sdi" level:raid6 chunk:65536
debug sh "${retried(`mdadm --create /dev/md/r1 --run --metadata=1.0 --level=1 --raid-devices=2 ${kernelDevs('r1-1', 'r1-2')}`)}"
debug sh "${retried(`mdadm --create /dev/md/r10 --run --metadata=0.90 --level=10 --layout=n2 --chunk=64 --raid-devices=4 ${kernelDevs('r10-1', 'r10-2', 'r10-3', 'r10-4')}`)}"
debug sh "mdadm --wait /dev/md/md0 /dev/md/r6 /dev/md/r1 /dev/md/r10; true"
${[
  ['/dev/md/md0', ''],
  ['/dev/md/r6', ' blocksize:4096'],
  ['/dev/md/r1', ''],
  ['/dev/md/r10', ''],
]
  .map(
    ([dev, opt]) =>
      `mkfs ext4 ${dev}${opt}\nmount ${dev} /\n${FILES.map((f) => `upload ${files}${f} ${f}`).join('\n')}\numount-all`,
  )
  .join('\n')}
part-disk /dev/sdp gpt
pvcreate /dev/sdp1
vgcreate vg0 /dev/sdp1
lvcreate lv0 vg0 24
lvcreate lv1 vg0 16
mkfs ext4 /dev/vg0/lv0
mount /dev/vg0/lv0 /
${FILES.map((f) => `upload ${files}${f} ${f}`).join('\n')}
umount-all
part-disk /dev/sdq gpt
mkfs vfat /dev/sdq1
mount /dev/sdq1 /
mkdir-p /EFI/BOOT
upload ${files}/big.bin /EFI/BOOT/big.bin
upload ${files}/numbers.txt /numbers.txt
upload ${files}/hello.txt /hello.txt
umount-all
! echo LVM-BEGIN
debug sh "lvm pvs --units b --nosuffix --noheadings -o pv_name,pe_start,vg_extent_size; lvm lvs --segments --units b --nosuffix --noheadings -o lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges"
! echo LVM-END
sync
download /dev/md/md0 ${img('r5-array')}
download /dev/md/r6 ${img('r6-array')}
download /dev/md/r1 ${img('r1-array')}
download /dev/md/r10 ${img('r10-array')}
download /dev/vg0/lv0 ${img('lv0')}
`;

let decoded: DecodeResult;
let leaves: Leaf[][];
let lvmTruth = '';

before(async () => {
  const files = join(dir, 'files');
  run('mkdir', ['-p', files]);
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(files, 'big.bin'), big);
  writeFileSync(join(files, 'numbers.txt'), Array.from({ length: 30000 }, (_, i) => `${i}`).join('\n'));
  writeFileSync(join(files, 'hello.txt'), 'hello from the array\n');
  for (const d of DISKS) run('truncate', ['-s', `${sizeMiB(d)}M`, img(d)]);
  writeFileSync(join(dir, 'build.gf'), SCRIPT(files));
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  const out = run('guestfish', ['-f', join(dir, 'build.gf')], { env, timeoutMs: 600_000 });
  lvmTruth = out.slice(out.indexOf('LVM-BEGIN'), out.indexOf('LVM-END'));
  ({ result: decoded, leaves } = await decodeImages(DISKS.map(img)));
});

/** The array byte a member leaf holds, from its "data of md0 blocks A–B" / "copy of r1 block A" link. */
function arrayByte(leaf: Leaf, array: string): number | null {
  for (const c of leaf.chain) {
    const m = new RegExp(`^(?:data|copy) of ${array} blocks? (\\d+)`).exec(c.label);
    if (m) return Number(m[1]) * 4096 + Number(leaf.start % 4096n);
  }
  return null;
}

async function memberSb(name: string, part: number) {
  const src = await FileSource.open(img(name));
  try {
    return (await findMdSuperblock(new SliceSource(src, BigInt(part), src.size - BigInt(part))))!;
  } finally {
    await src.close();
  }
}

const roleOf = (leaf: Leaf) =>
  Number(/member \(role (\d+)\)/.exec(leaf.chain.map((c) => c.label).join(' '))?.[1] ?? -1);

interface ArrayCase {
  name: string;
  members: string[];
  partStart: number;
  arrayImage: string;
}

/** Every data leaf of every member holds exactly the array's bytes at the offset it names. */
function checkDataBytes(a: ArrayCase, copies = 1): void {
  let checked = 0;
  for (const m of a.members) {
    for (const leaf of leaves[diskNo(m) - 1]) {
      const at = arrayByte(leaf, a.name);
      if (at === null) continue;
      const len = Number(leaf.end - leaf.start);
      const mine = readAt(img(m), Number(leaf.start), len);
      const truth = readAt(a.arrayImage, at, len);
      assert.ok(
        mine.equals(truth),
        `${m} bytes ${leaf.start}+${len} should be ${a.name} bytes ${at}+${len} (${leaf.chain.map((c) => c.label).join(' › ')})`,
      );
      checked += len;
    }
  }
  // Every array byte is labelled once per copy, and nothing else is labelled as array data.
  assert.equal(checked, statSync(a.arrayImage).size * copies, `${a.name}: bytes labelled as array data`);
}

/** Array fs blocks of a file, as the members' leaves say (via their array offsets). */
function fileBlocksThroughMembers(a: ArrayCase, path: string, blockSize: number): number[] {
  const out = new Set<number>();
  for (const m of a.members)
    for (const leaf of leaves[diskNo(m) - 1]) {
      const label = leaf.chain.at(-1)!.label;
      if (!label.startsWith(`${path},`)) continue;
      const at = arrayByte(leaf, a.name)!;
      for (let b = Math.floor(at / blockSize); b * blockSize < at + Number(leaf.end - leaf.start); b++) out.add(b);
    }
  return sorted(out);
}

const R5: ArrayCase = {
  name: 'md0',
  members: ['r5-1', 'r5-2', 'r5-3', 'r5-4'],
  partStart: GPT_PART,
  arrayImage: img('r5-array'),
};
const R6: ArrayCase = {
  name: 'r6',
  members: ['r6-1', 'r6-2', 'r6-3', 'r6-4'],
  partStart: 0,
  arrayImage: img('r6-array'),
};
const R1: ArrayCase = { name: 'r1', members: ['r1-1', 'r1-2'], partStart: 0, arrayImage: img('r1-array') };
const R10: ArrayCase = {
  name: 'md124',
  members: ['r10-1', 'r10-2', 'r10-3', 'r10-4'],
  partStart: 0,
  arrayImage: img('r10-array'),
};

describe('md members', () => {
  it('every member superblock field agrees with mdadm --examine', async () => {
    assert.deepEqual(decoded.warnings, []);
    for (const [name, part] of DISKS.slice(0, 15).map((d) => [d, d.startsWith('r5') ? GPT_PART : 0] as const)) {
      const sb = await memberSb(name, part);
      const partImage = join(dir, `${name}.part`);
      run('dd', [`if=${img(name)}`, `of=${partImage}`, 'bs=64K', `skip=${part / 65536}`, 'status=none']);
      const ex = run('mdadm', ['--examine', partImage]);
      const field = (f: string) => new RegExp(`^\\s*${f} : (.*)$`, 'm').exec(ex)?.[1].trim();
      assert.equal(sb.version, field('Version')!.replace('0.90.00', '0.90'), name);
      assert.equal(sb.uuid, field('Array UUID') ?? field('UUID'), name);
      assert.equal(`raid${sb.level}`, field('Raid Level'), name);
      assert.equal(String(sb.raidDisks), field('Raid Devices'), name);
      assert.equal(String(sb.events), field('Events'), name);
      if (sb.level !== 1) assert.equal(`${sb.chunkBytes / 1024n}K`, field('Chunk Size'), name);
      if (sb.version !== '0.90') {
        assert.equal(`${sb.dataOffset / 512n} sectors`, field('Data Offset') ?? '0 sectors', name);
        assert.equal(`${sb.superOffset / 512n} sectors`, field('Super Offset'), name);
        const role = field('Device Role');
        assert.equal(sb.role === 'spare' ? 'spare' : `Active device ${sb.role}`, role, name);
      } else assert.match(ex, new RegExp(`^this\\s+\\d+\\s+\\d+\\s+\\d+\\s+${sb.role}\\s+active sync`, 'm'));
      // And the map puts that superblock where mdadm says it is.
      const at = BigInt(part) + sb.superOffset;
      const leaf = leaves[diskNo(name) - 1].find((l) => l.start <= at && at < l.end)!;
      assert.equal(leaf.kind, 'md-superblock', `${name}: ${leaf.chain.map((c) => c.label).join(' › ')}`);
    }
  });
});

describe('RAID 5 over 4 + 1 spare partitions, ext4 on top', () => {
  it('data chunks hold the array bytes they name; parity rotates as left-symmetric says and XORs to zero', () => {
    checkDataBytes(R5);
    const sb = { chunk: 512 * 1024, dataStart: GPT_PART + 4096 * 512 };
    const parity = new Map<number, number>();
    for (const m of R5.members)
      for (const leaf of leaves[diskNo(m) - 1].filter((l) => l.kind === 'parity')) {
        const stripe = Number(/parity \(P\) of stripe (\d+)/.exec(leaf.chain.at(-1)!.label)![1]);
        parity.set(stripe, roleOf(leaf));
        assert.equal(Number(leaf.start) - sb.dataStart, stripe * sb.chunk, 'parity chunk of stripe s is row s');
      }
    assert.ok(parity.size > 100, `${parity.size} stripes`);
    for (const [stripe, role] of parity) {
      // md-raid.md: left-symmetric puts parity of stripe s on role n-1 - (s mod n).
      assert.equal(role, 3 - (stripe % 4), `parity of stripe ${stripe}`);
      const acc = Buffer.alloc(sb.chunk);
      for (const m of R5.members) {
        const chunk = readAt(img(m), sb.dataStart + stripe * sb.chunk, sb.chunk);
        for (let i = 0; i < chunk.length; i++) acc[i] ^= chunk[i];
      }
      assert.ok(
        acc.every((x) => x === 0),
        `stripe ${stripe}: data XOR parity is not zero`,
      );
    }
    // The spare holds nothing yet, and says so.
    assert.ok(
      leaves[diskNo('r5-5') - 1].some((l) =>
        /md0 spare › data area \(idle spare\)/.test(l.chain.map((c) => c.label).join(' › ')),
      ),
    );
  });

  it("a member md failed (faulty in the others' superblocks) or one not on these disks: the array names the empty role", async () => {
    const arrayLabel = (r: DecodeResult) =>
      [...r.objects.values()].find((o) => o.kind === 'array' && o.label.startsWith('md0 '))!.label;
    const md0 = (r: DecodeResult) => r.arrays.find((a) => a.name === 'md0')!;
    assert.doesNotMatch(arrayLabel(decoded), /missing|not on these disks/);
    assert.deepEqual([md0(decoded).missing, md0(decoded).notFound], [[], []]);
    const gone = await memberSb('r5-3', GPT_PART);
    const role = gone.role as number;
    const rest = ['r5-1', 'r5-2', 'r5-4', 'r5-5'];
    // Blockscope's view: md still counts on r5-3, whose disk is not among these.
    const partial = (await decodeImages(rest.map(img))).result;
    assert.match(arrayLabel(partial), new RegExp(`4 members \\+ 1 spare, role ${role} not on these disks\\)$`));
    assert.deepEqual([md0(partial).missing, md0(partial).notFound], [[], [role]]);
    // md's view: failing r5-3 writes its role as faulty (0xfffe) into every other member's superblock.
    const failed = rest.map((m) => {
      const copy = join(dir, `failed-${m}.img`);
      copyFileSync(img(m), copy);
      const fd = openSync(copy, 'r+');
      const word = Buffer.alloc(2);
      word.writeUInt16LE(0xfffe);
      writeSync(fd, word, 0, 2, GPT_PART + 4096 + 256 + gone.devNumber * 2);
      closeSync(fd);
      return copy;
    });
    const degraded = (await decodeImages(failed)).result;
    assert.match(arrayLabel(degraded), new RegExp(`4 members \\+ 1 spare, degraded: role ${role} missing\\)$`));
    assert.deepEqual([md0(degraded).missing, md0(degraded).notFound], [[role], []]);
  });

  it('picking a file gives its blocks on every member and the parity chunks of exactly the stripes it touches', async () => {
    const sizes = new Map(DISKS.map((d, i) => [i + 1, BigInt(statSync(img(d)).size)]));
    const snap = new StructureSnapshot(decoded, sizes);
    const file = [...decoded.objects.values()].find((o) => o.label === '/big.bin' && o.id.startsWith('md:'))!;
    const picked = snap.objectBlocks(file.id);
    const chunk = 512 * 1024;
    const dataStart = GPT_PART + 4096 * 512;
    // The stripes its data lies in, from its leaves' positions on the members.
    const stripes = new Set<number>();
    for (const m of R5.members)
      for (const l of leaves[diskNo(m) - 1].filter((x) => x.chain.at(-1)!.label.startsWith('/big.bin,')))
        stripes.add(Math.floor((Number(l.start) - dataStart) / chunk));
    assert.ok(stripes.size >= 1);
    const expected = new Map<number, Array<[number, number]>>();
    for (const st of [...stripes].sort((a, b) => a - b)) {
      const disk = diskNo(R5.members[3 - (st % 4)]); // left-symmetric: role n-1 - (s mod n)
      const first = (dataStart + st * chunk) / 4096;
      expected.set(disk, [...(expected.get(disk) ?? []), [first, first + chunk / 4096]]);
    }
    for (const d of picked) {
      const want = expected.get(d.disk) ?? [];
      const merged = want.reduce<Array<[number, number]>>((o, r) => {
        const last = o[o.length - 1];
        if (last && last[1] === r[0]) last[1] = r[1];
        else o.push([...r]);
        return o;
      }, []);
      assert.deepEqual(d.parityRuns, merged, `disk ${d.disk}`);
    }
    const dataBlocks = picked.reduce((n, d) => n + d.runs.reduce((x, [a, b]) => x + b - a, 0), 0);
    assert.ok(dataBlocks >= Math.ceil(300_000 / 4096), `${dataBlocks} data blocks`);
  });

  it('files and ext4 structures seen through the members are where debugfs and dumpe2fs put them in the array', () => {
    const bs = 1024;
    for (const f of FILES) {
      const truth = parseRanges(run('debugfs', ['-R', `blocks ${f}`, R5.arrayImage]));
      assert.deepEqual(fileBlocksThroughMembers(R5, f, bs), sorted(truth), f);
    }
    const t = dumpe2fs(R5.arrayImage);
    const itables = new Set<number>();
    for (const m of R5.members)
      for (const leaf of leaves[diskNo(m) - 1].filter((l) => l.kind === 'inode-table')) {
        const at = arrayByte(leaf, 'md0')!;
        for (let b = at / bs; b < (at + Number(leaf.end - leaf.start)) / bs; b++) itables.add(b);
      }
    assert.deepEqual(sorted(itables), sorted(t.inodeTable));
    const chain = leaves[diskNo('r5-2') - 1].find((l) => l.kind === 'inode-table')!.chain.map((c) => c.label);
    assert.match(
      chain.join(' › '),
      /^GPT partition 1 "p1" › md0 member \(role 1\) › data of md0 blocks? \d+.* \(stripe \d+\) › ext4 › group \d+ › inode table$/,
    );
  });
});

describe('RAID 6, RAID 1 (metadata 1.0) and RAID 10 near=2 (metadata 0.90)', () => {
  it('RAID 6: P and Q rotate left-symmetric; P is the XOR of the data', async () => {
    const chunk = 64 * 1024;
    const dataStart = Number((await memberSb('r6-1', 0)).dataOffset); // as mdadm --examine says (test above)
    for (const m of R6.members)
      for (const leaf of leaves[diskNo(m) - 1].filter((l) => l.kind === 'parity')) {
        const [, pq, s] = /parity \((P|Q)\) of stripe (\d+)/.exec(leaf.chain.at(-1)!.label)!;
        const stripe = Number(s);
        const pd = 3 - (stripe % 4);
        assert.equal(roleOf(leaf), pq === 'P' ? pd : (pd + 1) % 4, `${pq} of stripe ${stripe}`);
        assert.equal(Number(leaf.start), dataStart + stripe * chunk);
        if (pq !== 'P') continue;
        const acc = Buffer.alloc(chunk);
        for (const other of R6.members) {
          if (roleOf(leaves[diskNo(other) - 1].find((l) => l.start === leaf.start)!) === (pd + 1) % 4) continue; // skip Q
          const b = readAt(img(other), Number(leaf.start), chunk);
          for (let i = 0; i < chunk; i++) acc[i] ^= b[i];
        }
        assert.ok(
          acc.every((x) => x === 0),
          `stripe ${stripe}: data XOR P is not zero`,
        );
      }
  });

  for (const a of [R6, R1, R10]) {
    it(`${a.name}: every member's data leaves hold the array bytes they name; three files are where debugfs says`, () => {
      checkDataBytes(a, a === R6 ? 1 : 2);
      const bs = a === R6 ? 4096 : 1024;
      for (const f of FILES) {
        const truth = parseRanges(run('debugfs', ['-R', `blocks ${f}`, a.arrayImage]));
        assert.deepEqual(fileBlocksThroughMembers(a, f, bs), sorted(truth), `${a.name}${f}`);
      }
    });
  }
});

describe('LVM and vfat', () => {
  it('the PV label, metadata area and each LV extent range are where pvs/lvs put them; lv0 holds ext4 with its files', () => {
    // The appliance's kernel name of the PV (not guestfish's /dev/sdp1: see UNIQUE_SIZE_MIB).
    const pv = /\/dev\/sd[a-z]+1\s+(\d+)\s+(\d+)/.exec(lvmTruth);
    assert.ok(pv, `no pvs output in:\n${lvmTruth}`);
    const [peStart, E] = [Number(pv[1]), Number(pv[2])];
    const disk = leaves[diskNo('lvm') - 1];
    const segments = [...lvmTruth.matchAll(/^\s*(lv\d)\s+(\d+)\s+(\d+)\s+\/dev\/sd[a-z]+1:(\d+)-(\d+)/gm)];
    assert.equal(segments.length, 2, `lv0 and lv1, one segment each, in:\n${lvmTruth}`);
    for (const m of segments) {
      const [, lv, , , first, last] = m;
      const start = BigInt(GPT_PART + peStart + Number(first) * E);
      const end = BigInt(GPT_PART + peStart + (Number(last) + 1) * E);
      const inside = disk.filter((l) => l.start >= start && l.end <= end);
      assert.ok(inside.length > 0 && inside[0].start === start && inside.at(-1)!.end === end, lv);
      for (const l of inside) {
        // "LV vg0/lv0 blocks 3–7 (PV extents 1–1)": where in the LV, and which PV extents.
        const m = l.chain
          .map((c) => /^LV vg0\/(lv\d) blocks? (\d+)(?:–\d+)? \(PV extents (\d+)–(\d+)\)$/.exec(c.label))
          .find(Boolean);
        assert.ok(m && m[1] === lv, l.chain.map((c) => c.label).join(' › '));
        assert.equal(BigInt(m[2]), (l.start - start) / 4096n, 'LV block');
        assert.ok(Number(m[3]) >= Number(first) && Number(m[4]) <= Number(last), 'PV extents');
      }
    }
    assert.ok(disk.some((l) => l.kind === 'volume-metadata' && l.chain.at(-1)!.label === 'LVM label (PV header)'));
    // lv0's files, through the PV: the LV's bytes are lv0.img's.
    const lvStart = GPT_PART + peStart;
    for (const f of FILES) {
      const truth = parseRanges(run('debugfs', ['-R', `blocks ${f}`, img('lv0')]));
      const mine = new Set<number>();
      for (const l of disk.filter((x) => x.chain.at(-1)!.label.startsWith(`${f},`))) {
        const at = Number(l.start) - lvStart;
        assert.ok(readAt(img('lvm'), Number(l.start), 1024).equals(readAt(img('lv0'), at, 1024)));
        for (let b = at / 1024; b < (at + Number(l.end - l.start)) / 1024; b++) mine.add(b);
      }
      assert.deepEqual(sorted(mine), sorted(truth), `lv0${f}`);
    }
  });

  it('vfat made by guestfish on a GPT partition: every cluster of three files where mshowfat puts it', () => {
    const disk = leaves[diskNo('vfat') - 1];
    const part = join(dir, 'vfat.part');
    run('dd', [`if=${img('vfat')}`, `of=${part}`, 'bs=64K', `skip=${GPT_PART / 65536}`, 'status=none']);
    const { dataStart, clusterBytes } = fsckFat(part);
    for (const f of ['/EFI/BOOT/big.bin', '/numbers.txt', '/hello.txt']) {
      const out = run('mshowfat', ['-i', part, `::${f}`]);
      const clusters = [...out.matchAll(/<(\d+)(?:-(\d+))?>/g)].flatMap((m) => parseRanges(`${m[1]}-${m[2] ?? m[1]}`));
      const truth = clusters.map((c) => GPT_PART + dataStart + (c - 2) * clusterBytes);
      const mine = disk
        .filter((l) => l.chain.at(-1)!.label.startsWith(`${f},`))
        .flatMap((l) =>
          Array.from({ length: Number(l.end - l.start) / clusterBytes }, (_, i) => Number(l.start) + i * clusterBytes),
        );
      assert.deepEqual(mine, truth, f);
      assert.equal(disk.find((l) => l.chain.at(-1)!.label.startsWith(`${f},`))!.chain[1].label, 'vfat (FAT16)');
    }
  });
});
