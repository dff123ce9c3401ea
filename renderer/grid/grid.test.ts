import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geometryFor } from '../../server/shared/geometry.ts';
import { BlockState, CELL_ERROR, OPS, type DiskFrame, type Op, type OpCounter } from '../../server/shared/types.ts';
import { isServerPush } from '../transport/transport.ts';
import { CellPainter } from './cell-painter.ts';
import { displayGeometry } from './display-geometry.ts';
import { FrameSchedule } from './frame-schedule.ts';
import { PALETTES, mixColor, packColor, unpackColor } from './palette.ts';

const counters = () =>
  Object.fromEntries(OPS.map((op) => [op, { count: 0, bytes: 0, errors: 0, cancelled: 0 }])) as Record<Op, OpCounter>;
const frame = (over: Partial<DiskFrame>): DiskFrame => ({
  disk: 1,
  full: null,
  cellIdx: new Uint32Array(0),
  cellVal: new Uint8Array(0),
  reads: new Uint32Array(0),
  writes: new Uint32Array(0),
  pending: new Uint32Array(0),
  counters: counters(),
  inFlight: 0,
  latencyUs: { p50: 0, p99: 0 },
  ...over,
});
const L = PALETTES.laptop;
const hexRgb = (h: string) => unpackColor(packColor(h)).slice(0, 3);
const rgbAt = (p: CellPainter, texel: number) => [...p.rgba.subarray(texel * 4, texel * 4 + 3)];

test('palette packing: red is red in an rgba8unorm buffer; every meaning has its own colour', () => {
  assert.deepEqual(unpackColor(packColor('#ff0000')), [255, 0, 0, 255]);
  assert.deepEqual(unpackColor(mixColor(packColor('#000000'), packColor('#ffffff'), 0.5)), [128, 128, 128, 255]);
  for (const p of Object.values(PALETTES)) {
    const colours = new Set([...p.states, p.error, p.read, p.pending, p.rewrite]);
    assert.equal(colours.size, 8, `${p.name}: every meaning has its own colour`);
  }
});

test('painter: state colours, error colour, dirty rows', () => {
  const p = new CellPainter(geometryFor(64n << 20n), L);
  p.takeDirtyRows();
  p.apply(
    frame({
      cellIdx: Uint32Array.from([0, 129, 300]),
      cellVal: Uint8Array.from([BlockState.WRITTEN, BlockState.TRIMMED, BlockState.ZEROED | CELL_ERROR]),
    }),
    0,
  );
  assert.deepEqual(rgbAt(p, 0), hexRgb(L.states[3]));
  assert.deepEqual(rgbAt(p, 129), hexRgb(L.states[1]));
  assert.deepEqual(rgbAt(p, 300), hexRgb(L.error));
  assert.deepEqual(p.takeDirtyRows(), [0, 2]);
  assert.equal(p.takeDirtyRows(), null);
});

test('painter: reads flash black and fade back; pending cells are tinted until done', () => {
  const p = new CellPainter(geometryFor(64n << 20n), L, 300);
  p.apply(frame({ full: Uint8Array.from({ length: 16384 }, (_, i) => (i === 5 ? BlockState.WRITTEN : 0)) }), 0);
  p.apply(frame({ reads: Uint32Array.from([5]) }), 1000);
  assert.deepEqual(rgbAt(p, 5), [0, 0, 0], 'black at the start of the flash');
  p.tick(1150);
  const mid = rgbAt(p, 5);
  assert.ok(mid[0] > 50 && mid[0] < 0xe5, `half-way: ${mid}`);
  p.tick(1400);
  assert.deepEqual(rgbAt(p, 5), hexRgb(L.states[3]), 'back to written');
  assert.equal(p.isFlashing, false);
  p.apply(frame({ pending: Uint32Array.from([10, 2]) }), 2000);
  assert.notDeepEqual(rgbAt(p, 10), hexRgb(L.states[0]));
  p.apply(frame({}), 2100);
  assert.deepEqual(rgbAt(p, 10), hexRgb(L.states[0]), 'pending cleared');
});

