// Hold I/O seen by a real client: qemu-io's write waits while the disk is held (drawn in flight),
// completes when released, and a client that gives up while held leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ControlApi } from '../control/api.ts';
import { eventually, requireBinary, run, startDisks } from './harness.ts';

test('hold: a held disk stalls qemu-io until released; the request shows in flight meanwhile', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const t = await startDisks({ disks: 2 });
  const api = new ControlApi(t.engine, { logDir: t.dir });
  try {
    const after = (await api.call('setHold', { on: true, disk: 1 })) as Array<{ held: boolean }>;
    assert.deepEqual(
      after.map((d) => d.held),
      [true, false],
      'only disk 1 held',
    );
    const started = performance.now();
    const writing = run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'write -P 7 0 64k']);
    // Disk 2 is not held: it answers at once.
    assert.equal((await run('qemu-io', ['-f', 'raw', t.uris[1], '-c', 'write 0 4k'])).code, 0);
    let inFlight = 0;
    for (let i = 0; i < 100 && inFlight === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      inFlight = t.engine.disk(1).info().inFlight;
    }
    assert.equal(inFlight, 1, 'the write waits at the gate, in flight');
    assert.equal(t.engine.disk(1).info().blocks.written, 0, 'and nothing is written yet');
    await new Promise((r) => setTimeout(r, 300));
    await api.call('setHold', { on: false });
    const w = await writing;
    assert.equal(w.code, 0, w.stderr);
    assert.ok(performance.now() - started >= 300, 'it really waited');
    await eventually(() => t.engine.disk(1).info().blocks.written, 16, 'the write is on the grid once released');
    assert.equal(t.engine.disk(1).info().held, false);
  } finally {
    await t.close();
  }
});

test('hold: a client killed while held leaves no stuck request; the disk keeps serving', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const t = await startDisks();
  try {
    await t.engine.disk(1).setHold(true);
    const child = spawn('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'read 0 4k'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && t.engine.disk(1).info().inFlight === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.engine.disk(1).info().inFlight, 1);
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && t.engine.disk(1).info().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.engine.disk(1).info().inFlight, 0, 'the disconnect cancelled the held request');
    await t.engine.disk(1).setHold(false);
    assert.equal((await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'read 0 4k'])).code, 0);
  } finally {
    await t.close();
  }
});
