import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMainThread, Worker } from 'node:worker_threads';
import { Disk, type DiskSpec, type FilterSpec } from '../disk.ts';
import { monotonicUs } from '../events/event-bus.ts';
import { ParamError } from '../filters/params.ts';
import { run, requireBinary } from '../test/harness.ts';
import type { RequestEvent, RequestPhase } from '../shared/types.ts';
import { defaultDataPathThread } from './data-path.ts';
import { InlineDataPath } from './inline.ts';
import { setDiskWorkerSpawner, type DiskWorkerSpawner } from './worker-data-path.ts';
import { backlogCounter, EventBatcher, EventUnpacker, type EventBatch } from './event-wire.ts';

/** A memory disk served from a worker thread; TCP on any port unless `listen` says otherwise. */
function workerDisk(number: number, size: bigint, filters: FilterSpec[], listen: Partial<DiskSpec> = {}): DiskSpec {
  return {
    number,
    size,
    backend: 'memory',
    backendParams: {},
    readonly: false,
    exportName: '',
    filters,
    ...(listen.unixSocket ? {} : { tcp: { host: '127.0.0.1', port: 0 } }),
    thread: 'worker',
    ...listen,
  };
}

function event(id: number, over: Partial<RequestEvent> = {}): RequestEvent {
  return {
    disk: 3,
    connection: 7,
    id,
    op: 'write',
    offset: (1n << 62n) + 4096n * BigInt(id),
    length: 4096,
    flags: 1,
    startUs: 1000 + id,
    endUs: 0,
    error: null,
    recordStart: -1,
    ...over,
  };
}

test('event wire: every field survives, 64-bit offsets exactly, one object per request, clock shifted', async () => {
  const batches: EventBatch[] = [];
  const batcher = new EventBatcher((b) => batches.push(b), 500);
  const seen: Array<[RequestPhase, RequestEvent]> = [];
  const unpacker = new EventUnpacker(3, (phase, ev) => seen.push([phase, ev]));
  const a = event(1);
  const b = event(2, { op: 'trim', flags: 0, length: 0xffffffff });
  batcher.listener('start', a);
  batcher.listener('start', b);
  a.endUs = 2000;
  batcher.listener('end', a);
  b.endUs = 3000;
  b.error = 'ENOSPC';
  b.cancelled = true;
  batcher.listener('end', b);
  assert.equal(batches.length, 0, 'batched for a few ms');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(batches.length, 1);
  for (const batch of batches) unpacker.unpack(batch);
  assert.deepEqual(
    seen.map(([p, e]) => [p, e.id]),
    [
      ['start', 1],
      ['start', 2],
      ['end', 1],
      ['end', 2],
    ],
  );
  assert.equal(seen[0][1], seen[2][1], "a request's start and end are the same object");
  const [ra, rb] = [seen[2][1], seen[3][1]];
  assert.deepEqual(ra, { ...a, startUs: a.startUs + 500, endUs: 2500 });
  assert.equal(ra.offset, (1n << 62n) + 4096n);
  assert.deepEqual(rb, { ...b, startUs: b.startUs + 500, endUs: 3500 });
});

test('event wire: a full batch goes at once; slots are reused; abandoned requests end cancelled', () => {
  const batches: EventBatch[] = [];
  const batcher = new EventBatcher((b) => batches.push(b));
  const ended: RequestEvent[] = [];
  const unpacker = new EventUnpacker(1, (phase, ev) => phase === 'end' && ended.push(ev));
  for (let i = 1; i <= 3000; i++) {
    const ev = event(i);
    batcher.listener('start', ev);
    if (i % 2)
      batcher.listener('end', { ...ev, endUs: 1 }); // not the started object: never ends it
    else {
      ev.endUs = 5;
      batcher.listener('end', ev);
    }
  }
  assert.ok(batches.length >= 3, `${batches.length} batches`);
  batcher.flush();
  for (const b of batches) unpacker.unpack(b);
  assert.equal(ended.length, 1500, 'only ends of started objects');
  assert.equal(unpacker.abandon(monotonicUs()), 1500, 'the odd ones are still in flight');
  assert.equal(ended.length, 3000);
  assert.ok(ended.slice(1500).every((e) => e.cancelled && e.error === 'ESHUTDOWN'));
  assert.equal(unpacker.abandon(0), 0);
});

