// The RAM disk's memory comes in transparent huge pages when started as the `blockscope` command
// (its shebang sets glibc's hugetlb tunable). On the test machine a first write into 4 KiB pages
// costs about twice as much (docs/performance.md). glibc gives huge pages to its main arena's heap
// and to chunks it maps on their own, not to other threads' arenas: the disk's pages are cut from
// 64 MiB slabs (backends/page-slabs.ts) so that a disk in a worker thread gets them too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { requireBinary, run } from './harness.ts';
import { startServeProcess } from './serve-process.ts';

const MiB = 1024 * 1024;

/** Bytes of the process's anonymous memory mapped as transparent huge pages. */
function anonHugePages(pid: number): number {
  const m = /^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  assert.ok(m, 'no AnonHugePages line in smaps_rollup');
  return Number(m[1]) * 1024;
}

for (const dataPath of ['inline', 'worker']) {
  test(`huge pages: a disk served ${dataPath} keeps what is written in huge pages`, async (t) => {
    const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    if (thp.includes('[never]')) return t.skip('this kernel has transparent huge pages switched off');
    requireBinary('qemu-io', 'qemu-utils');
    const s = await startServeProcess(['--size', '256M', `--data-path=${dataPath}`, '--no-record'], 1, {
      asCommand: true,
    });
    try {
      const before = anonHugePages(s.proc.pid!);
      const r = await run('qemu-io', ['-f', 'raw', s.uris[0], '-c', 'write -P 0x5a 0 128M']);
      assert.equal(r.code, 0, r.stderr);
      const grown = anonHugePages(s.proc.pid!) - before;
      assert.ok(grown >= 96 * MiB, `128 MiB written, huge pages grew by ${(grown / MiB).toFixed(0)} MiB`);
      const back = await run('qemu-io', ['-f', 'raw', s.uris[0], '-c', 'read -P 0x5a 0 128M']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.doesNotMatch(back.stdout, /Pattern verification failed/);
    } finally {
      await s.kill();
    }
  });
}
