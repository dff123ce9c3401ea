// md's address arithmetic both ways: for layouts mdadm cannot make (near × far copies, far
// sets), the member → array mapping must at least be the exact inverse of md's own array →
// member arithmetic (kernel __raid10_find_phys, raid0 map_sector), which locateChunk follows.
// layouts.test.ts checks the layouts mdadm can make against real md.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arrayBytes, locateChunk, rowContent, slotBytes, type RaidGeometry } from './layout.ts';

const C = 65536n;

/** Every array chunk's copies name it back, and every member row holding data is one of them. */
function roundTrip(g: RaidGeometry, copies: number): void {
  const seen = new Set<string>();
  for (let chunk = 0n; chunk * C < arrayBytes(g); chunk++) {
    const locs = locateChunk(g, chunk);
    assert.equal(locs.length, copies);
    assert.equal(new Set(locs.map((l) => l.slot)).size, copies, `chunk ${chunk}: copies on distinct members`);
    locs.forEach((l, copy) => {
      assert.ok((l.row + 1n) * C <= slotBytes(g, l.slot), `chunk ${chunk} copy ${copy} inside the member`);
      const c = rowContent(g, l.slot, l.row);
      assert.deepEqual(c.kind === 'data' && [c.chunk, c.copy], [chunk, copy], `chunk ${chunk} copy ${copy}`);
      seen.add(`${l.slot}:${l.row}`);
    });
  }
  for (let slot = 0; slot < g.disks; slot++)
    for (let row = 0n; (row + 1n) * C <= slotBytes(g, slot); row++)
      if (rowContent(g, slot, row).kind === 'data') assert.ok(seen.has(`${slot}:${row}`), `slot ${slot} row ${row}`);
}

const raid10 = (disks: number, near: number, far: number, extra = 0): RaidGeometry => ({
  level: 10,
  layout: near | (far << 8) | extra,
  disks,
  chunk: C,
  memberBytes: 37n * C,
});

describe('md layout arithmetic', () => {
  it('RAID 10 far and near × far copies, with and without far sets', () => {
    for (const disks of [2, 3, 4, 5, 6, 7])
      for (const [near, far] of [
        [1, 2],
        [1, 3],
        [2, 2],
        [3, 2],
      ])
        for (const sets of [0, 2 << 17]) if (near * far <= disks) roundTrip(raid10(disks, near, far, sets), near * far);
  });

  it('RAID 10 offset copies', () => {
    for (const disks of [2, 3, 4, 5])
      for (const far of [2, 3]) if (far <= disks) roundTrip(raid10(disks, 1, far, 0x10000), far);
  });

  it('RAID 0 zones in both layouts', () => {
    for (const layout of [1, 2])
      roundTrip(
        { level: 0, layout, disks: 4, chunk: C, memberBytes: 9n * C, slotBytes: [20n, 9n, 31n, 20n].map((r) => r * C) },
        1,
      );
  });
});
