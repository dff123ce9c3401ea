import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlockType } from '../record/format.ts';
import { openSession } from '../record/session-reader.ts';
import { run } from '../test/harness.ts';
import { importLogs } from '../timeline/replay.ts';
import { CliError } from './args.ts';
import { parseServeArgs } from './serve.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');

test('serve args: filters in order, %d expansion, per-disk overrides, ports', () => {
  const o = parseServeArgs([
    '--disks',
    '3',
    '--size',
    '1G',
    '--filter=error',
    '--filter=log',
    '--filter=delay',
    'rdelay=40ms',
    'logfile=/tmp/log%d',
    'error-rate=100%',
    'error-file=/tmp/error%d',
    '--disk',
    '3:error-rate=10%',
    '--port',
    '20000',
  ]);
  assert.notEqual(o, 'help');
  if (o === 'help') return;
  assert.equal(o.specs.length, 3);
  assert.deepEqual(
    o.specs.map((s) => s.filters.map((f) => f.name)),
    [
      ['error', 'log', 'delay'],
      ['error', 'log', 'delay'],
      ['error', 'log', 'delay'],
    ],
  );
  assert.equal(o.specs[1].filters[1].params.logfile, '/tmp/log2');
  assert.equal(o.specs[0].filters[0].params['error-file'], '/tmp/error1');
  assert.equal(o.specs[2].filters[0].params['error-rate'], '10%');
  assert.equal(o.specs[0].filters[0].params['error-rate'], '100%');
  assert.deepEqual(
    o.specs.map((s) => s.tcp?.port),
    [20000, 20001, 20002],
  );
  assert.equal(o.specs[0].size, 1n << 30n);
});

test('serve args: clear errors', () => {
  assert.throws(
    () => parseServeArgs(['rdelay=1']),
    /parameter 'rdelay' belongs to no filter or backend in use \(add --filter=delay\)/,
  );
  assert.throws(() => parseServeArgs(['--filter=gzip']), /unknown filter 'gzip'/);
  assert.throws(() => parseServeArgs(['--disks', '17']), CliError);
  assert.throws(() => parseServeArgs(['--disk', '4:rdelay=1', '--filter=delay']), /disk 4 does not exist/);
  assert.throws(() => parseServeArgs(['--backend', 'file']), /file=PATH/);
  assert.throws(() => parseServeArgs(['--port', '65535', '--disks', '2']), /not enough ports/);
});

