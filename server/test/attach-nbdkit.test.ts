// Attach mode against a real nbdkit (Debian 1.32): the same client commands give the same
// counts and block states as the embedded server; the Error toggle drives nbdkit's error file.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { attachDisk } from '../cli/attach.ts';
import { Engine } from '../engine.ts';
import { percentile } from '../../bench/stats.ts';
import { requireBinary, run, startDisks } from './harness.ts';

const COMMANDS = [
  'write -P 1 0 1M',
  'discard 64k 64k',
  'write -z 1M 4k',
  'write -z -u 2M 64k',
  'read 0 8k',
  'write -P 2 60M 4k',
  'flush',
];

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 20) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), 'timed out');
}

test('attach follows a real nbdkit: counts and block states match the embedded server', async () => {
  requireBinary('nbdkit', 'nbdkit');
  requireBinary('qemu-io', 'qemu-utils');
  requireBinary('nbdcopy', 'libnbd-bin');
  const t = await startDisks({});
  let nbdkit: ChildProcess | null = null;
  const engine = new Engine();
  try {
    const sock = join(t.dir, 'nbdkit.sock');
    const log = join(t.dir, 'log1');
    const errFile = join(t.dir, 'error1');
    nbdkit = spawn(
      'nbdkit',
      [
        '-f',
        '-U',
        sock,
        '--filter=log',
        '--filter=error',
        '--filter=delay',
        'memory',
        'size=64M',
        `logfile=${log}`,
        'error-rate=100%',
        `error-file=${errFile}`,
        'rdelay=0',
        'wdelay=0',
      ],
      { stdio: 'ignore' },
    );
    await until(() => existsSync(sock));
    const uri = `nbd+unix:///?socket=${sock}`;
    const a = await attachDisk(engine, 1, log, 64n << 20n, errFile);
    for (const target of [uri, t.uris[0]]) {
      const r = await run('qemu-io', ['-f', 'raw', '-t', 'none', target, ...COMMANDS.flatMap((c) => ['-c', c])]);
      assert.equal(r.code, 0, r.stderr);
      const c = await run('nbdcopy', ['--', '[', 'nbdkit', '--exit-with-parent', 'pattern', 'size=8M', ']', target]);
      assert.equal(c.code, 0, c.stderr);
    }
    const embedded = t.engine.disk(1).info();
    await until(() => a.disk.info().counters.write.count === embedded.counters.write.count);
    const attached = a.disk.info();
    assert.deepEqual(attached.blocks, embedded.blocks);
    for (const op of ['read', 'write', 'trim', 'zero'] as const) {
      assert.equal(attached.counters[op].count, embedded.counters[op].count, `${op} count`);
      assert.equal(attached.counters[op].bytes, embedded.counters[op].bytes, `${op} bytes`);
    }
    assert.equal(a.unparsed, 0);

    // The Error toggle creates nbdkit's error file; reads fail until it is toggled off.
    await a.disk.setErrors(true);
    assert.ok(existsSync(errFile));
    const bad = await run('qemu-io', ['-f', 'raw', uri, '-c', 'read 0 4k']);
    assert.match(bad.stdout, /Input\/output error/);
    await a.disk.setErrors(false);
    assert.equal(a.disk.errorsOn(), false);
    const good = await run('qemu-io', ['-f', 'raw', uri, '-c', 'read 0 4k']);
    assert.doesNotMatch(good.stdout, /failed/);
    await until(() => a.disk.info().counters.read.errors === 1);
    // Someone else creates the file: the toggle shows it.
    writeFileSync(errFile, '');
    assert.equal(a.disk.errorsOn(), true);
    await a.tailer.close();
  } finally {
    nbdkit?.kill();
    await t.close();
  }
});

test('lag from a log line being appended by another process to its event (median, p99)', async () => {
  const t = await startDisks({});
  const engine = new Engine();
  try {
    const log = join(t.dir, 'lag.log');
    writeFileSync(log, '');
    const a = await attachDisk(engine, 1, log, 64n << 20n, null);
    const seen = new Map<number, number>();
    const written = new Map<number, number>();
    a.disk.bus.subscribe((phase, ev) => {
      if (phase === 'end') seen.set(ev.id, Date.now());
    });
    // A separate process appends one request (ENTER + LEAVE) every 4 ms, as nbdkit would,
    // and reports when it wrote each one.
    const child = `
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(log)}, 'a');
      const ts = '2026-11-23 05:00:00.000000 connection=1 ';
      let i = 0;
      const t = setInterval(() => {
        i++;
        const off = (i * 4096).toString(16);
        fs.writeSync(fd, ts + 'Write id=' + i + ' offset=0x' + off + ' count=0x1000 fua=0 ...\\n' + ts + '...Write id=' + i + ' return=0\\n');
        process.send([i, Date.now()]);
        if (i === 500) { clearInterval(t); fs.closeSync(fd); process.disconnect(); }
      }, 4);`;
    const p = spawn(process.execPath, ['-e', child], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    p.on('message', (m) => {
      const [id, ms] = m as [number, number];
      written.set(id, ms);
    });
    await until(() => seen.size === 500 && written.size === 500, 15_000);
    const lags = [...seen].map(([id, at]) => Math.max(0, at - written.get(id)!));
    const p50 = percentile(lags, 0.5);
    const p99 = percentile(lags, 0.99);
    console.log(
      `attach lag: log line appended by another process → event: median ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${lags.length} requests`,
    );
    assert.equal(a.disk.info().blocks.written, 500);
    assert.ok(p50 < 200, `median lag ${p50} ms`);
    await a.tailer.close();
  } finally {
    await t.close();
  }
});

test('replay --summary of a finished log gives what the disk saw', async () => {
  const t = await startDisks({ filters: (_d, dir) => [{ name: 'log', params: { logfile: join(dir, 'log1') } }] });
  try {
    const r = await run('qemu-io', ['-f', 'raw', t.uris[0], ...COMMANDS.flatMap((c) => ['-c', c])]);
    assert.equal(r.code, 0, r.stderr);
    const live = t.engine.disk(1).info();
    await t.engine.closeAll(); // flush the log
    const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');
    const s = await run(process.execPath, [cli, 'replay', join(t.dir, 'log1'), '--summary']);
    assert.equal(s.code, 0, s.stderr);
    const [d] = JSON.parse(s.stdout);
    assert.equal(d.mode, 'replay');
    assert.equal(d.size, String(64 << 20));
    assert.deepEqual(d.blocks, live.blocks);
    assert.deepEqual(d.counters.write, live.counters.write);
    assert.equal(d.unparsedLines, 0);
    const bad = await run(process.execPath, [cli, 'replay', '--speed', 'fast', join(t.dir, 'log1')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /blockscope: --speed: expected a number from 0.1 to 100, got 'fast'/);
  } finally {
    await t.close();
  }
});
