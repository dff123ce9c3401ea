// Helpers for the structure tests: run the real tools (their answers are the ground truth),
// decode image files, and turn decoded leaves into sets of filesystem blocks to compare.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeDisks, leavesOf, type DecodeOptions, type DecodeResult } from './decode.ts';
import { linkBelongsTo } from '../shared/structure.ts';
import type { Leaf } from './flatten.ts';
import { FileSource } from './file-source.ts';
import type { ByteSource } from './source.ts';

/** Which Debian package provides each tool the tests run. */
const PACKAGES: Record<string, string> = {
  sfdisk: 'fdisk',
  sgdisk: 'gdisk',
  parted: 'parted',
  mke2fs: 'e2fsprogs',
  dumpe2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  'mkfs.vfat': 'dosfstools',
  'fsck.fat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mshowfat: 'mtools',
  mdadm: 'mdadm',
  'mkfs.btrfs': 'btrfs-progs',
  'mkfs.xfs': 'xfsprogs',
  xfs_db: 'xfsprogs',
  xfs_io: 'xfsprogs',
  setfattr: 'attr',
  mount: 'mount',
  umount: 'mount',
  'mkfs.ntfs': 'ntfs-3g',
  mkntfs: 'ntfs-3g',
  ntfscp: 'ntfs-3g',
  ntfscluster: 'ntfs-3g',
  ntfsinfo: 'ntfs-3g',
  'mkfs.exfat': 'exfatprogs',
  'fsck.exfat': 'exfatprogs',
  'dump.exfat': 'exfatprogs',
  mkswap: 'util-linux',
  wipefs: 'util-linux',
  guestfish: 'libguestfs-tools',
  truncate: 'coreutils',
  xorriso: 'xorriso',
};

/**
 * Shell words naming, inside guestfish's appliance (`debug sh`), the kernel device of the disk of
 * this many MiB: guestfish's own commands translate /dev/sda… to the kernel's names, but `debug
 * sh` sees the kernel's, and the disks' scan order varies from boot to boot. So a test gives each
 * disk it names there a size of its own.
 */
export const applianceDiskBySize = (mib: number) =>
  `$(for d in /sys/block/sd*; do [ $(cat $d/size) = ${mib * 2048} ] && echo /dev/\${d##*/}; done)`;

/**
 * Run a tool; fail saying what to install when it is missing, and with its stderr when it fails
 * (exits other than `okStatus`, [0] unless told: fsck tools exit 1 when they repaired something).
 */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; okStatus?: number[] } = {},
): string {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new Error(`${cmd} not found: apt-get install ${PACKAGES[cmd] ?? cmd} (bash .ci/install-deps.sh)`);
  if (r.status === null || !(opts.okStatus ?? [0]).includes(r.status))
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

export async function decodeImages(
  paths: string[],
  options: DecodeOptions = {},
): Promise<{ result: DecodeResult; leaves: Leaf[][] }> {
  const sources = await Promise.all(paths.map((p) => FileSource.open(p)));
  try {
    const result = await decodeDisks(
      sources.map((source, i) => ({ disk: i + 1, source })),
      options,
    );
    const leaves = sources.map((s, i) => leavesOf(result, i + 1, 0n, s.size));
    return { result, leaves };
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}

/** Filesystem blocks (relative to fsStart) covered by leaves that pass `pick`. */
export function fsBlocks(leaves: Leaf[], fsStart: bigint, blockSize: number, pick: (l: Leaf) => boolean): Set<number> {
  const out = new Set<number>();
  const bs = BigInt(blockSize);
  for (const l of leaves) {
    if (!pick(l)) continue;
    for (let b = (l.start - fsStart) / bs; b * bs + fsStart < l.end; b++) out.add(Number(b));
  }
  return out;
}

/** Leaves whose chain names `object` (a file, "inode tables"…), also as a sharer of reflinked blocks. */
export const hasObject = (object: string) => (l: Leaf) => l.chain.some((c) => linkBelongsTo(c, object));
export const lastLabel = (l: Leaf) => l.chain[l.chain.length - 1]?.label ?? '';

/** "1-3, 7, 9-10" (dumpe2fs, debugfs style) → block numbers. */
export function parseRanges(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[,\s]+/)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let x = a; x <= b; x++) out.push(x);
  }
  return out;
}