test('serve over Unix sockets (0600); SIGTERM stops cleanly and removes the socket files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-'));
  try {
    const p = spawn(
      process.execPath,
      [cli, 'serve', '--disks', '2', '--unix', dir, '--filter=log', `logfile=${join(dir, 'log%d')}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    // Start-up compiles the TypeScript first (tsx): seconds on a loaded machine.
    for (let i = 0; i < 400 && !/disk2/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /^disk1 nbd\+unix:\/\/\/\?socket=.*disk1\.sock$/m);
    const sock = join(dir, 'disk1.sock');
    const { statSync } = await import('node:fs');
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    const r = await run('qemu-io', ['-f', 'raw', `nbd+unix:///?socket=${sock}`, '-c', 'write 0 4k']);
    assert.equal(r.code, 0, r.stderr);
    p.kill('SIGTERM');
    const code = await new Promise((res) => p.once('exit', res));
    assert.equal(code, 0);
    assert.ok(!existsSync(sock), 'socket file removed');
    assert.match(readFileSync(join(dir, 'log1'), 'utf8'), /Write id=1 offset=0x0 count=0x1000/, 'log flushed on stop');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve stopped the moment it prints its first address exits cleanly (0, not death by signal)', async () => {
  // libnbd's `requires nbdkit … --run 'exit 0'` stops the server as soon as it is up; a SIGTERM in
  // the moment between the address line and the signal handler used to kill it with status 143.
  const dir = mkdtempSync(join(tmpdir(), 'serve-'));
  try {
    for (let round = 0; round < 3; round++) {
      const p = spawn(process.execPath, [cli, 'serve', '--unix', join(dir, String(round))], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      p.stdout.on('data', (d) => {
        if (/^disk1 /m.test(String(d))) p.kill('SIGTERM');
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((res) =>
        p.once('exit', (c, s) => res([c, s])),
      );
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `round ${round}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve --run: a stop signal also stops the command it runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-'));
  try {
    const marker = join(dir, 'still-running');
    const p = spawn(
      process.execPath,
      [cli, 'serve', '--unix', dir, '--run', `echo started; sleep 30; touch ${marker}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout.on('data', (d) => {
      if (/started/.test(String(d))) p.kill('SIGTERM');
    });
    const started = Date.now();
    const code = await new Promise((res) => p.once('exit', res));
    assert.ok(Date.now() - started < 20_000, 'serve waited for the whole command');
    assert.notEqual(code, 0, 'a command stopped by a signal is not a success');
    assert.ok(!existsSync(marker));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file backend: created and sized, data lands in the file, flush works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-'));
  try {
    const img = join(dir, 'disk1.img');
    const r = await run(process.execPath, [
      cli,
      'serve',
      '--backend',
      'file',
      `file=${join(dir, 'disk%d.img')}`,
      '--size',
      '8M',
      '--port',
      '0',
      '--run',
      `qemu-io -f raw "$uri" -c 'write -P 0x42 1M 4k' -c flush -c 'read -P 0x42 1M 4k'`,
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const data = readFileSync(img);
    assert.equal(data.length, 8 << 20);
    assert.equal(data[1 << 20], 0x42);
    assert.equal(data[0], 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('captive mode passes $uri/$port and exits with the command status; bad flags exit 2', async () => {
  const r = await run(process.execPath, [
    cli,
    'serve',
    '--size',
    '1M',
    '--port',
    '0',
    '--run',
    'test -n "$port" && nbdinfo --size "$uri1"; exit 7',
  ]);
  assert.equal(r.code, 7);
  assert.match(r.stdout, /^1048576$/m);
  const bad = await run(process.execPath, [cli, 'serve', '--size', 'big']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^blockscope: --size: could not parse size 'big'/);
});

test('replay --speed and --size: their real ranges, clear errors', async () => {
  for (const [args, message] of [
    // The time machine's player plays 0.1× to 100×.
    [['--speed', '0'], /--speed: expected a number from 0.1 to 100, got '0'/],
    [['--speed', '0.05'], /--speed: expected a number from 0.1 to 100, got '0.05'/],
    [['--speed', '1e400'], /--speed: expected a number from 0.1 to 100/],
    [['--speed', '500'], /--speed: expected a number from 0.1 to 100/],
    [['--size', '0'], /--size: a disk needs a size above 0/],
  ] as const) {
    const r = await run(process.execPath, [cli, 'replay', '/nonexistent.log', ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('--record into a missing directory, or a file that cannot be written: one line, exit 2, nothing served', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-cli-record-'));
  try {
    const missing = await run(process.execPath, [
      cli,
      'serve',
      '--port',
      '0',
      '--record',
      join(dir, 'nodir', 'x.bsrec'),
      '--run',
      'true',
    ]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(missing.stderr, `blockscope: --record: ${join(dir, 'nodir')}: no such directory\n`);
    assert.doesNotMatch(missing.stdout, /disk1|recording/);
    // The directory exists but the file cannot take the header (a full disk): the recorder's
    // failure to start is an error too, not a status nobody sees.
    const full = join(dir, 'full.bsrec');
    symlinkSync('/dev/full', full);
    const r = await run(process.execPath, [cli, 'serve', '--port', '0', '--record', full, '--run', 'true']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `blockscope: --record: ${full}: no space left on device (ENOSPC)\n`);
    assert.doesNotMatch(r.stdout, /recording/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A log of `n` 4 KiB writes, 1 ms apart, on a 64 MiB disk. */
function writesLog(path: string, n: number): void {
  const lines = ['2026-11-23 05:00:00.000000 connection=1 Connect export="" tls=0 size=0x4000000'];
  for (let i = 1; i <= n; i++) {
    const us = i * 1000;
    const min = String(Math.floor(us / 60e6)).padStart(2, '0');
    const sec = String(Math.floor(us / 1e6) % 60).padStart(2, '0');
    const ts = `2026-11-23 05:${min}:${sec}.${String(us % 1e6).padStart(6, '0')}`;
    const offset = ((i * 7919) % 16384) * 4096;
    lines.push(
      `${ts} connection=1 Write id=${i} offset=0x${offset.toString(16)} count=0x1000 fua=0 ...`,
      `${ts} connection=1 ...Write id=${i} return=0`,
    );
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

test('replay of a directory, an empty pipe or a .bsrec without the magic: one line, exit 2, no hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-cli-replay-'));
  try {
    const zero = join(dir, 'zero.bsrec');
    writeFileSync(zero, '');
    const magic = join(dir, 'magic.bsrec');
    writesLog(magic, 10);
    for (const [args, line] of [
      [[dir, '--summary'], `${dir}: is a directory`],
      // A pipe is read (server/test/replay-pipe.test.ts): an empty one has no Connect line.
      [['/dev/stdin', '--summary'], '/dev/stdin: no Connect line tells the disk size; give --size'],
      [['-', '--summary'], '-: no Connect line tells the disk size; give --size'],
      [['/dev/null', '--summary'], '/dev/null: not a regular file'],
      [[zero, '--summary'], `${zero}: not a Blockscope recording (bad magic)`],
      [[magic, '--size', '1G', '--summary'], `${magic}: not a Blockscope recording (bad magic)`],
    ] as const) {
      // stdin a pipe: /dev/stdin is one.
      const r = await run(process.execPath, [cli, 'replay', ...args], { timeoutMs: 20_000, input: '' });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `blockscope: ${line}\n`);
      assert.equal(r.stdout, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay --summary of a damaged recording names the damaged block and exits 2, with and without --at', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-cli-replay-'));
  try {
    const log = join(dir, 'w.log');
    writesLog(log, 3000);
    const rec = join(dir, 'w.bsrec');
    await importLogs([log], rec, null);
    const s = await openSession(rec);
    const events = s.index.entries.filter((e) => e.h.type === BlockType.EVENTS);
    await s.close();
    // A byte inside the body of a block in the middle: only its CRC can tell.
    const hit = events[Math.floor(events.length / 2)];
    const bytes = readFileSync(rec);
    bytes[hit.offset + 48 + hit.h.prefixLength + 1] ^= 0xff;
    writeFileSync(rec, bytes);
    for (const extra of [[], ['--at', '0.5,1']]) {
      const r = await run(process.execPath, [cli, 'replay', rec, '--summary', ...extra]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `blockscope: ${rec}: block at byte ${hit.offset} is damaged (CRC mismatch)\n`);
      assert.equal(r.stdout, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay of a log: stdout stays JSON with --at, and a long read says how far it is on stderr (from a pipe too)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-cli-replay-'));
  try {
    // About 49 MB: a few seconds to read, so at least one progress line (one a second).
    const log = join(dir, 'big.log');
    writesLog(log, 300_000);
    const atOne = await run(process.execPath, [cli, 'replay', log, '--summary', '--at', '1']);
    assert.equal(atOne.code, 0, atOne.stderr);
    assert.equal(JSON.parse(atOne.stdout)[0].at, 1);
    const lines = atOne.stderr.trimEnd().split('\n');
    assert.equal(lines.pop(), 'imported 300000 requests from 1 log(s)');
    assert.ok(lines.length >= 1, 'at least one progress line');
    for (const l of lines) assert.match(l, new RegExp(`^importing ${log}: \\d+ % \\(\\d+ of 49 MB\\)$`));
    const plain = await run(process.execPath, [cli, 'replay', log, '--summary']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout)[0].counters.write.count, 300_000);
    assert.match(plain.stderr, new RegExp(`^(reading ${log}: \\d+ % \\(\\d+ of 49 MB\\)\\n)+$`));
    // From a pipe the total is not known: the lines say how much was read.
    const piped = await run('bash', ['-c', `cat ${log} | node ${cli} replay - --summary --at 1`]);
    assert.equal(piped.code, 0, piped.stderr);
    const disk = (r: { stdout: string }) => JSON.parse(r.stdout)[0].disks[0];
    assert.deepEqual([disk(piped).counters, disk(piped).blocks], [disk(atOne).counters, disk(atOne).blocks]);
    const pipedLines = piped.stderr.trimEnd().split('\n');
    assert.equal(pipedLines.pop(), 'imported 300000 requests from 1 log(s)');
    assert.ok(pipedLines.length >= 1, 'at least one progress line');
    for (const l of pipedLines) assert.match(l, /^importing -: \d+ MB read$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay from a FIFO nobody writes to yet: it says it waits, Ctrl-C ends it at once, a late writer is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-cli-fifo-'));
  const fifo = join(dir, 'log.fifo');
  const waiting = `${fifo}: waiting for a writer to open this FIFO (Ctrl-C to stop)\n`;
  const children: ChildProcess[] = [];
  // Starts `replay FIFO --summary` and resolves once it has said that it waits.
  const start = async () => {
    const child = spawn(process.execPath, [cli, 'replay', fifo, '--summary'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    for (let ms = 0; !out.stderr.includes(waiting) && ms < 20_000; ms += 50)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(out.stderr, waiting, 'the wait is said once, on stderr');
    assert.equal(child.exitCode, null, 'still waiting for a writer');
    return { child, out, exited };
  };
  try {
    execFileSync('mkfifo', [fifo]);
    const interrupted = await start();
    const t0 = performance.now();
    interrupted.child.kill('SIGINT');
    const end = await Promise.race([
      interrupted.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref()),
    ]);
    assert.ok(end, 'Ctrl-C ends a replay waiting for a FIFO writer');
    assert.ok(end.signal === 'SIGINT' || end.code === 130, `ended by Ctrl-C: ${JSON.stringify(end)}`);
    assert.ok(performance.now() - t0 < 5000, 'at once');
    assert.equal(interrupted.out.stdout, '');
    const late = await start();
    writesLog(fifo, 10); // opening the FIFO for writing blocks until the replay has it open
    const done = await late.exited;
    assert.equal(done.code, 0, late.out.stderr);
    assert.equal(JSON.parse(late.out.stdout)[0].counters.write.count, 10);
  } finally {
    // A replay still blocked opening the FIFO (a failed assertion above) would keep this file's run alive.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve --unix: a path too long for a socket, or a missing parent, is one line and exit 2 with nothing created; a directory it made is removed at exit', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'serve-unix-'));
  try {
    const long = join(parent, 'd'.repeat(110 - parent.length - '//disk1.sock'.length));
    const tooLong = await run(process.execPath, [cli, 'serve', '--unix', long, '--no-record', '--run', 'true']);
    assert.equal(tooLong.code, 2, tooLong.stderr);
    assert.equal(tooLong.stderr, `blockscope: --unix: socket path ${long}/disk1.sock is 110 bytes, longer than 107\n`);
    const missing = join(parent, 'no', 'such', 'dir');
    const noParent = await run(process.execPath, [cli, 'serve', '--unix', missing, '--no-record', '--run', 'true']);
    assert.equal(noParent.code, 2, noParent.stderr);
    assert.equal(noParent.stderr, `blockscope: --unix: ${join(parent, 'no', 'such')}: no such directory\n`);
    assert.deepEqual(readdirSync(parent), [], 'something was left behind');

    const made = join(parent, 'sockets');
    const ok = await run(process.execPath, [
      cli,
      'serve',
      '--unix',
      made,
      '--no-record',
      '--run',
      'test -S "$unixsocket"',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(readdirSync(parent), [], 'the directory serve made is still there');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('serve --host that does not resolve: one line, exit 2', async () => {
  const r = await run(process.execPath, [cli, 'serve', '--host', '999.1.1.1', '--port', '0', '--no-record']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'blockscope: getaddrinfo ENOTFOUND 999.1.1.1\n');
});

test('serve --filter=log with a logfile= it cannot open: one line naming logfile=, exit 2', async () => {
  for (const [logfile, why] of [
    ['/nonexistent/dir/log', 'no such directory'],
    [tmpdir(), 'is a directory'],
  ]) {
    const r = await run(process.execPath, [
      cli,
      'serve',
      '--filter=log',
      `logfile=${logfile}`,
      '--port',
      '0',
      '--no-record',
      '--run',
      'true',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `blockscope: logfile=${logfile}: ${why}\n`);
  }
});

test('export --webm: a --from past the recording is one line and exit 2, before any browser starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-cli-export-'));
  try {
    const log = join(dir, 'w.log');
    writesLog(log, 300); // 0.3 s of session
    const rec = join(dir, 'w.bsrec');
    await importLogs([log], rec, null);
    const out = join(dir, 'x.webm');
    const r = await run(process.execPath, [cli, 'export', rec, '--webm', out, '--from', '1e6', '--to', '2e6'], {
      env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^blockscope: --from 1000000 is past the recording's end \(0\.\d s\)\n$/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