test('event wire backpressure: the producer waits while the owner is far behind, never forever, and loses nothing', () => {
  const counter = backlogCounter();
  const backlog = new Int32Array(counter);
  const batches: EventBatch[] = [];
  const batcher = new EventBatcher((b) => batches.push(b), 0, counter);
  let ends = 0;
  const unpacker = new EventUnpacker(1, (phase) => phase === 'end' && ends++, counter);
  for (let i = 1; i <= 2000; i++) {
    const ev = event(i);
    batcher.listener('start', ev);
    batcher.listener('end', ev);
  }
  batcher.flush();
  assert.equal(Atomics.load(backlog, 0), 4000, 'what was sent and not unpacked');
  assert.equal(batcher.backlogWaits, 0, 'below the high mark: no wait');
  // Nobody unpacks (the owner is "stuck"): past the high mark the producer waits, at most 1 s.
  const t0 = performance.now();
  for (let i = 2001; i <= 4200; i++) {
    const ev = event(i);
    batcher.listener('start', ev);
    batcher.listener('end', ev);
  }
  batcher.flush();
  assert.equal(batcher.backlogWaits, 1);
  assert.ok(performance.now() - t0 >= 990, `waited ${performance.now() - t0} ms`);
  for (const b of batches) unpacker.unpack(b);
  assert.equal(ends, 4200, 'every event arrives');
  assert.equal(Atomics.load(backlog, 0), 0);
});

