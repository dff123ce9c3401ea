// `blockscope replay` of a compressed nbdkit log without unpacking it to a file: through
// `<(zcat log.gz)`, a FIFO and stdin, the log (made by nbdkit 1.32's log filter) gives the same
// picture as the file itself, both as it reads (--summary) and imported (--summary --at). A pipe
// can be read once: a second read would find nothing, and the picture would be empty.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { importLogs } from '../timeline/replay.ts';
import { requireBinary, run } from './harness.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');
const dir = mkdtempSync(join(tmpdir(), 'blockscope-replay-pipe-'));
const log = join(dir, 'nbdkit.log');
const gz = `${log}.gz`;
after(() => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  requireBinary('nbdkit', 'nbdkit');
  requireBinary('qemu-io', 'qemu-utils');
  const sock = join(dir, 'nbdkit.sock');
  const nbdkit = spawn('nbdkit', ['-f', '-U', sock, '--filter=log', 'memory', '64M', `logfile=${log}`], {
    stdio: 'ignore',
  });
  const exited = new Promise((r) => nbdkit.once('exit', r));
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const commands = [
      'write -P 1 0 1M',
      'read 0 64k',
      'discard 1M 512k',
      'write -z 4M 64k',
      'write -P 2 60M 4k',
      'flush',
    ];
    const q = await run('qemu-io', ['-f', 'raw', `nbd+unix:///?socket=${sock}`, ...commands.flatMap((c) => ['-c', c])]);
    assert.equal(q.code, 0, q.stderr);
  } finally {
    nbdkit.kill();
    await exited;
  }
  assert.equal((await run('gzip', ['-k', log])).code, 0);
});

/** The disks of a `replay --summary` run in bash (for `<(…)` and pipes), without the source's name. */
async function summary(script: string): Promise<unknown> {
  const r = await run('bash', ['-c', script], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Array<{ disks?: unknown[] } & Record<string, unknown>>;
  const disks = (out[out.length - 1].disks ?? out) as Array<Record<string, unknown>>;
  return disks.map(({ logfile: _, ...d }) => d);
}

test('replay reads a gzip-compressed nbdkit log once, streaming, from <(zcat …), a FIFO and stdin', async () => {
  const B = `node ${cli} replay`;
  const fromFile = await summary(`${B} ${log} --summary`);
  const [disk] = fromFile as Array<{ blocks: Record<string, number> }>;
  assert.deepEqual(disk.blocks, { untouched: 15983, trimmed: 128, zeroed: 16, written: 257 }, 'the file itself');
  // Imported (the time machine's path): the state at the end.
  const importedFromFile = await summary(`${B} ${log} --summary --at 0,100000`);
  const fifo = join(dir, 'log.fifo');
  assert.equal((await run('mkfifo', [fifo])).code, 0);
  for (const [script, expected] of [
    [`${B} <(zcat ${gz}) --summary`, fromFile],
    [`${B} <(zcat ${gz}) --summary --at 0,100000`, importedFromFile],
    [`zcat ${gz} > ${fifo} & ${B} ${fifo} --summary`, fromFile],
    [`zcat ${gz} > ${fifo} & ${B} ${fifo} --summary --at 0,100000`, importedFromFile],
    [`zcat ${gz} | ${B} - --summary`, fromFile],
    [`zcat ${gz} | ${B} - --summary --at 0,100000`, importedFromFile],
  ] as const)
    assert.deepEqual(await summary(script), expected, script);
});

test('a recording through a pipe, stdin given twice, and a directory: one line each, exit 2', async () => {
  const rec = join(dir, 'r.bsrec');
  await importLogs([log], rec, null);
  for (const [script, line] of [
    [`node ${cli} replay <(cat ${rec}) --summary`, '/dev/fd/63'],
    [`cat ${rec} | node ${cli} replay - --summary --size 1G`, '-'],
  ]) {
    const r = await run('bash', ['-c', script], { timeoutMs: 30_000 });
    assert.equal(r.code, 2, script);
    assert.equal(
      r.stderr,
      `blockscope: ${line}: a recording (.bsrec) cannot be replayed from a pipe (replay seeks in it); give the file itself\n`,
    );
  }
  const twice = await run('bash', ['-c', `zcat ${gz} | node ${cli} replay - - --summary`]);
  assert.equal(twice.code, 2);
  assert.equal(twice.stderr, 'blockscope: -: stdin can be read only once\n');
  const d = await run(process.execPath, [cli, 'replay', dir, '--summary']);
  assert.equal(d.code, 2);
  assert.equal(d.stderr, `blockscope: ${dir}: is a directory\n`);
});
