import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flatten, type Leaf } from './flatten.ts';
import { linear, normalise, type MappedSpace, type Region } from './model.ts';

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

// A region with content cut in three by two later ones: each part's content is that of its own
// bytes, whatever the content is. The content is one file /f over the whole region (linear),
// 10-byte pieces holding /f's bytes (mapped: pieces of a member holding a virtual device), or
// a member resolved to /f after assembly; /f's words name its own bytes, so at every byte of
// the parts the words must give the disk offset back.
const fileSpace = linear([file('/f', 0n, 100n)]);
const chunks: MappedSpace = {
  type: 'mapped',
  size: 100n,
  *pieces(from, to) {
    for (let s = (from / 10n) * 10n; s < to; s += 10n)
      yield {
        start: s,
        end: s + 10n,
        kind: 'container',
        label: `chunk ${s / 10n}`,
        target: { space: fileSpace, offset: s },
      };
  },
};
for (const [what, inner] of [
  ['a linear space', fileSpace],
  ['a mapped space', chunks],
  ['a member', { type: 'member', key: 'm', fallback: 'not assembled' }],
] as const) {
  test(`normalise: the parts of a region cut by later ones hold the content of their own bytes (${what})`, () => {
    const cutBy = (start: bigint, end: bigint): Region => ({ start, end, kind: 'container', label: `${start}` });
    const space = linear([
      { start: 0n, end: 100n, kind: 'container', label: 'A', inner },
      cutBy(20n, 35n),
      cutBy(50n, 65n),
    ]);
    const leaves: Leaf[] = [];
    flatten(
      space,
      0n,
      100n,
      { shift: 0n, chain: [] },
      { resolve: (k) => (k === 'm' ? fileSpace : undefined), maxLeaves: 100 },
      leaves,
    );
    const inA = leaves.filter((l) => l.chain[0].label === 'A');
    for (const l of inA) assert.equal(l.chain.at(-1)!.label, `/f, bytes ${l.start}–${l.end - 1n}`);
    assert.deepEqual(
      inA
        .map((l) => [l.start, l.end])
        .reduce<bigint[][]>((out, [a, b]) => {
          const last = out.at(-1);
          if (last && last[1] === a) last[1] = b;
          else out.push([a, b]);
          return out;
        }, []),
      [
        [0n, 20n],
        [35n, 50n],
        [65n, 100n],
      ],
    );
  });
}
