// attach's bad input: a log path that exists but is no regular file is refused at once, in one
// line with exit status 2. A FIFO used to block open(2), and with it the event loop, so that only
// SIGKILL could stop attach; a directory gave a stack trace (or, with --size, an endless error).
// And a log that nbdkit restarted (logappend=false) starts the picture again even when the new
// run had already written past the old read offset when attach looked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engine } from '../engine.ts';
import { run, spawnCli } from '../test/harness.ts';
import { attachDisk } from './attach.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');

test('attach to a directory or a FIFO: one line, exit 2, never blocking', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attach-special-'));
  try {
    mkdirSync(join(dir, 'dir.log'));
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    for (const [name, why] of [
      ['dir.log', 'is a directory'],
      ['fifo.log', 'not a regular file'],
    ]) {
      for (const extra of [[], ['--size', '1G']]) {
        const r = await run(process.execPath, [cli, 'attach', join(dir, name), ...extra, '--no-record'], {
          timeoutMs: 30_000,
        });
        assert.equal(r.code, 2, `${name} ${extra.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, `blockscope: ${join(dir, name)}: ${why}\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An nbdkit 1.32 log: a Connect line at `time`, then `count` requests of `op`, 4 KiB each from `base`. */
function nbdkitLog(time: string, op: string, count: number, base: number): string {
  const lines = [
    `2026-12-07 ${time}.000000 connection=1 Connect export="" tls=0 size=0x40000000 minsize=0x0 prefsize=0x0 ` +
      'maxsize=0x0 write=1 flush=1 rotational=0 trim=1 zero=2 fua=2 extents=1 cache=2 fast_zero=1',
  ];
  for (let i = 1; i <= count; i++) {
    const at = `2026-12-07 ${time}.${String(i).padStart(6, '0')}`;
    lines.push(`${at} connection=1 ${op} id=${i} offset=0x${(base + i * 4096).toString(16)} count=0x1000 fua=0 ...`);
    lines.push(`${at} connection=1 ...${op} id=${i} return=0`);
  }
  return lines.join('\n') + '\n';
}

test('a log truncated and rewritten longer in one write restarts the picture with exactly the new requests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attach-rewrite-'));
  const log = join(dir, 'log');
  writeFileSync(log, nbdkitLog('09:00:00', 'Write', 100, 0));
  const a = await attachDisk(new Engine(), 1, log, 1n << 30n, null);
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cond(), `timed out: ${JSON.stringify(a.disk.info().counters)}`);
  };
  try {
    await until(() => a.disk.info().counters.write.count === 100);
    // nbdkit restarting with logappend=false, already past the old offset when the tailer looks:
    // O_TRUNC and one write, with no turn of the event loop between them.
    const fd = openSync(log, constants.O_WRONLY | constants.O_TRUNC);
    writeSync(fd, nbdkitLog('10:00:00', 'Trim', 300, 512 << 20));
    closeSync(fd);
    await until(() => a.disk.info().counters.trim.count === 300);
    const d = a.disk.info();
    assert.equal(d.counters.write.count, 0, 'the old run is still shown');
    assert.equal(d.blocks.written, 0);
    assert.equal(d.blocks.trimmed, 300);
    assert.equal(a.unparsed, 0);
  } finally {
    await a.tailer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attach waiting for a Connect line says so once, and again only when the log appears', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attach-wait-'));
  const log = join(dir, 'log');
  const a = spawnCli(['attach', log, '--no-record']);
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 600 && !re.test(a.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(a.stderr(), re);
  };
  try {
    await waitFor(/to appear/);
    await new Promise((r) => setTimeout(r, 2500)); // it looks every second
    writeFileSync(log, '2026-12-07 09:00:00.000001 connection=1 Flush id=1 ...\n');
    await waitFor(/waiting for \S+ to show its size/);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(
      a.stderr(),
      `blockscope: waiting for ${log} to appear and show its size (Connect line); or give --size\n` +
        `blockscope: waiting for ${log} to show its size (Connect line); or give --size\n`,
    );
    assert.equal(await a.stop(), 0);
  } finally {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