test('a served disk runs on a worker thread: qemu-io writes show on the engine thread, settings and toggles cross', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  assert.ok(isMainThread);
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-worker-'));
  const sock = join(dir, 'd.sock');
  const disk = await Disk.serve(
    workerDisk(1, 1n << 30n, [{ name: 'delay', params: { wdelay: '0' } }], { unixSocket: sock }),
  );
  try {
    assert.equal(statSync(sock).mode & 0o777, 0o600, 'the socket is 0600');
    const uri = disk.path!.uris[0];
    const w = await run('qemu-io', ['-f', 'raw', uri, '-c', 'write -P 7 1M 64k', '-c', 'read -P 7 1M 64k']);
    assert.equal(w.code, 0, w.stderr);
    const deadline = Date.now() + 2000;
    while (disk.info().counters.read.count < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const info = disk.info();
    assert.equal(info.counters.write.count, 1);
    assert.equal(info.counters.write.bytes, 65536);
    assert.equal(info.blocks.written, 16);
    // The structure decoders' reads come back from the worker.
    assert.deepEqual([...(await disk.path!.read(1n << 20n, 3))], [7, 7, 7]);
    await disk.setFilterParams('delay', { wdelay: '1' });
    assert.equal(disk.info().filters.find((f) => f.name === 'delay')?.settings['delay-write'], '1000ms');
    await assert.rejects(disk.setFilterParams('delay', { wdelay: 'soon' }), ParamError);
    await assert.rejects(disk.setFilterParams('nope', {}), /has no nope filter/);
    await disk.setErrors(true);
    assert.equal(disk.info().errorsOn, true);
    const bad = await run('qemu-io', ['-f', 'raw', uri, '-c', 'read 0 4k']);
    assert.match(bad.stdout + bad.stderr, /Input\/output error/);
    await disk.setErrors(false);
    await disk.setHold(true);
    assert.equal(disk.info().held, true);
    await disk.setHold(false);
    assert.equal((await disk.path!.describeBackend()).allocated, 65536);
  } finally {
    await disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(disk.path!.read(0n, 1), /closed/);
});

test('a disk whose worker cannot start says why, as the inline path would', async () => {
  const spec = workerDisk(2, 1n << 20n, [{ name: 'delay', params: { rdelay: 'later' } }]);
  const worker = await Disk.serve(spec).then(
    () => assert.fail('started'),
    (e: Error) => e,
  );
  const inline = await Disk.serve({ ...spec, thread: 'inline' }).then(
    () => assert.fail('started'),
    (e: Error) => e,
  );
  assert.ok(worker instanceof ParamError, String(worker));
  assert.equal(worker.message, inline.message);
});

test('a worker that dies leaves no request drawn in flight, and every later call says why', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const disk = await Disk.serve(workerDisk(4, 1n << 20n, [{ name: 'delay', params: { rdelay: '60' } }]));
  const reading = run('qemu-io', ['-f', 'raw', disk.path!.uris[0], '-c', 'read 0 4k'], { timeoutMs: 30_000 });
  try {
    const deadline = Date.now() + 10_000;
    while (disk.info().inFlight < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(disk.info().inFlight, 1, 'the read waits in the delay');
    const worker = Reflect.get(disk.path!, 'worker') as { terminate(): Promise<number> };
    await worker.terminate();
    assert.equal(disk.info().inFlight, 0);
    assert.equal(disk.info().counters.read.cancelled, 1);
    await assert.rejects(disk.setErrors(true), /disk 4: its worker exited/);
    assert.notEqual((await reading).code, 0, 'the client saw its server go');
  } finally {
    await disk.close();
  }
});

test('barrier: at its instant every earlier event of the disk has arrived and no later one', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const disk = await Disk.serve(workerDisk(5, 64n << 20n, []));
  let latest = 0;
  let afterBarrier: number | null = null;
  const early: string[] = [];
  disk.bus.subscribe((phase, ev) => {
    const t = phase === 'start' ? ev.startUs : ev.endUs;
    latest = Math.max(latest, t);
    if (afterBarrier !== null && t <= afterBarrier) early.push(`${phase} at ${t} ≤ ${afterBarrier}`);
  });
  const writes = Array.from({ length: 400 }, (_, i) => ['-c', `aio_write ${(i * 64) % 60000}k 64k`]).flat();
  const load = run('qemu-io', ['-f', 'raw', disk.path!.uris[0], ...writes, '-c', 'aio_flush'], { timeoutMs: 60_000 });
  try {
    let barriers = 0;
    while (barriers < 30) {
      await disk.path!.barrier((us) => {
        assert.ok(latest <= us, `an event at ${latest} arrived before the barrier at ${us}`);
        afterBarrier = us;
      });
      barriers++;
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal((await load).code, 0);
    assert.deepEqual(early, [], 'no event after a barrier is older than it');
    assert.ok(disk.info().counters.write.count >= 400);
  } finally {
    await disk.close();
  }
});

test('the default data path: BLOCKSCOPE_DATA_PATH wins, else workers from 4 cores', () => {
  const saved = process.env.BLOCKSCOPE_DATA_PATH;
  try {
    process.env.BLOCKSCOPE_DATA_PATH = 'inline';
    assert.equal(defaultDataPathThread(), 'inline');
    process.env.BLOCKSCOPE_DATA_PATH = 'worker';
    assert.equal(defaultDataPathThread(), 'worker');
    process.env.BLOCKSCOPE_DATA_PATH = 'bogus';
    assert.equal(defaultDataPathThread(), availableParallelism() >= 4 ? 'worker' : 'inline');
  } finally {
    if (saved === undefined) delete process.env.BLOCKSCOPE_DATA_PATH;
    else process.env.BLOCKSCOPE_DATA_PATH = saved;
  }
});

test('a worker that cannot run at all leaves the disk served inline, and says so; a bad setting still fails', async () => {
  const spawners: DiskWorkerSpawner[] = [
    () => {
      throw new Error('no bundle here');
    },
    (o) => new Worker('process.exit(3)', { ...o, eval: true }),
  ];
  for (const s of spawners) {
    const before = setDiskWorkerSpawner(s);
    const logged: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(' '));
    try {
      const disk = await Disk.serve(workerDisk(6, 1n << 20n, []));
      try {
        assert.ok(disk.path instanceof InlineDataPath, 'served inline');
        assert.match(logged.join('\n'), /disk 6: .*serving disk 6 on the engine thread instead/);
        const r = await run('qemu-io', ['-f', 'raw', disk.path.uris[0], '-c', 'write 0 4k']);
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await disk.close();
      }
    } finally {
      console.error = error;
      setDiskWorkerSpawner(before);
    }
  }
  const before = setDiskWorkerSpawner(spawners[0]);
  try {
    await assert.rejects(
      Disk.serve(workerDisk(7, 1n << 20n, [{ name: 'delay', params: { rdelay: 'x' } }])),
      ParamError,
    );
  } finally {
    setDiskWorkerSpawner(before);
  }
});
