// Faults and load (issue 10 §3): many verifying clients at once, on one disk and across disks;
// clients SIGKILLed while their requests sit in a 2 s delay; 200 connections opened and dropped
// fast; the error toggle flipped under fio. (The client that never reads its replies is in
// backpressure.test.ts, where the server runs in its own process.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { IHAVEOPT, OPT } from '../protocol/constants.ts';
import { encodeRequestHeader } from '../protocol/transmission.ts';
import { NBDSH_ENV, requireBinary, run, startDisks, type RunResult, type TestDisks } from './harness.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A fresh qemu-io writes a pattern and reads it back. */
async function stillServes(uri: string, pattern: number): Promise<void> {
  const r = await run('qemu-io', [
    '-f',
    'raw',
    uri,
    '-c',
    `write -P ${pattern} 0 64k`,
    '-c',
    `read -P ${pattern} 0 64k`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /failed|Pattern verification/);
}

const connections = (t: TestDisks) => t.engine.disks.reduce((n, d) => n + (d.path?.state().connections ?? 0), 0);

/** fio's JSON (after the "connected to NBD server" line its nbd engine prints). */
function fioJobs(
  r: RunResult,
): Array<{ jobname: string; error: number; total_err?: number; read: { io_bytes: number } }> {
  const json = r.stdout.slice(r.stdout.indexOf('{'));
  return JSON.parse(json).jobs;
}

const fio = (uri: string, args: string[]) =>
  // --verify_state_save=0: fio would otherwise leave local-load-N-verify.state files in the working directory.
  run(
    'fio',
    ['--name=load', '--ioengine=nbd', `--uri=${uri}`, '--output-format=json', '--verify_state_save=0', ...args],
    {
      timeoutMs: 300_000,
    },
  );

test('16 fio jobs with verification on one disk: every block reads back as written', { timeout: 300_000 }, async () => {
  requireBinary('fio', 'fio');
  const t = await startDisks({ size: 64n * BigInt(MiB) });
  try {
    const r = await fio(t.uris[0], [
      '--rw=randwrite',
      '--bs=4k',
      '--size=4M',
      '--numjobs=16',
      '--offset_increment=4M',
      '--iodepth=8',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const jobs = fioJobs(r);
    assert.equal(jobs.length, 16);
    for (const j of jobs) {
      assert.equal(j.error, 0, `job ${j.jobname}: error ${j.error}`);
      assert.equal(j.read.io_bytes, 4 * MiB, 'the verify pass read the whole region back');
    }
  } finally {
    await t.close();
  }
});

test(
  '16 qemu-io clients across 4 disks, each on its own region with its own pattern',
  { timeout: 300_000 },
  async () => {
    requireBinary('qemu-io', 'qemu-utils');
    const t = await startDisks({ disks: 4, size: 16n * BigInt(MiB), unix: true });
    try {
      const client = (i: number) => {
        const uri = t.uris[i % 4];
        const base = Math.floor(i / 4) * 2 * MiB;
        const cmds = [];
        for (let k = 0; k < 32; k++) cmds.push('-c', `aio_write -P ${i + 1} ${base + k * 64 * 1024} 64k`);
        cmds.push('-c', 'aio_flush', '-c', `read -P ${i + 1} ${base} 2M`);
        return run('qemu-io', ['-f', 'raw', '-t', 'none', uri, ...cmds], { timeoutMs: 120_000 });
      };
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => client(i)));
      results.forEach((r, i) => {
        assert.equal(r.code, 0, `client ${i}: ${r.stderr}`);
        assert.doesNotMatch(r.stdout, /failed|Pattern verification/, `client ${i}: ${r.stdout.slice(-500)}`);
      });
      // A fresh client per disk sees every region's pattern: nobody wrote over anybody else.
      for (let d = 0; d < 4; d++) {
        const cmds = [0, 1, 2, 3].flatMap((k) => ['-c', `read -P ${k * 4 + d + 1} ${k * 2 * MiB} 2M`]);
        const r = await run('qemu-io', ['-f', 'raw', '-r', t.uris[d], ...cmds]);
        assert.doesNotMatch(r.stdout, /failed|Pattern verification/, `disk ${d + 1}: ${r.stdout}`);
      }
    } finally {
      await t.close();
    }
  },
);

test(
  'clients SIGKILLed mid-request under a 2 s delay: requests cancelled, nothing leaks, the disk serves on',
  { timeout: 300_000 },
  async () => {
    requireBinary('qemu-io', 'qemu-utils');
    requireBinary('nbdsh', 'python3-libnbd');
    const t = await startDisks({
      size: 16n * BigInt(MiB),
      filters: [{ name: 'delay', params: { rdelay: '2', wdelay: '2' } }],
    });
    try {
      const disk = t.engine.disk(1);
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      const kids = [
        spawn('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'read 0 64k'], { stdio: 'ignore' }),
        spawn('qemu-io', ['-f', 'raw', '-t', 'none', t.uris[0], '-c', 'write -P 9 1M 64k'], { stdio: 'ignore' }),
        spawn(
          'nbdsh',
          [
            '-u',
            t.uris[0],
            '-c',
            'for i in range(8): h.aio_pread(nbd.Buffer(4096), i * 4096)\nimport time\ntime.sleep(30)',
          ],
          { stdio: 'ignore', env: NBDSH_ENV },
        ),
      ];
      await until('10 requests waiting in the delay', () => disk.info().inFlight >= 10, 30_000);
      for (const k of kids) k.kill('SIGKILL');
      await until('every connection to close', () => connections(t) === 0);
      await until('no request left in flight', () => disk.info().inFlight === 0, 3000);
      await until('the delays to release their timers', () => timers() <= before, 3000);
      await disk.setFilterParams('delay', { rdelay: '0', wdelay: '0' });
      await stillServes(t.uris[0], 7);
    } finally {
      await t.close();
    }
  },
);

test(
  '200 connections opened and dropped fast, in every phase: all closed, descriptors back, disk serves',
  { timeout: 300_000 },
  async () => {
    requireBinary('qemu-io', 'qemu-utils');
    const t = await startDisks({ size: 16n * BigInt(MiB), unix: true });
    try {
      const fds = () => readdirSync('/proc/self/fd').length;
      const baseline = fds();
      const option = (opt: number) => {
        const h = Buffer.alloc(16);
        h.writeBigUInt64BE(IHAVEOPT, 0);
        h.writeUInt32BE(opt, 8);
        return h;
      };
      const flags = Buffer.from([0, 0, 0, 3]);
      const read = encodeRequestHeader({ flags: 0, type: 0, cookieHi: 0, cookieLo: 1, offset: 0n, length: 4 * MiB });
      const one = (i: number) =>
        new Promise<void>((resolve) => {
          const s: Socket = connect(t.unixSockets[0]);
          s.on('error', () => {});
          s.resume(); // read (and drop) the greeting, so that the server's FIN is seen
          s.on('close', () => resolve());
          s.on('connect', () => {
            switch (i % 5) {
              case 0: // gone before the greeting is read
                return s.destroy();
              case 1: // gone mid client flags
                s.write(flags.subarray(0, 2));
                return setImmediate(() => s.destroy());
              case 2: // gone mid option
                s.write(Buffer.concat([flags, option(OPT.GO).subarray(0, 10)]));
                return setImmediate(() => s.destroy());
              case 3: // gone with a 4 MiB read in flight
                s.write(Buffer.concat([flags, option(OPT.EXPORT_NAME), read]));
                return setTimeout(() => s.destroy(), 1);
              default: // half-close: the server sees EOF and must close its side too
                s.write(flags);
                return s.end();
            }
          });
        });
      await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
      await until('the server to close all 200', () => connections(t) === 0);
      await until('descriptors back to baseline', () => fds() <= baseline + 2);
      await stillServes(t.uris[0], 3);
    } finally {
      await t.close();
    }
  },
);

test(
  'error toggle flipped every 50 ms under fio: errors reach that disk only, the other verifies clean, both recover',
  { timeout: 300_000 },
  async () => {
    requireBinary('fio', 'fio');
    const t = await startDisks({ disks: 2, size: 32n * BigInt(MiB) });
    try {
      const flaky = t.engine.disk(2);
      let toggling = true;
      let flips = 0;
      const toggler = (async () => {
        while (toggling) {
          await flaky.setErrors(flips++ % 2 === 0);
          await sleep(50);
        }
        await flaky.setErrors(false);
      })();
      const verifying = ['--bs=4k', '--size=8M', '--numjobs=4', '--offset_increment=8M', '--iodepth=8'];
      const [clean, hit] = await Promise.all([
        fio(t.uris[0], ['--rw=randwrite', ...verifying, '--verify=crc32c', '--do_verify=1', '--verify_fatal=1']),
        fio(t.uris[1], ['--rw=randrw', ...verifying, '--continue_on_error=all', '--loops=3']),
      ]);
      toggling = false;
      await toggler;
      assert.equal(clean.code, 0, clean.stderr);
      for (const j of fioJobs(clean)) assert.equal(j.error, 0, 'the disk without errors is untouched by the other');
      const errs = fioJobs(hit).reduce((n, j) => n + (j.total_err ?? 0), 0);
      assert.ok(flips > 4, 'the toggle flipped while fio ran');
      assert.ok(errs > 0, 'injected errors reached the client of the toggled disk');
      assert.ok(flaky.info().counters.write.errors + flaky.info().counters.read.errors > 0);
      // Errors off: the same disk verifies clean.
      const after = await fio(t.uris[1], ['--rw=randwrite', ...verifying, '--verify=crc32c', '--do_verify=1']);
      assert.equal(after.code, 0, after.stderr);
      for (const j of fioJobs(after)) assert.equal(j.error, 0);
    } finally {
      await t.close();
    }
  },
);