/** Find an object's id by its label (a path) under a filesystem id prefix. */
export function objectId(r: DecodeResult, label: string, prefix = ''): string {
  for (const o of r.objects.values()) if (o.label === label && o.id.startsWith(prefix)) return o.id;
  throw new Error(
    `no decoded object labelled ${label} (have: ${[...r.objects.values()]
      .map((o) => o.label)
      .slice(0, 40)
      .join(', ')})`,
  );
}

export const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

/** Where dumpe2fs says each group's metadata and the free space are (filesystem blocks). */
export interface GroupTruth {
  superblock: number[];
  gdt: number[];
  blockBitmap: number[];
  inodeBitmap: number[];
  inodeTable: number[];
  free: number[];
}

export function dumpe2fs(fsImage: string): GroupTruth {
  const out = run('dumpe2fs', [fsImage]);
  const t: GroupTruth = { superblock: [], gdt: [], blockBitmap: [], inodeBitmap: [], inodeTable: [], free: [] };
  for (const line of out.split('\n')) {
    let m: RegExpExecArray | null;
    // "Primary superblock at 0, Group descriptors at 1-1"; with meta_bg "…, Group descriptor at 1",
    // or a descriptor block alone, or a backup superblock alone.
    const sbAt = /(?:Primary|Backup) superblock at (\d+)/.exec(line);
    const gdAt = /Group descriptors? at (\d+)(?:-(\d+))?/.exec(line);
    if (sbAt || gdAt) {
      if (sbAt) t.superblock.push(Number(sbAt[1]));
      if (gdAt) t.gdt.push(...parseRanges(`${gdAt[1]}-${gdAt[2] ?? gdAt[1]}`));
    } else if ((m = /Reserved GDT blocks at (\d+)-(\d+)/.exec(line))) t.gdt.push(...parseRanges(`${m[1]}-${m[2]}`));
    else if ((m = /Block bitmap at (\d+)/.exec(line))) t.blockBitmap.push(Number(m[1]));
    else if ((m = /Inode bitmap at (\d+)/.exec(line))) t.inodeBitmap.push(Number(m[1]));
    else if ((m = /Inode table at (\d+)-(\d+)/.exec(line))) t.inodeTable.push(...parseRanges(`${m[1]}-${m[2]}`));
    else if ((m = /^\s+Free blocks: (.*)$/.exec(line))) t.free.push(...parseRanges(m[1]));
  }
  assert.ok(t.superblock.length > 1, `dumpe2fs listed no backup superblocks:\n${out.slice(0, 2000)}`);
  return t;
}

