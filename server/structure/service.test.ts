// The live structure service on a served disk, driven by real clients (nbdcopy, qemu-io) and
// read through the HTTP API: labels appear when a filesystem is written, follow metadata
// changes, ignore data-only writes, and decoding itself is invisible (no events, no log lines).

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlServer, type ControlServer } from '../control/http.ts';
import type {
  BlockChain,
  DiskMap,
  ObjectBlocks,
  StructureActivity,
  StructureObject,
  StructureStatus,
} from '../shared/structure.ts';
import { requireBinary, run, startDisks, type TestDisks } from '../test/harness.ts';
import { run as runTool } from './test-support.ts';

let t: TestDisks;
let api: ControlServer;
const get = async <T>(path: string): Promise<T> => {
  const r = await fetch(api.urlFor(`/api${path}`));
  const body = await r.json();
  if (!r.ok) throw Object.assign(new Error(body.error), { status: r.status });
  return body as T;
};
const current = () => t.engine.structure!.whenCurrent();

/** An ext4 image (1 KiB blocks) with a few files, made by mke2fs -d: GPT-less, whole disk. */
function fsImage(name: string, files: Record<string, number>): string {
  const src = join(t.dir, `${name}-src`);
  mkdirSync(join(src, 'etc'), { recursive: true });
  for (const [path, bytes] of Object.entries(files)) writeFileSync(join(src, path), Buffer.alloc(bytes, 7));
  const img = join(t.dir, `${name}.img`);
  runTool('truncate', ['-s', '64M', img]);
  runTool('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '1024', '-d', src, img]);
  return img;
}

async function copyIn(img: string) {
  const r = await run('nbdcopy', [img, t.uris[0]]);
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  requireBinary('nbdcopy', 'libnbd-bin');
  requireBinary('qemu-io', 'qemu-utils');
  t = await startDisks({ filters: (_, dir) => [{ name: 'log', params: { logfile: join(dir, 'log') } }] });
  api = await startControlServer(t.engine, { port: 0 });
});
after(async () => {
  await api?.close();
  await t?.close();
});

