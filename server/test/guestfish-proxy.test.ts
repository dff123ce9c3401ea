// A real guest on a qcow2 through the proxy: qemu (guestfish's appliance) → Blockscope (nbd
// proxy) → qemu-nbd → vm.qcow2. The appliance boots, mounts the filesystem on the image, reads a
// file and writes one; the control API's block-state map shows the reads of the boot.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startControlServer, type ControlServer } from '../control/http.ts';
import type { CellInfo, DiskInfo } from '../shared/types.ts';
import { requireBinary, run, startDisks, type TestDisks } from './harness.ts';

let dir: string;
let t: TestDisks;
let api: ControlServer;

before(async () => {
  requireBinary('guestfish', 'libguestfs-tools');
  requireBinary('mkfs.ext4', 'e2fsprogs');
  requireBinary('qemu-img', 'qemu-utils');
  dir = mkdtempSync(join(tmpdir(), 'blockscope-vm-'));
  // The guest's disk: an ext4 filesystem with a file on it, made without booting anything.
  const content = join(dir, 'content');
  mkdirSync(content);
  writeFileSync(join(content, 'hello.txt'), 'hello from the qcow2\n');
  const raw = join(dir, 'vm.raw');
  const mk = spawnSync('mkfs.ext4', ['-q', '-F', '-d', content, raw, '64M'], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  const conv = spawnSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'vm.qcow2')], {
    encoding: 'utf8',
  });
  assert.equal(conv.status, 0, conv.stderr);
  t = await startDisks({
    backend: 'image',
    size: 0n,
    unix: true,
    backendParams: () => ({ file: join(dir, 'vm.qcow2') }),
  });
  api = await startControlServer(t.engine, { port: 0 });
});
after(async () => {
  await api?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async <T>(path: string): Promise<T> => (await (await fetch(api.urlFor(path))).json()) as T;

test('guestfish boots, reads and writes a qcow2 through the proxy; the grid shows its reads', async () => {
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  const r = await run(
    'guestfish',
    [
      '--',
      'add-drive',
      '',
      'protocol:nbd',
      `server:unix:${t.unixSockets[0]}`,
      'format:raw',
      ':',
      'run',
      ':',
      'mount',
      '/dev/sda',
      '/',
      ':',
      'cat',
      '/hello.txt',
      ':',
      'write',
      '/from-the-guest.txt',
      'written through blockscope',
      ':',
      'umount-all',
      ':',
      'sync',
    ],
    { env, timeoutMs: 540_000 },
  );
  assert.equal(r.code, 0, `guestfish failed (libguestfs-test-tool diagnoses the appliance): ${r.stderr}`);
  assert.match(r.stdout, /hello from the qcow2/);

  const [disk] = await get<DiskInfo[]>('/api/disks');
  assert.equal(disk.backend, 'image');
  assert.equal(disk.upstream?.state, 'connected');
  assert.ok(disk.counters.read.count > 10, `reads: ${disk.counters.read.count}`);
  assert.ok(disk.counters.write.count > 0, `writes: ${disk.counters.write.count}`);
  // The superblock lives at byte 1024: the cell holding it was read during the mount.
  const cell = await get<CellInfo>('/api/disks/1/cells/0');
  assert.ok(cell.reads > 0, `cell 0 reads: ${cell.reads}`);
  assert.ok(disk.blocks.written > 0, 'the guest writes are on the grid');

  // The write went through qemu-nbd into the qcow2 (-U: qemu-nbd still holds its lock).
  const qcow2 = join(dir, 'vm.qcow2');
  const check = spawnSync('qemu-img', ['check', '-U', qcow2], { encoding: 'utf8' });
  assert.match(check.stdout, /No errors were found/, check.stdout + check.stderr);
  const out = join(dir, 'after.raw');
  assert.equal(spawnSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', qcow2, out]).status, 0);
  assert.ok(readFileSync(out).includes('written through blockscope'), 'the guest write is not in the image');
});
