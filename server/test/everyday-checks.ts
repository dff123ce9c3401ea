// The everyday client checks, as steps that each return a fingerprint of what the client saw
// (data hashes, maps, flags, errnos). The proxy tests run the same steps against an upstream
// server directly and through Blockscope, and require identical fingerprints. Steps run in
// order on a 64 MiB disk; each one asserts that its client succeeded.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NBDSH_ENV, run, type RunResult } from './harness.ts';

export const CHECK_DISK_SIZE = 64 << 20;

export interface CheckFiles {
  /** 64 MiB: random data at [16M,24M) and [56M,60M), zeroes elsewhere. */
  image: string;
  /** 4 MiB of random data. */
  small: string;
}

/** Source files shared by the direct and proxied runs, so both see the same data. */
export function makeCheckFiles(dir: string): CheckFiles {
  const image = Buffer.alloc(CHECK_DISK_SIZE);
  randomBytes(8 << 20).copy(image, 16 << 20);
  randomBytes(4 << 20).copy(image, 56 << 20);
  const files = { image: join(dir, 'image.raw'), small: join(dir, 'small.raw') };
  writeFileSync(files.image, image);
  writeFileSync(files.small, randomBytes(4 << 20));
  return files;
}

function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}): ${r.stderr}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** An export's properties as nbdinfo reports them; absent block sizes mean the spec's defaults. */
async function exportFacts(uri: string): Promise<string> {
  const j = JSON.parse(ok(await run('nbdinfo', ['--json', uri]), 'nbdinfo --json'));
  const e = j.exports[0];
  const facts: Record<string, unknown> = {
    protocol: j.protocol,
    TLS: j.TLS,
    'structured-replies': j['structured-replies'],
    size: e['export-size'],
    contexts: e.contexts,
    block_size_minimum: e.block_size_minimum ?? 1,
    block_size_preferred: e.block_size_preferred ?? 4096,
    block_size_maximum: e.block_size_maximum ?? 33554432,
  };
  for (const k of Object.keys(e)
    .filter((k) => /^(is_|can_)/.test(k))
    .sort())
    facts[k] = e[k];
  return JSON.stringify(facts);
}

const nbdsh = async (uri: string, script: string) =>
  ok(
    await run('nbdsh', ['--base-allocation', '-u', uri, '-c', script], { env: NBDSH_ENV, timeoutMs: 120_000 }),
    'nbdsh',
  );

const qemuIo = async (uri: string, ...cmds: string[]) => {
  const out = ok(await run('qemu-io', ['-f', 'raw', uri, ...cmds.flatMap((c) => ['-c', c])]), 'qemu-io');
  assert.doesNotMatch(out, /verification failed|failed/i, out);
  // Only the operations and byte counts (timings differ from run to run), sorted: aio
  // completions are printed in completion order.
  return out
    .split('\n')
    .filter((l) => /^(read|wrote|discard)/.test(l))
    .sort()
    .join('\n');
};

const map = async (uri: string) => ok(await run('nbdinfo', ['--map', '--json', uri]), 'nbdinfo --map');

export interface Check {
  name: string;
  run(uri: string, files: CheckFiles, dir: string): Promise<string>;
}

