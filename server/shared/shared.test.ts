import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BatchDecodeError, decodeBatch, encodeBatch } from './batch.ts';
import { blockRange, cellLabel, geometryFor } from './geometry.ts';
import { OPS, opIndex, type DiskFrame, type Op, type OpCounter } from './types.ts';

test('geometry: 64 MiB is 128×128 at 4 KiB a pixel; big disks merge; 7 EiB works', () => {
  assert.deepEqual(geometryFor(64n << 20n), { blocks: 16384, blocksPerCell: 1, cells: 16384, width: 128, height: 128 });
  const g16 = geometryFor(16n << 30n);
  assert.equal(g16.blocksPerCell, 16);
  assert.equal(cellLabel(g16), '1 px = 64 KiB');
  assert.ok(g16.cells <= 262144);
  const g7 = geometryFor(7n << 60n);
  assert.equal(g7.blocks, 7 * 2 ** 48);
  assert.ok(g7.cells <= 262144 && g7.width * g7.height >= g7.cells);
  assert.equal(geometryFor(4097n).blocks, 2, 'a partial last block is a block');
});

test('blockRange: partial blocks count (ext4 1 KiB writes)', () => {
  assert.deepEqual(blockRange(1024n, 1024), [0, 1]);
  assert.deepEqual(blockRange(3072n, 2048), [0, 2]);
  assert.deepEqual(blockRange(8192n, 4096), [2, 3]);
  assert.deepEqual(blockRange((7n << 60n) - 4096n, 4096), [7 * 2 ** 48 - 1, 7 * 2 ** 48]);
  // Both sides of the Number fast path (2^52) agree with exact bigint arithmetic.
  const exact = (o: bigint, len: number) => {
    const first = Number(o / 4096n);
    const end = Number((o + BigInt(len) + 4095n) / 4096n);
    return [first, Math.max(end, first + (len > 0 ? 1 : 0))];
  };
  for (const base of [2n ** 52n, 2n ** 53n, 2n ** 63n - 2n ** 33n])
    for (const d of [-4097n, -4096n, -1n, 0n, 1n, 4095n])
      for (const len of [0, 1, 512, 4096, 2 ** 32 - 1]) {
        const o = base + d;
        assert.deepEqual(blockRange(o, len), exact(o, len), `offset ${o} length ${len}`);
      }
});

const counters = (n: number) =>
  Object.fromEntries(
    OPS.map((op, i) => [op, { count: n + i, bytes: (n + i) * 4096, errors: i, cancelled: i & 1 }]),
  ) as Record<Op, OpCounter>;

test('batch codec round-trips frames, deltas and full snapshots', () => {
  const a: DiskFrame = {
    disk: 1,
    full: null,
    cellIdx: Uint32Array.from([1, 5, 16383]),
    cellVal: Uint8Array.from([3, 1, 0x82]),
    reads: Uint32Array.from([7]),
    writes: Uint32Array.from([1, 2, 3]),
    pending: Uint32Array.from([10, 3]),
    counters: counters(5),
    inFlight: 2,
    latencyUs: { p50: 120, p99: 4000.5 },
  };
  const b: DiskFrame = {
    ...a,
    disk: 16,
    full: Uint8Array.from({ length: 1001 }, (_, i) => i & 3),
    cellIdx: new Uint32Array(0),
    cellVal: new Uint8Array(0),
    reads: new Uint32Array(0),
    writes: new Uint32Array(0),
    pending: new Uint32Array(0),
  };
  const back = decodeBatch(encodeBatch({ seq: 42, timeUs: 123.5, disks: [a, b] }));
  assert.equal(back.seq, 42);
  assert.equal(back.timeUs, 123.5);
  assert.deepEqual([...back.disks[0].cellIdx], [1, 5, 16383]);
  assert.deepEqual([...back.disks[0].cellVal], [3, 1, 0x82]);
  assert.deepEqual([...back.disks[0].pending], [10, 3]);
  assert.deepEqual([...back.disks[0].writes], [1, 2, 3]);
  assert.deepEqual([...back.disks[0].reads], [7]);
  assert.deepEqual(back.disks[0].counters, a.counters);
  assert.equal(back.disks[0].latencyUs.p99, 4000.5);
  assert.equal(back.disks[1].disk, 16);
  assert.deepEqual([...back.disks[1].full!], [...b.full!]);
});

test('batch decoder rejects bad input clearly', () => {
  assert.throws(() => decodeBatch(new ArrayBuffer(4)), BatchDecodeError);
  assert.throws(() => decodeBatch(new ArrayBuffer(64)), /bad magic/);
  const good = encodeBatch({
    seq: 1,
    timeUs: 0,
    disks: [
      {
        disk: 1,
        full: new Uint8Array(100),
        cellIdx: new Uint32Array(0),
        cellVal: new Uint8Array(0),
        reads: new Uint32Array(0),
        writes: new Uint32Array(0),
        pending: new Uint32Array(0),
        counters: counters(0),
        inFlight: 0,
        latencyUs: { p50: 0, p99: 0 },
      },
    ],
  });
  assert.throws(() => decodeBatch(good.slice(0, good.byteLength - 16)), /truncated/);
});

test('server/shared stays browser-safe (no Node imports)', () => {
  for (const f of readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    assert.doesNotMatch(readFileSync(new URL(f, import.meta.url), 'utf8'), /from 'node:|require\(/, f);
  }
});

test('opIndex is OPS.indexOf for every op', () => {
  assert.deepEqual(
    OPS.map((op) => opIndex(op)),
    OPS.map((_, i) => i),
  );
});
