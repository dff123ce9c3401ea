// The error and delay filters seen by real clients.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NBDSH_ENV, eventually, requireBinary, run, startDisks } from './harness.ts';

const qemuIo = (uri: string, ...cmds: string[]) =>
  run('qemu-io', ['-f', 'raw', uri, ...cmds.flatMap((c) => ['-c', c])]);

test('error-file: qemu-io reads fail with EIO while the file exists, succeed after, no restart', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const t = await startDisks({
    filters: (_d, dir) => [{ name: 'error', params: { 'error-rate': '100%', 'error-file': join(dir, 'error') } }],
  });
  try {
    const errFile = join(t.dir, 'error');
    assert.equal((await qemuIo(t.uris[0], 'read 0 4k')).code, 0);
    writeFileSync(errFile, '');
    const bad = await qemuIo(t.uris[0], 'read 0 4k');
    assert.match(bad.stdout + bad.stderr, /read failed: Input\/output error/);
    // The disk's worker looks at its error files a few times a second (DiskInfo shows what it saw).
    const deadline = Date.now() + 2000;
    while (!t.engine.disk(1).info().errorsOn && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.engine.disk(1).info().errorsOn, true, 'the toggle reflects the file');
    rmSync(errFile);
    const good = await qemuIo(t.uris[0], 'read 0 4k');
    assert.doesNotMatch(good.stdout + good.stderr, /failed/);
    // The live toggle creates and removes the same file.
    await t.engine.disk(1).setErrors(true);
    assert.ok(existsSync(errFile));
    assert.match((await qemuIo(t.uris[0], 'write 0 4k')).stdout, /write failed: Input\/output error/);
    await t.engine.disk(1).setErrors(false);
    assert.ok(!existsSync(errFile));
    assert.doesNotMatch((await qemuIo(t.uris[0], 'write 0 4k')).stdout, /failed/);
    await eventually(() => t.engine.disk(1).info().counters.write.count, 2, 'both writes are counted');
    const info = t.engine.disk(1).info();
    assert.equal(info.counters.read.errors, 1);
    assert.equal(info.counters.write.errors, 1);
  } finally {
    await t.close();
  }
});

test('per-operation forms: error-pwrite-rate=100% fails writes only; error=ENOSPC changes the error', async () => {
  const t = await startDisks({
    filters: [{ name: 'error', params: { 'error-pwrite-rate': '100%', 'error-pwrite': 'ENOSPC' } }],
  });
  try {
    const w = await qemuIo(t.uris[0], 'write 0 4k');
    assert.match(w.stdout, /write failed: No space left on device/);
    const r = await qemuIo(t.uris[0], 'read 0 4k', 'discard 0 4k');
    assert.doesNotMatch(r.stdout + r.stderr, /failed/);
    // Injected errors never reach the backend: nothing was written.
    assert.equal((await t.engine.disk(1).path!.describeBackend()).allocated, 0);
  } finally {
    await t.close();
  }
});

test('the Error toggle without an error filter uses the built-in one', async () => {
  const t = await startDisks({});
  try {
    await t.engine.disk(1).setErrors(true);
    assert.match((await qemuIo(t.uris[0], 'read 0 4k')).stdout, /Input\/output error/);
    await t.engine.disk(1).setErrors(false);
    assert.doesNotMatch((await qemuIo(t.uris[0], 'read 0 4k')).stdout, /failed/);
  } finally {
    await t.close();
  }
});