export const EVERYDAY_CHECKS: Check[] = [
  { name: 'nbdinfo --json: size, capabilities, block sizes, contexts', run: (uri) => exportFacts(uri) },
  {
    name: 'qemu-img convert -n in and qemu-img compare',
    async run(uri, f) {
      ok(await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', f.image, uri]), 'qemu-img convert');
      return ok(await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', f.image, uri]), 'qemu-img compare');
    },
  },
  { name: 'nbdinfo --map after the convert', run: (uri) => map(uri) },
  {
    name: 'qemu-io patterns at the first, middle and last block',
    run: (uri) =>
      qemuIo(
        uri,
        'write -P 0x11 0 4k',
        'write -P 0x22 32M 64k',
        `write -P 0x33 ${CHECK_DISK_SIZE - 4096} 4k`,
        'read -P 0x11 0 4k',
        'read -P 0x22 32M 64k',
        `read -P 0x33 ${CHECK_DISK_SIZE - 4096} 4k`,
      ),
  },
  {
    name: 'qemu-io discard, write -z and write -z -u read back as zeroes',
    run: (uri) =>
      qemuIo(
        uri,
        'write -P 0x44 1M 1M',
        'discard 1M 256k',
        'write -z 1280k 256k',
        'write -z -u 1536k 256k',
        'read -P 0 1M 768k',
        'read -P 0x44 1792k 256k',
      ),
  },
  {
    name: 'qemu-io pipelined aio_write burst, aio_flush, read back',
    run: (uri) =>
      qemuIo(
        uri,
        ...Array.from({ length: 32 }, (_, i) => `aio_write -P ${0x50 + (i % 16)} ${8 + i / 16}M 64k`),
        'aio_flush',
        ...Array.from({ length: 32 }, (_, i) => `read -P ${0x50 + (i % 16)} ${8 + i / 16}M 64k`),
      ),
  },
  {
    name: 'qemu-img map --output=json',
    run: async (uri) => ok(await run('qemu-img', ['map', '-f', 'raw', '--output=json', uri]), 'qemu-img map'),
  },
  {
    name: 'qemu-img info',
    async run(uri) {
      const j = JSON.parse(ok(await run('qemu-img', ['info', '-f', 'raw', '--output=json', uri]), 'qemu-img info'));
      return JSON.stringify({ size: j['virtual-size'], format: j.format });
    },
  },
  {
    name: 'nbdcopy in with 4 connections',
    async run(uri, f) {
      ok(await run('nbdcopy', ['--connections=4', '--flush', f.small, uri], { timeoutMs: 120_000 }), 'nbdcopy in');
      return 'ok';
    },
  },
  {
    name: 'nbdcopy out: the whole disk, byte for byte',
    async run(uri, _f, dir) {
      const out = join(dir, 'nbdcopy-out.raw');
      ok(await run('nbdcopy', ['--connections=4', uri, out], { timeoutMs: 120_000 }), 'nbdcopy out');
      return sha256(out);
    },
  },
  {
    name: 'qemu-img convert out: the whole disk, byte for byte',
    async run(uri, _f, dir) {
      const out = join(dir, 'convert-out.raw');
      ok(await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri, out]), 'qemu-img convert out');
      return sha256(out);
    },
  },
  {
    name: 'nbdsh pipelined aio writes and reads',
    run: (uri) =>
      nbdsh(
        uri,
        `
cookies = [h.aio_pwrite(bytearray([i]) * 65536, (600 + i) * 65536) for i in range(16)]
while h.aio_in_flight() > 0:
    h.poll(-1)
assert all(h.aio_command_completed(c) for c in cookies)
print([h.pread(65536, (600 + i) * 65536) == bytearray([i]) * 65536 for i in range(16)])
`,
      ),
  },
  {
    name: 'nbdsh FAST_ZERO, DF read, REQ_ONE block status',
    run: (uri) =>
      nbdsh(
        uri,
        `
try:
    h.zero(65536, 600 * 65536, nbd.CMD_FLAG_FAST_ZERO)
    print("fast zero ok", h.pread(65536, 600 * 65536) == bytearray(65536))
except nbd.Error as e:
    print("fast zero", e.errnum)
chunks = []
def chunk(subbuf, offset, status, err):
    chunks.append((len(subbuf), offset, status))
    return 0
got = h.pread_structured(4096, 601 * 65536, chunk, nbd.CMD_FLAG_DF)
print(got == bytearray([1]) * 4096, chunks)
for off in (0, 1 << 20, 16 << 20, 40 << 20):
    seen = []
    h.block_status(8 << 20, off, lambda ctx, o, entries, err: seen.append(entries), nbd.CMD_FLAG_REQ_ONE)
    print(off, seen)
`,
      ),
  },
  {
    name: 'nbdsh errors past the end (EINVAL, ENOSPC), cache and flush',
    run: (uri) =>
      nbdsh(
        uri,
        `
size = h.get_size()
for name, op in (("read", lambda: h.pread(4096, size)), ("write", lambda: h.pwrite(bytearray(4096), size - 2048)),
                 ("trim", lambda: h.trim(8192, size - 4096)), ("zero", lambda: h.zero(8192, size - 4096))):
    try:
        op()
        print(name, "succeeded")
    except nbd.Error as e:
        print(name, e.errnum)
if h.can_cache():
    h.cache(4096, 0)
h.flush()
print("ok")
`,
      ),
  },
  { name: 'nbdinfo --map after everything', run: (uri) => map(uri) },
  {
    name: 'fio randwrite with crc32c verify',
    async run(uri) {
      const r = await run('fio', [
        '--name=verify',
        '--ioengine=nbd',
        `--uri=${uri}`,
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=8',
        '--offset=44M',
        '--size=8M',
        '--verify=crc32c',
        '--verify_state_save=0',
        '--do_verify=1',
        '--randrepeat=1',
        '--randseed=7',
        '--output-format=json',
      ]);
      const out = ok(r, 'fio');
      const j = JSON.parse(out.slice(out.indexOf('{')));
      assert.equal(j.jobs[0].error, 0, 'fio reported an error');
      return JSON.stringify({ writes: j.jobs[0].write.total_ios, reads: j.jobs[0].read.total_ios });
    },
  },
  { name: 'nbdinfo --map after fio', run: (uri) => map(uri) },
];
