// `blockscope map`: what every byte range of a disk is, like virt-bmap, for image files and
// live disks (any NBD URI, e.g. a Blockscope disk). Several sources decode together, so the
// members of an md array or an LVM volume group are labelled through the whole stack.

import { createBackend } from '../backends/index.ts';
import { probeImage } from '../backends/image.ts';
import type { Backend } from '../backends/backend.ts';
import { decodeDisks, leavesOf } from '../structure/decode.ts';
import { BackendSource } from '../structure/backend-source.ts';
import { FileSource } from '../structure/file-source.ts';
import type { ByteSource } from '../structure/source.ts';
import { CliError, intOption, parseArgs } from './args.ts';

export const MAP_HELP = `usage: blockscope map IMAGE|URI … [--block N [--disk D]] [--json]

Prints what each byte range of a disk is: partition tables (GPT, MBR), filesystem structures
(ext2/3/4, XFS, btrfs, vfat, exFAT, NTFS, ISO 9660), files by path with their byte offsets,
md RAID roles (data of which array block, parity of which stripe), LVM labels, metadata and
extents.

  IMAGE        a disk image file: raw is read directly; qcow2, vmdk, vdi, vhdx … through qemu-nbd
  URI          a live disk over NBD: nbd://HOST[:PORT][/EXPORT], nbd+unix:///EXPORT?socket=PATH
               (reads go to the server like any client's)
               Several sources are decoded together: give all members of an array or volume group.
  --block N    only the chain of 4 KiB block N (of disk --disk, default 1)
  --json       JSON: { disks: [{ disk, source, ranges: [{ start, end, kind, chain }] }], warnings }
`;

const SPEC = { values: ['--block', '--disk'], flags: ['--json', '--help'], aliases: { '-h': '--help' } };

interface Opened {
  name: string;
  source: ByteSource;
  close(): Promise<void>;
}

const isUri = (s: string) => /^nbds?(\+unix|\+tcp)?:\/\//.test(s);

/** Connect to a live disk; a server that is not there (or refuses the export) is bad input, in one line. */
async function openNbd(uri: string): Promise<Backend> {
  try {
    return await createBackend('nbd', 0n, { uri }, true);
  } catch (err) {
    const message = (err as Error).message
      .replace(/connect ECONNREFUSED \S+$/, 'connection refused (is an NBD server listening there?)')
      .replace(/connect ENOENT \S+$/, 'no such socket (is an NBD server listening there?)');
    throw new CliError(message);
  }
}

async function openSource(name: string): Promise<Opened> {
  let backend: Backend;
  if (isUri(name)) backend = await openNbd(name);
  else {
    let format = 'raw';
    try {
      format = probeImage(name).format;
    } catch (err) {
      // Without qemu-img a raw image still maps; a missing file fails below with its own error.
      if (!/qemu-img not found/.test((err as Error).message)) throw new CliError((err as Error).message);
    }
    if (format === 'raw') {
      const f = await FileSource.open(name);
      return { name, source: f, close: () => f.close() };
    }
    backend = await createBackend('image', 0n, { file: name }, true);
  }
  return { name, source: new BackendSource(backend), close: () => backend.close() };
}

const hex = (n: bigint) => `0x${n.toString(16).padStart(10, '0')}`;

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.flags.has('--help')) {
    process.stdout.write(MAP_HELP);
    return 0;
  }
  if (!args.positional.length) throw new CliError('map needs an image file or an NBD URI (see blockscope map --help)');
  if (args.positional.length > 16) throw new CliError('at most 16 sources');
  const block = intOption(args, '--block', 0, Number.MAX_SAFE_INTEGER);
  const diskNo = intOption(args, '--disk', 1, args.positional.length) ?? 1;
  if (args.values.has('--disk') && block === undefined) throw new CliError('--disk goes with --block');
  const json = args.flags.has('--json');
  const opened: Opened[] = [];
  try {
    for (const p of args.positional) opened.push(await openSource(p));
    const result = await decodeDisks(opened.map((o, i) => ({ disk: i + 1, source: o.source })));
    const pick =
      block === undefined
        ? opened.map((o, i) => ({ disk: i + 1, o, from: 0n, to: o.source.size }))
        : [{ disk: diskNo, o: opened[diskNo - 1], from: BigInt(block) * 4096n, to: BigInt(block) * 4096n + 4096n }];
    for (const p of pick) {
      if (p.from >= p.o.source.size)
        throw new CliError(`block ${block} is past the end of ${p.o.name} (${p.o.source.size} bytes)`);
      if (p.to > p.o.source.size) p.to = p.o.source.size;
    }
    const disks = pick.map((p) => ({ disk: p.disk, source: p.o.name, leaves: leavesOf(result, p.disk, p.from, p.to) }));
    if (json) {
      const out = {
        disks: disks.map((d) => ({
          disk: d.disk,
          source: d.source,
          ranges: d.leaves.map((l) => ({
            start: l.start.toString(),
            end: l.end.toString(),
            kind: l.kind,
            chain: l.chain.map((c) => c.label),
          })),
        })),
        warnings: result.warnings,
        truncated: result.truncated,
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      for (const d of disks) {
        if (disks.length > 1 || opened.length > 1) process.stdout.write(`# disk ${d.disk}: ${d.source}\n`);
        if (!d.leaves.length) process.stdout.write('(nothing recognised)\n');
        for (const l of d.leaves)
          process.stdout.write(
            `${hex(l.start)} ${hex(l.end)} ${l.kind.padEnd(17)} ${l.chain.map((c) => c.label).join(' › ')}\n`,
          );
      }
      for (const w of result.warnings) process.stderr.write(`blockscope map: warning: ${w}\n`);
      if (result.truncated)
        process.stderr.write('blockscope map: warning: too much to itemise; some regions are summarised\n');
    }
    return 0;
  } finally {
    await Promise.all(opened.map((o) => o.close()));
  }
}
