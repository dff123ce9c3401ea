// The Structure overlay's pixels, computed without a browser: tints per kind, merged texels
// showing the highest-priority kind, free space untinted, a picked object's blocks and their
// parity painted on top, and the other tints dimmed while something is picked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_KIND, kindIndex } from '../../server/shared/structure.ts';
import { displayGeometry } from './display-geometry.ts';
import { HIGHLIGHT, HIGHLIGHT_PARITY, KIND_COLOURS, overlayRgba } from './structure-palette.ts';

const px = (rgba: Uint8ClampedArray, t: number) => [...rgba.slice(t * 4, t * 4 + 4)];

test('each cell gets its kind tint; free space and unknown cells stay transparent', () => {
  const cells = Uint8Array.from([kindIndex('superblock'), kindIndex('free'), NO_KIND, kindIndex('journal')]);
  const rgba = overlayRgba({ display: displayGeometry(4, 1, 2), cells, blocksPerCell: 1 });
  assert.deepEqual(px(rgba, 0), KIND_COLOURS.superblock);
  assert.deepEqual(px(rgba, 1)[3], 0);
  assert.deepEqual(px(rgba, 2), [0, 0, 0, 0]);
  assert.deepEqual(px(rgba, 3), KIND_COLOURS.journal);
});

test('a texel merging cells shows the highest-priority kind among them', () => {
  const cells = Uint8Array.from([kindIndex('file'), kindIndex('parity'), kindIndex('free'), kindIndex('inode-table')]);
  const rgba = overlayRgba({ display: displayGeometry(4, 2, 2), cells, blocksPerCell: 1 });
  assert.deepEqual(px(rgba, 0), KIND_COLOURS.parity);
  assert.deepEqual(px(rgba, 1), KIND_COLOURS['inode-table']);
});

test('a picked object lights up (its parity too) and the other tints dim', () => {
  const cells = new Uint8Array(8).fill(kindIndex('file'));
  const rgba = overlayRgba({
    display: displayGeometry(8, 1, 8),
    cells,
    blocksPerCell: 1,
    highlight: { runs: [[2, 4]], parityRuns: [[6, 7]] },
    dim: true,
  });
  assert.deepEqual(px(rgba, 2), HIGHLIGHT);
  assert.deepEqual(px(rgba, 3), HIGHLIGHT);
  assert.deepEqual(px(rgba, 6), HIGHLIGHT_PARITY);
  const [r, g, b, a] = px(rgba, 0);
  assert.deepEqual([r, g, b], KIND_COLOURS.file.slice(0, 3));
  assert.ok(a < KIND_COLOURS.file[3], 'dimmed');
});

test('block runs map to texels through cells per block and merging (big disks)', () => {
  // 2 blocks per cell, 2 cells per texel: block 9 is in texel 2.
  const rgba = overlayRgba({
    display: displayGeometry(8, 2, 4),
    cells: new Uint8Array(8).fill(NO_KIND),
    blocksPerCell: 2,
    highlight: { runs: [[9, 10]], parityRuns: [] },
  });
  assert.deepEqual(px(rgba, 2), HIGHLIGHT);
  assert.deepEqual(px(rgba, 1), [0, 0, 0, 0]);
});
