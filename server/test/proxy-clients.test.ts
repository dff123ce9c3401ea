// The everyday client checks through the nbd backend: for each upstream (nbdkit memory,
// qemu-nbd on a raw file, qemu-nbd on a qcow2), one instance is used directly and an identical
// one through Blockscope; every check must see the same data, maps, flags and errors both ways.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EVERYDAY_CHECKS, makeCheckFiles, type CheckFiles } from './everyday-checks.ts';
import { requireBinary, startDisks, type TestDisks } from './harness.ts';
import { startNbdkit, startQemuNbd, type UpstreamServer } from './upstreams.ts';

function image(dir: string, name: string, format: string): string {
  const path = join(dir, `${name}.${format}`);
  const r = spawnSync('qemu-img', ['create', '-q', '-f', format, path, '64M'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`qemu-img create: ${r.error?.message ?? r.stderr}`);
  return path;
}

/** Starting or stopping the servers takes seconds; past this, say which hook hung. */
const HOOK_BOUND = { timeout: 120_000 };

const UPSTREAMS: Array<{ name: string; start: (dir: string, tag: string) => Promise<UpstreamServer> }> = [
  { name: 'nbdkit memory', start: (dir, tag) => startNbdkit(dir, tag, ['memory', 'size=64M']) },
  { name: 'qemu-nbd raw', start: (dir, tag) => startQemuNbd(dir, tag, image(dir, tag, 'raw'), 'raw') },
  { name: 'qemu-nbd qcow2', start: (dir, tag) => startQemuNbd(dir, tag, image(dir, tag, 'qcow2'), 'qcow2') },
];

for (const kind of UPSTREAMS) {
  describe(`proxy to ${kind.name}: same results as going direct`, () => {
    let dir: string;
    let files: CheckFiles;
    let direct: UpstreamServer;
    let behind: UpstreamServer;
    let proxy: TestDisks;

    before(async () => {
      for (const [bin, pkg] of [
        ['qemu-io', 'qemu-utils'],
        ['nbdinfo', 'libnbd-bin'],
        ['nbdcopy', 'libnbd-bin'],
        ['nbdsh', 'python3-libnbd'],
        ['fio', 'fio'],
      ])
        requireBinary(bin, pkg);
      dir = mkdtempSync(join(tmpdir(), 'blockscope-proxy-'));
      mkdirSync(join(dir, 'direct'));
      mkdirSync(join(dir, 'proxy'));
      files = makeCheckFiles(dir);
      direct = await kind.start(dir, 'direct');
      behind = await kind.start(dir, 'behind');
      proxy = await startDisks({ backend: 'nbd', size: 0n, unix: true, backendParams: () => ({ uri: behind.uri }) });
    }, HOOK_BOUND);
    after(async () => {
      await proxy?.close();
      await direct?.stop();
      await behind?.stop();
      rmSync(dir, { recursive: true, force: true });
    }, HOOK_BOUND);

    for (const check of EVERYDAY_CHECKS) {
      // Each client is killed after 60 s (harness run()); this bound names a check that hangs
      // anywhere else, instead of the whole file timing out.
      test(check.name, { timeout: 180_000 }, async () => {
        const [a, b] = await Promise.all([
          check.run(direct.uri, files, join(dir, 'direct')),
          check.run(proxy.uris[0], files, join(dir, 'proxy')).catch((err: Error) => {
            // What the proxy disk was doing when its client failed (a stall shows as in flight).
            const i = proxy.engine.disk(1).info();
            err.message += `\nproxy disk: ${i.inFlight} in flight, upstream ${JSON.stringify(i.upstream)}`;
            throw err;
          }),
        ]);
        assert.equal(b, a, `through the proxy:\n${b}\ndirect:\n${a}`);
      });
    }

    test('the proxy disk saw the requests (grid and counters)', () => {
      const info = proxy.engine.disk(1).info();
      assert.equal(info.backend, 'nbd');
      assert.equal(info.upstream?.state, 'connected');
      assert.ok(info.counters.write.count > 100, `writes counted: ${info.counters.write.count}`);
      assert.ok(info.counters.read.count > 100, `reads counted: ${info.counters.read.count}`);
      assert.ok(info.counters.extents.count > 0);
      assert.ok(info.blocks.written > 0 && info.blocks.untouched < info.grid.blocks);
    });
  });
}
