import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalise, type Region } from './model.ts';

/** A file-like region whose words name its own bytes, as the decoders' file regions do. */
const file = (name: string, start: bigint, end: bigint): Region => ({
  start,
  end,
  kind: 'file',
  label: name,
  describe: (a, b) => `${name}, bytes ${a}–${b - 1n}`,
});

const words = (r: Region) => r.describe!(0n, r.end - r.start);

test('normalise: a region cut in two by a later one keeps the words of its own bytes in both parts', () => {
  const out = normalise([file('/a', 0n, 100n), file('/b', 40n, 60n)]);
  assert.deepEqual(
    out.map((r) => [r.start, r.end, words(r)]),
    [
      [0n, 40n, '/a, bytes 0–39'],
      [40n, 60n, '/b, bytes 0–19'],
      [60n, 100n, '/a, bytes 60–99'],
    ],
  );
});

test('normalise: what a losing region keeps beyond the winner names its own bytes', () => {
  // Listed later wins: /b, which starts first, takes [20, 50); /a keeps only [50, 80).
  const out = normalise([file('/a', 30n, 80n), file('/b', 20n, 50n)]);
  assert.deepEqual(
    out.map((r) => [r.start, r.end, words(r)]),
    [
      [20n, 50n, '/b, bytes 0–29'],
      [50n, 80n, '/a, bytes 20–49'],
    ],
  );
});