/** FAT layout as fsck.fat -v reports it (bytes). */
export function fsckFat(img: string) {
  const out = run('fsck.fat', ['-n', '-v', img]);
  const num = (re: RegExp) => {
    const m = re.exec(out);
    assert.ok(m, `fsck.fat output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  return {
    clusterBytes: num(/(\d+) bytes per cluster/),
    fatStart: num(/First FAT starts at byte (\d+)/),
    fats: num(/(\d+) FATs, \d+ bit entries/),
    bits: num(/\d+ FATs, (\d+) bit entries/),
    fatBytes: num(/(\d+) bytes per FAT/),
    rootStart: /Root directory starts at byte (\d+)/.test(out) ? num(/Root directory starts at byte (\d+)/) : null,
    dataStart: num(/Data area starts at byte (\d+)/),
    clusters: num(/(\d+) data clusters/),
  };
}

/** `length` bytes of an image file at `offset`. */
export function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Deterministic random numbers below n (an LCG), so a failing round of random damage can be replayed. */
export function seededRandom(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n); // the high bits: an LCG's low bits repeat quickly
  };
}

/** `base` as read with some bytes replaced (offset → value): damage without copying the image. */
export function damagedSource(base: ByteSource, damage: Map<bigint, number>): ByteSource {
  return {
    size: base.size,
    read: async (offset, length) => {
      const b = await base.read(offset, length);
      for (const [at, value] of damage)
        if (at >= offset && at < offset + BigInt(length)) b[Number(at - offset)] = value;
      return b;
    },
  };
}

/**
 * A file's bytes as the decoder's labels place them in image `img` ("/x, bytes A–B"), and how
 * many were placed: each leaf's A–B must be as long as the leaf; bytes past `size` are dropped.
 */
export function bytesByLabels(
  img: string,
  leaves: Leaf[],
  r: DecodeResult,
  path: string,
  size: number,
): { bytes: Buffer; placed: number } {
  const bytes = Buffer.alloc(size);
  let placed = 0;
  for (const l of leaves.filter(hasObject(objectId(r, path)))) {
    // Another structure of the same file ("attribute list of /x", NTFS): not its bytes.
    if (lastLabel(l).endsWith(` of ${path}`)) continue;
    const m = /, bytes (\d+)–(\d+)$/.exec(lastLabel(l));
    assert.ok(m, `${path}: leaf labelled "${lastLabel(l)}"`);
    const from = Number(m[1]);
    const to = Math.min(Number(m[2]) + 1, size);
    assert.equal(Number(m[2]) - from + 1, Number(l.end - l.start), lastLabel(l));
    if (from >= size) continue;
    readAt(img, Number(l.start), to - from).copy(bytes, from);
    placed += to - from;
  }
  return { bytes, placed };
}

/**
 * Rounds of seeded random damage (24 bytes a round) to the places a decoder reads: `areas` are
 * lists of byte spans, taken in turn; every 4th round one byte of `header` too. Each decode must
 * finish within 20 s, and the only whole-decoder failure probe may report ("disk 1: <name>: …")
 * is a refusal matching `refusal` (a boot sector the decoder rejects): anything else there would
 * be the decoder throwing past its own guards.
 */
export async function randomDamageRounds(opts: {
  img: string;
  seed: number;
  name: string;
  header: [number, number];
  areas: Array<Array<[number, number]>>;
  refusal: RegExp;
}): Promise<void> {
  const random = seededRandom(opts.seed);
  const base = await FileSource.open(opts.img);
  try {
    for (let round = 0; round < 40; round++) {
      const damage = new Map<bigint, number>();
      for (let i = 0; i < 24; i++) {
        const area = i === 0 && round % 4 === 0 ? [opts.header] : opts.areas[i % opts.areas.length];
        const [a, b] = area[random(area.length)];
        damage.set(BigInt(a + random(b - a)), random(256));
      }
      const t0 = performance.now();
      const r = await decodeDisks([{ disk: 1, source: damagedSource(base, damage) }]);
      assert.ok(performance.now() - t0 < 20_000, `round ${round} took too long`);
      const prefix = `disk 1: ${opts.name}: `;
      const whole = r.warnings.filter((w) => w.startsWith(prefix) && !opts.refusal.test(w.slice(prefix.length)));
      assert.deepEqual(whole, [], `round ${round}`);
    }
  } finally {
    await base.close();
  }
}

/** Decode a copy of image `img` (made in `dir`) with `patch` applied; the decode must finish within 10 s and not throw. */
export async function decodePatched(dir: string, img: string, name: string, patch: (b: Buffer) => void) {
  const copy = join(dir, `${name}.img`);
  const b = readFileSync(img);
  patch(b);
  writeFileSync(copy, b);
  const t0 = performance.now();
  const decoded = await decodeImages([copy]);
  assert.ok(performance.now() - t0 < 10_000, `${name}: decode took too long`);
  return { copy, result: decoded.result, leaves: decoded.leaves[0] };
}

/** The byte spans [start, end) of the leaves that pass `pick`: where random damage is aimed. */
export const leafSpans = (leaves: Leaf[], pick: (l: Leaf) => boolean): Array<[number, number]> =>
  leaves.filter(pick).map((l) => [Number(l.start), Number(l.end)]);

/**
 * Fill image `img` in one guestfish run (TCG: no KVM here): mount it with `mount` (a guestfish
 * command taking the device and /), make `dirs`, upload local files, run `shell` in the
 * appliance (the image is mounted at /sysroot there), then remount read-only and download the
 * files the test compares against.
 */
export function fillWithGuestfish(opts: {
  dir: string;
  img: string;
  mount?: string;
  dirs: string[];
  uploads: Array<[local: string, path: string]>;
  shell: string;
  downloads: Array<[path: string, local: string]>;
}): void {
  const script = [
    `add-drive ${opts.img} format:raw`,
    'run',
    `${opts.mount ?? 'mount'} /dev/sda /`,
    ...opts.dirs.map((d) => `mkdir-p "${d}"`),
    ...opts.uploads.map(([local, path]) => `upload ${local} "${path}"`),
    `debug sh "${opts.shell}"`,
    'umount-all',
    'mount-ro /dev/sda /',
    ...opts.downloads.map(([path, local]) => `download "${path}" ${local}`),
  ].join('\n');
  const file = join(opts.dir, 'fill.gf');
  writeFileSync(file, script);
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  run('guestfish', ['-f', file], { env, timeoutMs: 600_000 });
}
