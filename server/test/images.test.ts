// Disk images of every format qemu reads, served through a qemu-nbd that Blockscope starts and
// stops: `blockscope serve image.qcow2` shows the guest's view of the disk.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requireBinary, run, startDisks } from './harness.ts';
import { startServeProcess } from './serve-process.ts';

let dir: string;
let raw: string;
before(() => {
  requireBinary('qemu-img', 'qemu-utils');
  requireBinary('qemu-nbd', 'qemu-utils');
  requireBinary('nbdcopy', 'libnbd-bin');
  dir = mkdtempSync(join(tmpdir(), 'blockscope-images-'));
  raw = join(dir, 'source.raw');
  const data = Buffer.alloc(32 << 20);
  randomBytes(1 << 20).copy(data, 0);
  randomBytes(1 << 20).copy(data, 20 << 20);
  writeFileSync(raw, data);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;

for (const format of ['qcow2', 'vmdk', 'vdi', 'vhdx']) {
  test(`a ${format} image: format detected, the guest's bytes served, qemu-nbd stopped with the disk`, async () => {
    const img = join(dir, `disk.${format}`);
    const conv = spawnSync('qemu-img', ['convert', '-f', 'raw', '-O', format, raw, img], { encoding: 'utf8' });
    assert.equal(conv.status, 0, conv.stderr);
    const t = await startDisks({ backend: 'image', size: 0n, unix: true, backendParams: () => ({ file: img }) });
    let pid: number;
    try {
      const info = t.engine.disk(1).info();
      assert.equal(info.backend, 'image');
      assert.equal(info.size, String(32 << 20));
      assert.equal(info.upstream?.state, 'connected');
      const d = await t.engine.disk(1).path!.describeBackend();
      assert.equal(d.format, format);
      pid = d.pid as number;
      assert.ok(alive(pid), 'qemu-nbd runs');
      const out = join(dir, `out-${format}.raw`);
      const r = await run('nbdcopy', [t.uris[0], out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha(out), sha(raw), 'the guest view differs from the source');
      assert.ok(t.engine.disk(1).info().counters.read.count > 0);
    } finally {
      await t.close();
    }
    assert.ok(!alive(pid), 'qemu-nbd was not stopped');
  });
}

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');

test('blockscope serve IMAGE: read-only unless --writable; writes land in the image', async () => {
  const img = join(dir, 'cli.qcow2');
  spawnSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, img]);
  const serve = (...args: string[]) =>
    run(process.execPath, [cli, 'serve', img, '--unix', join(dir, 'cli-sock'), ...args], { timeoutMs: 60_000 });
  const ro = await serve('--run', 'qemu-io -f raw "$uri" -c "write -P 0x77 0 4k"');
  assert.notEqual(ro.code, 0, 'a write to a read-only image succeeded');
  assert.match(ro.stderr + ro.stdout, /Operation not permitted|read-only|Permission denied/i);
  const rw = await serve('--writable', '--run', 'qemu-io -f raw "$uri" -c "write -P 0x77 0 4k" -c "read -P 0x77 0 4k"');
  assert.equal(rw.code, 0, rw.stderr);
  const check = await run('qemu-io', ['-f', 'qcow2', img, '-c', 'read -P 0x77 0 4k']);
  assert.equal(check.code, 0, check.stderr);
  assert.doesNotMatch(check.stdout, /verification failed/);
  assert.ok(!existsSync(join(dir, 'cli-sock', 'disk1.sock')), 'socket left behind');
  const bad = await run(process.execPath, [cli, 'serve', join(dir, 'missing.qcow2')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /images must exist/);
  const notImage = join(dir, 'empty');
  writeFileSync(notImage, '');
  const weird = await run(process.execPath, [cli, 'serve', notImage, '--writable', '--size', '1M']);
  assert.equal(weird.code, 2);
  assert.match(weird.stderr, /--size/);
});

test('a SIGKILLed blockscope takes its qemu-nbd with it (parent-death signal through setpriv)', async () => {
  requireBinary('setpriv', 'util-linux');
  const img = join(dir, 'orphan.qcow2');
  spawnSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, img]);
  const s = await startServeProcess([img]);
  try {
    const found = spawnSync('pgrep', ['-P', String(s.proc.pid), '-x', 'qemu-nbd'], { encoding: 'utf8' });
    const pid = Number(found.stdout.trim().split('\n')[0]);
    assert.ok(pid > 0, `no qemu-nbd child of serve (${found.stdout}${found.stderr})`);
    await s.kill();
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!alive(pid), `qemu-nbd ${pid} outlived the SIGKILLed server`);
  } finally {
    await s.kill();
  }
});
