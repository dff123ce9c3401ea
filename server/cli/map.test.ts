// `blockscope map` as a user runs it: on a raw image, on the same disk as qcow2, and on a live
// Blockscope disk over NBD — the three maps must be identical — plus --block, --json and errors.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireBinary, run, startDisks, type TestDisks } from '../test/harness.ts';
import { run as runTool } from '../structure/test-support.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');
const map = (...args: string[]) => run(process.execPath, [cli, 'map', ...args], { timeoutMs: 120_000 });

let t: TestDisks;
let disk: string;

before(async () => {
  requireBinary('qemu-img', 'qemu-utils');
  requireBinary('nbdcopy', 'libnbd-bin');
  t = await startDisks();
  const src = join(t.dir, 'src');
  mkdirSync(join(src, 'docs'), { recursive: true });
  writeFileSync(join(src, 'docs/report.txt'), 'x'.repeat(50_000));
  const part = join(t.dir, 'part.img');
  runTool('truncate', ['-s', '40M', part]);
  runTool('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', src, part]);
  disk = join(t.dir, 'disk.img');
  runTool('truncate', ['-s', '64M', disk]);
  runTool('sgdisk', ['-n', '1:2048:+40M', '-c', '1:data', disk]);
  runTool('dd', [`if=${part}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
});
after(async () => t?.close());

describe('blockscope map', () => {
  it('prints each range of a raw image with its chain, like virt-bmap', async () => {
    const r = await map(disk);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0x0000000000 0x0000000200 partition-table\s+protective MBR$/m);
    assert.match(
      r.stdout,
      /^0x0000\w+ 0x0000\w+ file\s+GPT partition 1 "data" › ext4 › \/docs\/report\.txt, bytes 0–\d+ \(inode \d+\)$/m,
    );
    assert.match(r.stdout, /GPT partition 1 "data" › ext4 › journal superblock$/m);
  });

  it('--block prints one block; --json gives the same ranges as the text', async () => {
    const j = await map(disk, '--json');
    assert.equal(j.code, 0, j.stderr);
    const out = JSON.parse(j.stdout) as {
      disks: Array<{ ranges: Array<{ start: string; end: string; kind: string; chain: string[] }> }>;
    };
    const report = out.disks[0].ranges.find((r) => r.chain.at(-1)!.startsWith('/docs/report.txt'))!;
    const block = Number(BigInt(report.start) / 4096n);
    const b = await map(disk, '--block', String(block));
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout.trim().split('\n').length, 1);
    assert.match(b.stdout, /\/docs\/report\.txt, bytes 0–4095 \(inode \d+\)$/m);
    const text = await map(disk);
    assert.equal(text.stdout.trim().split('\n').length, out.disks[0].ranges.length);
  });

  it('the same disk as qcow2, and live over NBD from a Blockscope disk, maps identically', async () => {
    const raw = JSON.parse((await map(disk, '--json')).stdout);
    const qcow = join(t.dir, 'disk.qcow2');
    runTool('qemu-img', ['convert', '-O', 'qcow2', disk, qcow]);
    const q = await map(qcow, '--json');
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual(JSON.parse(q.stdout).disks[0].ranges, raw.disks[0].ranges);
    const c = await run('nbdcopy', [disk, t.uris[0]]);
    assert.equal(c.code, 0, c.stderr);
    const live = await map(t.uris[0], '--json');
    assert.equal(live.code, 0, live.stderr);
    assert.deepEqual(JSON.parse(live.stdout).disks[0].ranges, raw.disks[0].ranges);
  });

  it('bad input gets a clear error and exit status 2', async () => {
    const missing = await map(join(t.dir, 'nope.img'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.img.*No such file/);
    const none = await map();
    assert.equal(none.code, 2);
    assert.match(none.stderr, /map needs an image file or an NBD URI/);
    const past = await map(disk, '--block', '999999');
    assert.equal(past.code, 2);
    assert.match(past.stderr, /block 999999 is past the end/);
  });

  it('an NBD server that is not there: one line saying so, exit status 2 (no stack trace)', async () => {
    // Port 1 (tcpmux) has no listener here: the connection is refused.
    const refused = await map('nbd://127.0.0.1:1/');
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(
      refused.stderr,
      'blockscope: cannot connect to nbd://127.0.0.1:1/: connection refused (is an NBD server listening there?)\n',
    );
    const socket = `nbd+unix:///?socket=${join(t.dir, 'nope.sock')}`;
    const missing = await map(socket);
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(
      missing.stderr,
      `blockscope: cannot connect to ${socket}: no such socket (is an NBD server listening there?)\n`,
    );
  });
});
