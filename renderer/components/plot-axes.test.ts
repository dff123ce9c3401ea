import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axisSize, axisValue, BYTE_INCRS, peakOf, peakTicks } from './plot-axes.ts';

test('plot ticks: round ticks below the peak, the peak itself, nothing crowding it', () => {
  // 0…100 at 1 px a unit, peak 87: 80 is 7 px away (labels overlap at 14), so it gives way.
  assert.deepEqual(peakTicks([0, 20, 40, 60, 80, 100], 87, 1, 14), [0, 20, 40, 60, 87]);
  // A peak on a round tick is that tick, once.
  assert.deepEqual(peakTicks([0, 25, 50], 50, 2, 14), [0, 25, 50]);
  // Nothing happened: uPlot's ticks as they are.
  assert.deepEqual(peakTicks([0, 0.5, 1], 0, 100, 14), [0, 0.5, 1]);
});

test('plot peak: the largest finite value of every series', () => {
  assert.equal(
    peakOf([
      [1, null, 3],
      [7, 2],
    ]),
    7,
  );
  assert.equal(peakOf([[null, NaN]]), 0);
});

test('plot tick labels: in the unit, short', () => {
  assert.equal(axisValue(0, 'bytes'), '0');
  assert.equal(axisValue(64 * 1024 * 1024, 'bytes'), '64 MiB');
  assert.equal(axisValue(87_000_000, 'bytes/s'), '83 MiB/s');
  assert.equal(axisValue(1.5 * 1024, 'bytes'), '1.5 KiB');
  assert.equal(axisValue(1234, 'µs'), '1.23 ms');
  assert.equal(axisValue(250, 'µs'), '250 µs');
  assert.equal(axisValue(12_345, 'req/s'), '12k');
  assert.equal(axisValue(0.25, 'requests'), '0.25');
});

test("an axis is as wide as its longest label: an eight-digit offset no longer runs into the axis' title", () => {
  const measure = (s: string) => s.length * 7;
  // "67108864" in a fixed 60 px axis left 60 − 15 − 56 = −11 px: it overlapped.
  assert.equal(axisSize(['0', '67108864'], measure), 10 + 5 + 56 + 6);
  assert.ok(axisSize(['0', '64 MiB'], measure) >= 15 + 6 * 7);
});

test('byte axes step in whole binary units', () => {
  assert.ok(BYTE_INCRS.includes(16 * 1024 ** 2));
  assert.ok(!BYTE_INCRS.includes(50_000_000));
  for (let i = 1; i < BYTE_INCRS.length; i++) assert.ok(BYTE_INCRS[i] > BYTE_INCRS[i - 1]);
});
