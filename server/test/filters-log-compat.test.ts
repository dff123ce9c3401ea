// The log filter writes what nbdkit 1.32's log filter writes: the same client commands against
// `nbdkit --filter=log memory` and against Blockscope give the same log, timestamps masked.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NBDSH_ENV, requireBinary, run, startDisks, type TestDisks } from './harness.ts';

let t: TestDisks;
let nbdkit: ChildProcess | null = null;
const mask = (log: string) =>
  log
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} /, 'TIME '));

before(async () => {
  requireBinary('nbdkit', 'nbdkit');
  requireBinary('qemu-io', 'qemu-utils');
  requireBinary('nbdinfo', 'libnbd-bin');
  requireBinary('nbdsh', 'python3-libnbd');
  t = await startDisks({
    unix: true,
    filters: (_d, dir) => [{ name: 'log', params: { logfile: join(dir, 'blockscope.log') } }],
  });
});
after(async () => {
  nbdkit?.kill();
  await t?.close();
});

/**
 * Split a log into streams compared line by line: one per connection, one for server-wide
 * lines. Across streams the order is a race in nbdkit itself (a client's Disconnect may be
 * logged after the next client's Preconnect), so only the order within a stream is checked.
 */
function streams(lines: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const l of lines) {
    const key = /connection=(\d+)/.exec(l)?.[0] ?? 'server';
    m.set(key, [...(m.get(key) ?? []), l]);
  }
  return m;
}

async function startNbdkit(sock: string, log: string, extra: string[] = []): Promise<ChildProcess> {
  const p = spawn('nbdkit', ['-f', ...extra, '-U', sock, '--filter=log', 'memory', 'size=64M', `logfile=${log}`], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(sock), 'nbdkit did not start');
  return p;
}

/** The same traffic for both servers, one client at a time (connection numbers must line up). */
async function traffic(uri: string): Promise<void> {
  const steps: Array<[string, string[], NodeJS.ProcessEnv?]> = [
    [
      'qemu-io',
      [
        '-f',
        'raw',
        uri,
        '-c',
        'write -P 0xab 0 64k',
        '-c',
        'read 0 4k',
        '-c',
        'discard 64k 64k',
        '-c',
        'write -z 128k 4k',
        '-c',
        'write -z -u 256k 4k',
        '-c',
        'flush',
      ],
    ],
    ['qemu-io', ['-f', 'raw', '-t', 'none', uri, '-c', 'write -P 1 1M 512', '-c', 'read 1M 512']],
    ['nbdinfo', ['--map', uri]],
    ['nbdinfo', ['--list', uri]],
    [
      'nbdsh',
      [
        '--base-allocation',
        '-u',
        uri,
        '-c',
        'h.cache(4096, 0)\nh.block_status(65536, 0, lambda *a: 0, nbd.CMD_FLAG_REQ_ONE)\nh.zero(4096, 8192, nbd.CMD_FLAG_FAST_ZERO)\ntry:\n  h.pread(4096, 64*1024*1024)\nexcept nbd.Error:\n  pass',
      ],
      NBDSH_ENV,
    ],
  ];
  for (const [cmd, args, env] of steps) {
    const r = await run(cmd, args, { env });
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  }
}

test('same commands, same log lines as nbdkit 1.32 (timestamps masked)', async () => {
  const ref = join(t.dir, 'nbdkit.log');
  const sock = join(t.dir, 'nbdkit.sock');
  nbdkit = await startNbdkit(sock, ref);
  await traffic(`nbd+unix:///?socket=${sock}`);
  nbdkit.kill('SIGTERM');
  await new Promise((r) => nbdkit!.once('exit', r));
  nbdkit = null;

  await traffic(t.uris[0]);
  await t.engine.closeAll(); // flushes and closes the log
  const ours = streams(mask(readFileSync(join(t.dir, 'blockscope.log'), 'utf8')));
  const theirs = streams(mask(readFileSync(ref, 'utf8')));
  assert.ok(theirs.size >= 6, `nbdkit wrote only ${theirs.size} streams`);
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), 'same connections');
  for (const [key, lines] of theirs) {
    const mine = ours.get(key)!;
    for (let i = 0; i < Math.max(lines.length, mine.length); i++) {
      const ctx = (l: string[]) => l.slice(Math.max(0, i - 4), i + 3).join('\n');
      assert.equal(
        mine[i],
        lines[i],
        `${key}, line ${i + 1} differs\n--- nbdkit:\n${ctx(lines)}\n--- blockscope:\n${ctx(mine)}`,
      );
    }
  }
});

test('a read-only export: fua=0 in the Connect line and no FUA advertised, as nbdkit -r', async () => {
  const ro = await startDisks({
    unix: true,
    readonly: true,
    filters: (_d, dir) => [{ name: 'log', params: { logfile: join(dir, 'blockscope.log') } }],
  });
  try {
    const ref = join(ro.dir, 'nbdkit.log');
    const sock = join(ro.dir, 'nbdkit.sock');
    nbdkit = await startNbdkit(sock, ref, ['-r']);
    const look = async (uri: string) => {
      const r = await run('qemu-io', ['-r', '-f', 'raw', uri, '-c', 'read 0 4k']);
      assert.equal(r.code, 0, r.stderr);
      // nbdinfo --can exits 0 when the export can, 2 when it cannot.
      return (await run('nbdinfo', ['--can', 'fua', uri])).code;
    };
    const theirFua = await look(`nbd+unix:///?socket=${sock}`);
    nbdkit.kill('SIGTERM');
    await new Promise((r) => nbdkit!.once('exit', r));
    nbdkit = null;
    assert.equal(await look(ro.uris[0]), theirFua, 'nbdinfo --can fua');
    await ro.engine.closeAll();
    const connect = (log: string) => mask(readFileSync(log, 'utf8')).filter((l) => / Connect /.test(l));
    const theirs = connect(ref);
    assert.match(theirs[0], / fua=0 /);
    assert.deepEqual(connect(join(ro.dir, 'blockscope.log')), theirs);
  } finally {
    await ro.close();
  }
});