test('delay: a 40 ms rdelay read takes ≥ 40 ms; 8 parallel 500 ms reads finish in < 1 s', async () => {
  requireBinary('nbdsh', 'python3-libnbd');
  const t = await startDisks({ filters: [{ name: 'delay', params: { rdelay: '40ms' } }] });
  try {
    const one = await run(
      'nbdsh',
      ['-u', t.uris[0], '-c', 'import time\nt=time.monotonic()\nh.pread(4096, 0)\nprint(time.monotonic()-t)'],
      { env: NBDSH_ENV },
    );
    assert.equal(one.code, 0, one.stderr);
    const single = Number(one.stdout.trim());
    assert.ok(single >= 0.04, `read took ${single * 1000} ms`);
    // Live change: applies to requests that start afterwards.
    await t.engine.disk(1).setFilterParams('delay', { rdelay: '500ms' });
    const script = `
import time
t = time.monotonic()
cs = [h.aio_pread(nbd.Buffer(4096), i * 4096) for i in range(8)]
while h.aio_in_flight() > 0:
    h.poll(-1)
print(time.monotonic() - t)`;
    const par = await run('nbdsh', ['-u', t.uris[0], '-c', script], { env: NBDSH_ENV });
    assert.equal(par.code, 0, par.stderr);
    const total = Number(par.stdout.trim());
    console.log(
      `delay: single 40 ms read ${(single * 1000).toFixed(1)} ms; 8 parallel 500 ms reads ${(total * 1000).toFixed(0)} ms`,
    );
    assert.ok(total >= 0.5 && total < 1, `8 parallel reads took ${total * 1000} ms`);
    await eventually(() => t.events[0].filter((e) => e.op === 'read').length, 9, 'one event per read request');
  } finally {
    await t.close();
  }
});

test('a client that disconnects during a delay leaves no timers behind; its requests count as cancelled, not errors', async () => {
  // Inline: the delay's timers are then this thread's, where the test can count them.
  const t = await startDisks({ filters: [{ name: 'delay', params: { rdelay: '5' } }], thread: 'inline' });
  try {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const p = run(
      'nbdsh',
      [
        '-u',
        t.uris[0],
        '-c',
        'h.aio_pread(nbd.Buffer(4096), 0)\nh.aio_pread(nbd.Buffer(4096), 4096)\nimport time\ntime.sleep(1.5)',
      ],
      { env: NBDSH_ENV },
    );
    // Poll rather than sleep a fixed time: python's start-up is slow on a loaded machine.
    const until = async (cond: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      return cond();
    };
    assert.ok(await until(() => t.engine.disk(1).info().inFlight === 2, 10_000), 'both reads should be delayed');
    assert.ok(timers() >= before + 2, 'delays should be pending');
    await p; // nbdsh exits without waiting for the replies
    assert.ok(
      await until(() => timers() <= before && t.engine.disk(1).info().inFlight === 0, 5_000),
      `timers left: ${timers() - before}`,
    );
    const info = t.engine.disk(1).info();
    assert.equal(info.inFlight, 0);
    // No client saw an error: the two reads were cancelled by the disconnect.
    assert.deepEqual(info.counters.read, { count: 2, bytes: 0, errors: 0, cancelled: 2 });
    assert.deepEqual(
      t.events[0].filter((e) => e.op === 'read').map((e) => [e.cancelled, e.error]),
      [
        [true, 'ESHUTDOWN'],
        [true, 'ESHUTDOWN'],
      ],
    );
    assert.equal(info.errorBlocks, 0, 'a cancelled request marks no cell');
  } finally {
    await t.close();
  }
});

test('rdelay=2147484 (past 2^31 ms) really delays reads: qemu-io is still waiting when it is killed', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const t = await startDisks({ filters: [{ name: 'delay', params: { rdelay: '2147484' } }] });
  try {
    const read = run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'read 0 4k'], { timeoutMs: 4000 });
    for (let i = 0; i < 200 && t.engine.disk(1).info().inFlight < 1; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(t.engine.disk(1).info().inFlight, 1, 'the read should be waiting in the delay');
    const r = await read;
    // Node's timer overflow made this read instant (exit 0 at once); it must wait until killed.
    assert.equal(r.code, null, `qemu-io finished: ${r.stdout}${r.stderr}`);
    for (let i = 0; i < 100 && t.engine.disk(1).info().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(t.engine.disk(1).info().counters.read, { count: 1, bytes: 0, errors: 0, cancelled: 1 });
  } finally {
    await t.close();
  }
});