describe('live structure service', () => {
  it('a blank disk has no labels; writing a filesystem with nbdcopy makes its structures and files appear', async () => {
    await current();
    assert.equal((await get<DiskMap>('/disks/1/map')).ranges.length, 0);
    const v0 = (await get<StructureStatus>('/structure')).version;
    await copyIn(fsImage('a', { 'etc/hello.txt': 6, 'big.bin': 300_000 }));
    await current();
    const status = await get<StructureStatus>('/structure');
    assert.ok(status.version > v0);
    assert.equal(status.stale, false);
    const map = await get<DiskMap>('/disks/1/map');
    const labels = map.ranges.map((r) => r.chain.map((c) => c.label).join(' › '));
    assert.ok(labels.includes('ext4 › journal superblock'), labels.slice(0, 20).join('\n'));
    assert.ok(labels.some((l) => /^ext4 › \/big\.bin, bytes 0–\d+ \(inode \d+\)$/.test(l)));
    assert.ok(labels.some((l) => /^ext4 › group 0 › inode table$/.test(l)));
  });

  it('the chain of one block names the file and the exact bytes it holds', async () => {
    const map = await get<DiskMap>('/disks/1/map');
    const big = map.ranges.find((r) => r.chain.at(-1)!.label.startsWith('/big.bin'))!;
    const block = Number(BigInt(big.start) / 4096n) + 2;
    const chain = await get<BlockChain>(`/disks/1/blocks/${block}`);
    // 1 KiB filesystem blocks: the 4 KiB grid block holds four of them, all of /big.bin here.
    assert.ok(
      chain.parts.every((p) => p.chain.at(-1)!.label.startsWith('/big.bin, bytes ')),
      JSON.stringify(chain.parts),
    );
    assert.equal(chain.parts[0].start, chain.byteStart);
    const first = chain.parts[0].chain.map((c) => c.label).join(' › ');
    const offset = BigInt(chain.byteStart) - BigInt(big.start);
    assert.equal(
      first,
      `ext4 › /big.bin, bytes ${offset}–${offset + BigInt(Number(chain.parts[0].end) - Number(chain.parts[0].start)) - 1n} (inode ${/inode (\d+)/.exec(big.chain.at(-1)!.label)![1]})`,
    );
    await assert.rejects(get('/disks/1/blocks/99999999'), /block must be below 16384/);
    await assert.rejects(get('/disks/9/map'), /no disk 9/);
  });

  it('objects list files and structures; an object’s blocks are its leaves on the disk', async () => {
    const objects = await get<StructureObject[]>('/structure/objects');
    const big = objects.find((o) => o.label === '/big.bin')!;
    assert.equal(big.kind, 'file');
    assert.deepEqual(big.disks, [1], 'the disks holding its bytes');
    assert.ok(Number(big.bytes) >= 300_000);
    const blocks = await get<ObjectBlocks>(`/structure/objects/${encodeURIComponent(big.id)}`);
    assert.equal(blocks.disks.length, 1);
    const covered = blocks.disks[0].runs.reduce((n, [a, b]) => n + b - a, 0);
    assert.ok(covered >= Math.ceil(300_000 / 4096) && covered <= Math.ceil(300_000 / 4096) + 2, `${covered} blocks`);
    assert.ok(objects.some((o) => o.kind === 'inode-table' && o.label === 'inode tables'));
    await assert.rejects(get('/structure/objects/nope'), /no structure object 'nope'/);
  });

  it('decoding reads the backend directly: no requests on the bus, no log lines', async () => {
    const before = t.engine.disks[0].info().counters.read.count;
    const logBefore = readFileSync(join(t.dir, 'log'), 'utf8').length;
    t.engine.structure!.invalidate();
    await current();
    assert.equal(t.engine.disks[0].info().counters.read.count, before);
    assert.equal(readFileSync(join(t.dir, 'log'), 'utf8').length, logBefore);
  });

  it('a write into file data changes nothing to decode; a metadata write re-decodes', async () => {
    const v = (await get<StructureStatus>('/structure')).version;
    const map = await get<DiskMap>('/disks/1/map');
    const big = map.ranges.find((r) => r.chain.at(-1)!.label.startsWith('/big.bin'))!;
    const r = await run('qemu-io', [
      '-f',
      'raw',
      '-t',
      'none',
      t.uris[0],
      '-c',
      `write -P 0x55 ${Number(big.start) + 8192} 4k`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 400));
    assert.equal((await get<StructureStatus>('/structure')).stale, false, 'file data is no dependency');
    // Zero the superblock: the filesystem is gone, and the labels say so.
    const z = await run('qemu-io', ['-f', 'raw', '-t', 'none', t.uris[0], '-c', 'write -z 1024 1024']);
    assert.equal(z.code, 0, z.stderr);
    await current();
    const after = await get<StructureStatus>('/structure');
    assert.ok(after.version > v);
    assert.equal((await get<DiskMap>('/disks/1/map')).ranges.length, 0);
  });

  it('the activity line says what the last requests touched, in words', async () => {
    await copyIn(fsImage('b', { 'etc/hello.txt': 6, 'notes.txt': 50_000 }));
    await current();
    // The metadata pages kept from earlier decodes were dropped as they were overwritten.
    const labels = (await get<DiskMap>('/disks/1/map')).ranges.map((r) => r.chain.at(-1)!.label);
    assert.ok(labels.some((l) => l.startsWith('/notes.txt, bytes 0–')));
    assert.ok(!labels.some((l) => l.startsWith('/big.bin')));
    const a = await get<StructureActivity>('/structure/activity?disk=1&seconds=600');
    assert.match(a.text, /^writes: /);
    console.log(`activity: ${a.text}`);
    assert.ok(
      a.ops.write!.some(([label]) => label === '/notes.txt' || /inode table group 0|journal|superblock/.test(label)),
      a.text,
    );
  });
});
