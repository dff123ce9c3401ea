import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { decodeBatch } from '../shared/batch.ts';
import { BlockState, CELL_ERROR, type Op, type RequestEvent } from '../shared/types.ts';
import { CellStamps } from './cell-set.ts';
import { monotonicUs } from './event-bus.ts';
import { FramePump } from './frame-pump.ts';

let id = 0;
function request(disk: Disk, op: Op, offset: bigint, length: number, error: RequestEvent['error'] = null): void {
  const ev: RequestEvent = {
    disk: disk.number,
    connection: 1,
    id: ++id,
    op,
    offset,
    length,
    flags: 0,
    startUs: monotonicUs(),
    endUs: 0,
    error,
  };
  disk.bus.emit('start', ev);
  ev.endUs = ev.startUs + 50;
  disk.bus.emit('end', ev);
}

test('stats: exact counters and block states; partial blocks mark their block; errors mark cells', () => {
  const d = Disk.external(1, 64n << 20n, 'attach');
  request(d, 'write', 1024n, 1024); // ext4-style 1 KiB write inside block 0
  request(d, 'write', 8192n, 8192);
  request(d, 'trim', 1n << 20n, 1 << 20);
  request(d, 'zero', 2n << 20n, 4096);
  request(d, 'read', 0n, 4096);
  request(d, 'read', 4096n * 100n, 4096, 'EIO');
  const info = d.info();
  assert.deepEqual(info.counters.write, { count: 2, bytes: 9216, errors: 0, cancelled: 0 });
  assert.equal(info.counters.read.errors, 1);
  assert.deepEqual(info.blocks, { untouched: 16384 - 3 - 256 - 1, trimmed: 256, zeroed: 1, written: 3 });
  const f = d.stats.cutFrame()!;
  const val = new Map([...f.cellIdx].map((c, i) => [c, f.cellVal[i]]));
  assert.equal(val.get(0), BlockState.WRITTEN);
  assert.equal(val.get(100), CELL_ERROR);
  assert.equal(val.get(256), BlockState.TRIMMED);
  assert.deepEqual([...f.reads], [0]);
  assert.equal(d.stats.cutFrame(), null, 'nothing new');
  const cell = d.stats.inspectCell(0);
  assert.equal(cell.reads, 1);
  assert.equal(cell.writes, 1);
  assert.equal(cell.lastOp, 'read');
});

test('frame pump: first frame full, then deltas; a flood of 1e6 events stays exact and bounded', () => {
  const engine = new Engine();
  const d = Disk.external(1, 64n << 20n, 'attach');
  engine.addExternal([d]);
  const pump = new FramePump(engine, 1000);
  const frames: ArrayBuffer[] = [];
  const off = pump.subscribe((b) => frames.push(b));
  pump.tick();
  assert.ok(decodeBatch(frames[0]).disks[0].full, 'first frame is a full snapshot');
  const t0 = performance.now();
  for (let i = 0; i < 1_000_000; i++) request(d, i % 3 ? 'write' : 'read', BigInt((i * 7919) % 16384) * 4096n, 4096);
  const ms = performance.now() - t0;
  pump.tick();
  const last = decodeBatch(frames[frames.length - 1]).disks[0];
  assert.equal(last.counters.write.count + last.counters.read.count, 1_000_000, 'no event lost');
  // At most per cell: a full-snapshot byte, a read index and a rewrite index (4 B each).
  assert.ok(
    frames[frames.length - 1].byteLength < 16384 * 9 + 4096,
    `frame of ${frames[frames.length - 1].byteLength} bytes`,
  );
  console.log(
    `stats: 1e6 events in ${ms.toFixed(0)} ms (${((ms * 1e3) / 1e6).toFixed(2)} µs/event), last frame ${frames[frames.length - 1].byteLength} bytes`,
  );
  off();
  pump.close();
});

test('a busy subscriber skips frames and then gets a full snapshot', () => {
  const engine = new Engine();
  const d = Disk.external(1, 64n << 20n, 'attach');
  engine.addExternal([d]);
  const pump = new FramePump(engine, 1000);
  let busy = false;
  const got: ArrayBuffer[] = [];
  pump.subscribe((b) => got.push(b), { isBusy: () => busy });
  pump.tick();
  busy = true;
  request(d, 'write', 0n, 4096);
  pump.tick();
  assert.equal(got.length, 1);
  busy = false;
  pump.tick();
  const f = decodeBatch(got[1]).disks[0];
  assert.ok(f.full);
  assert.equal(f.full![0], BlockState.WRITTEN);
  pump.close();
});

test('stats: rewrites are sent (the UI blinks them); failed requests count as errors, not as bytes', () => {
  const d = Disk.external(1, 64n << 20n, 'attach');
  request(d, 'write', 0n, 8192);
  const first = d.stats.cutFrame()!;
  assert.deepEqual([...first.cellIdx], [0, 1]);
  assert.deepEqual([...first.writes], [], 'a first write changes the picture: no rewrite');
  request(d, 'write', 4096n, 4096);
  request(d, 'zero', 1n << 20n, 4096);
  const second = d.stats.cutFrame()!;
  assert.deepEqual([...second.writes], [1], 'block 1 rewritten: unchanged on screen, listed to blink');
  assert.deepEqual([...second.cellIdx], [256]);
  request(d, 'write', 0n, 65536, 'EIO');
  const info = d.info();
  assert.equal(info.counters.write.count, 3);
  assert.equal(info.counters.write.errors, 1);
  assert.equal(info.counters.write.bytes, 8192 + 4096, 'the failed 64 KiB moved nothing');
  assert.equal(d.stats.inspectCell(0, 4).writes, 3, 'cells 0-3 merged: cell 0 written once, cell 1 twice');
  assert.equal(d.stats.inspectCell(0, 4).error, true);
});

test('CellStamps: every marked cell once, ascending; empty after a take, across stamp wrap-arounds', () => {
  let seed = 3;
  const rand = (n: number) => (seed = (seed * 1664525 + 1013904223) >>> 0) % n;
  for (const [cells, marks] of [
    [65536, 20],
    [65536, 9000],
    [100, 100],
  ]) {
    const set = new CellStamps(cells);
    // 600 rounds: the stamp wraps twice (255 stamps), and cells marked 255 takes ago must not come back.
    for (let round = 0; round < 600; round++) {
      const want = new Set<number>();
      for (let i = 0; i < (round % 7 === 0 ? marks : 3); i++) {
        const a = rand(cells);
        const b = Math.min(cells - 1, a + rand(3));
        set.mark(a, b);
        for (let c = a; c <= b; c++) want.add(c);
      }
      assert.equal(set.count(), want.size, `${cells} cells, round ${round}`);
      const got = set.takeSorted();
      assert.deepEqual(
        [...got],
        [...want].sort((x, y) => x - y),
        `${cells} cells, round ${round}`,
      );
      assert.equal(set.count(), 0, 'empty after');
    }
  }
});