test('painter: a rewrite of a written block blinks; a first write does not (its colour changes anyway)', () => {
  const p = new CellPainter(geometryFor(64n << 20n), L, 300);
  p.apply(frame({ cellIdx: Uint32Array.from([7]), cellVal: Uint8Array.from([3]), writes: Uint32Array.from([7]) }), 0);
  assert.deepEqual(rgbAt(p, 7), hexRgb(L.states[3]), 'first write: red at once, no blink');
  p.apply(frame({ writes: Uint32Array.from([7]) }), 1000);
  assert.deepEqual(rgbAt(p, 7), hexRgb(L.rewrite), 'rewrite: the blink colour');
  p.tick(1000 + 300);
  assert.deepEqual(rgbAt(p, 7), hexRgb(L.states[3]), 'and back to red');
});

test('painter: a merged display shows the highest state of its cells, so one written block stays visible', () => {
  const g = geometryFor(1n << 30n); // 262144 cells
  const p = new CellPainter(g, L, 300, displayGeometry(g.cells, 4, 256));
  assert.equal(p.display.texels, 65536);
  assert.equal(p.rgba.length, 256 * 256 * 4);
  p.apply(frame({ cellIdx: Uint32Array.from([4 * 1000 + 3]), cellVal: Uint8Array.from([BlockState.WRITTEN]) }), 0);
  assert.deepEqual(rgbAt(p, 1000), hexRgb(L.states[3]), 'texel 1000 holds cells 4000–4003: written wins');
  p.apply(frame({ cellIdx: Uint32Array.from([4000]), cellVal: Uint8Array.from([BlockState.TRIMMED]) }), 0);
  assert.deepEqual(rgbAt(p, 1000), hexRgb(L.states[3]), 'a trimmed neighbour does not hide it');
  p.apply(frame({ cellIdx: Uint32Array.from([4001]), cellVal: Uint8Array.from([CELL_ERROR]) }), 0);
  assert.deepEqual(rgbAt(p, 1000), hexRgb(L.error), 'a failure anywhere in the texel shows');
  // Re-arranging the display keeps the cells and repaints.
  assert.equal(p.setDisplay(displayGeometry(g.cells, 1, 512)), true);
  assert.deepEqual(rgbAt(p, 4003), hexRgb(L.states[3]));
  assert.deepEqual(rgbAt(p, 4000), hexRgb(L.states[1]));
  assert.equal(p.setDisplay(displayGeometry(g.cells, 1, 512)), false, 'same display: nothing to do');
});

test('transport guard: pushes from outside are checked', () => {
  assert.equal(isServerPush({ event: 'disks', disks: [] }), true);
  assert.equal(isServerPush({ event: 'disks' }), false);
  assert.equal(isServerPush({ event: 'caption', step: 1, total: 2, title: 'x', text: 'y' }), true);
  assert.equal(
    isServerPush({ event: 'caption', step: 1, total: 2, title: 'x', text: 'y', evidence: 'md0', phase: 'waiting' }),
    true,
  );
  assert.equal(isServerPush({ event: 'caption', step: 1, total: 2, title: 'x', text: 'y', phase: 'later' }), false);
  assert.equal(isServerPush({ event: 'action', action: 'presentation' }), true);
  assert.equal(isServerPush({ event: 'action', action: 'rm -rf /' }), false);
  assert.equal(isServerPush('disks'), false);
});

test('frame schedule: at most maxFps pictures a second on a 60 Hz display, no burst after a stall', () => {
  // 10 s of 60 Hz frames with ±1 ms of jitter: how many bring the picture up to date.
  const frames = (maxFps: number, from: number, s = new FrameSchedule()) => {
    let drawn = 0;
    for (let i = 0; i < 600; i++) if (s.due(from + (i * 1000) / 60 + ((i * 7) % 3) - 1, maxFps)) drawn++;
    return drawn;
  };
  const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1, `${what}: ${got}`);
  near(frames(60, 0), 600, 'every frame at the display rate');
  near(frames(40, 0), 400, 'two frames in three');
  near(frames(30, 0), 300, 'every other frame');
  near(frames(10, 0), 100, 'one in six');
  const s = new FrameSchedule();
  frames(40, 0, s);
  // A 5 s stall: the next frames go on at 40 a second, not all at once.
  near(frames(40, 15_000, s), 400, 'after a stall');
});
