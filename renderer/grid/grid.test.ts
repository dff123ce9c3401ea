import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geometryFor } from '../../server/shared/geometry.ts';
import { BlockState, CELL_ERROR, OPS, type DiskFrame, type Op, type OpCounter } from '../../server/shared/types.ts';
import { computeRates } from '../store/store.ts';
import { isServerPush } from '../transport/transport.ts';
import { CellPainter } from './cell-painter.ts';
import { PALETTES, mixColor, packColor, unpackColor } from './palette.ts';

const counters = () =>
  Object.fromEntries(OPS.map((op) => [op, { count: 0, bytes: 0, errors: 0, cancelled: 0 }])) as Record<Op, OpCounter>;
const frame = (over: Partial<DiskFrame>): DiskFrame => ({
  disk: 1,
  full: null,
  cellIdx: new Uint32Array(0),
  cellVal: new Uint8Array(0),
  reads: new Uint32Array(0),
  pending: new Uint32Array(0),
  counters: counters(),
  inFlight: 0,
  latencyUs: { p50: 0, p99: 0 },
  ...over,
});

test('palette packing: red is red in an rgba8unorm buffer', () => {
  assert.deepEqual(unpackColor(packColor('#ff0000')), [255, 0, 0, 255]);
  assert.deepEqual(unpackColor(mixColor(packColor('#000000'), packColor('#ffffff'), 0.5)), [128, 128, 128, 255]);
  for (const p of Object.values(PALETTES)) {
    const colours = new Set([...p.states, p.error, p.read, p.pending]);
    assert.equal(colours.size, 7, `${p.name}: every meaning has its own colour`);
  }
});

test('painter: state colours, error colour, dirty rows', () => {
  const p = new CellPainter(geometryFor(64n << 20n), PALETTES.laptop);
  p.takeDirtyRows();
  p.apply(
    frame({
      cellIdx: Uint32Array.from([0, 129, 300]),
      cellVal: Uint8Array.from([BlockState.WRITTEN, BlockState.TRIMMED, BlockState.ZEROED | CELL_ERROR]),
    }),
    0,
  );
  const rgb = (c: number) => [...p.rgba.subarray(c * 4, c * 4 + 3)];
  assert.deepEqual(rgb(0), [0xe5, 0x38, 0x3b]);
  assert.deepEqual(rgb(129), [0xc9, 0xa7, 0xff]);
  assert.deepEqual(rgb(300), [0xff, 0xb0, 0x00]);
  assert.deepEqual(p.takeDirtyRows(), [0, 2]);
  assert.equal(p.takeDirtyRows(), null);
});

test('painter: reads flash black and fade back; pending cells are tinted until done', () => {
  const p = new CellPainter(geometryFor(64n << 20n), PALETTES.laptop, 300);
  p.apply(frame({ full: Uint8Array.from({ length: 16384 }, (_, i) => (i === 5 ? BlockState.WRITTEN : 0)) }), 0);
  p.apply(frame({ reads: Uint32Array.from([5]) }), 1000);
  assert.deepEqual([...p.rgba.subarray(20, 23)], [0, 0, 0], 'black at the start of the flash');
  p.tick(1150);
  const mid = [...p.rgba.subarray(20, 23)];
  assert.ok(mid[0] > 50 && mid[0] < 0xe5, `half-way: ${mid}`);
  p.tick(1400);
  assert.deepEqual([...p.rgba.subarray(20, 23)], [0xe5, 0x38, 0x3b], 'back to written');
  assert.equal(p.isFlashing, false);
  p.apply(frame({ pending: Uint32Array.from([10, 2]) }), 2000);
  const tinted = [...p.rgba.subarray(40, 43)];
  assert.notDeepEqual(tinted, [0x3b, 0x41, 0x50]);
  p.apply(frame({}), 2100);
  assert.deepEqual([...p.rgba.subarray(40, 43)], [0x3b, 0x41, 0x50], 'pending cleared');
});

test('transport guard and rates', () => {
  assert.equal(isServerPush({ event: 'disks', disks: [] }), true);
  assert.equal(isServerPush({ event: 'disks' }), false);
  assert.equal(isServerPush({ event: 'caption', step: 1, total: 2, title: 'x', text: 'y' }), true);
  assert.equal(isServerPush('disks'), false);
  const a = counters();
  const b = counters();
  b.write = { count: 100, bytes: 409600, errors: 0, cancelled: 0 };
  const r = computeRates(a, b, 500);
  assert.equal(r.ops.write, 200);
  assert.equal(r.bytesPerSec.write, 819200);
});
