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

// Listed later wins. Cut in two by a later one: both parts name their own bytes. Losing to a
// later one that starts first (/b takes [20, 50)): what /a keeps beyond it names its own bytes.
for (const [what, regions, want] of [
  [
    'a region cut in two by a later one',
    [file('/a', 0n, 100n), file('/b', 40n, 60n)],
    [
      [0n, 40n, '/a, bytes 0–39'],
      [40n, 60n, '/b, bytes 0–19'],
      [60n, 100n, '/a, bytes 60–99'],
    ],
  ],
  [
    'what a losing region keeps beyond the winner',
    [file('/a', 30n, 80n), file('/b', 20n, 50n)],
    [
      [20n, 50n, '/b, bytes 0–29'],
      [50n, 80n, '/a, bytes 20–49'],
    ],
  ],
] as const) {
  test(`normalise: ${what} keeps the words of its own bytes`, () => {
    assert.deepEqual(
      normalise([...regions]).map((r) => [r.start, r.end, words(r)]),
      want.map((w) => [...w]),
    );
  });
}
