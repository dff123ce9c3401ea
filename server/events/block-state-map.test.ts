import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockState } from '../shared/types.ts';
import { BlockStateMap, PAGE_BLOCKS } from './block-state-map.ts';

/** A tiny deterministic PRNG so failures reproduce. */
function rng(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return a % n;
  };
}

test('matches a naive per-block model under random ranges (partial and whole pages)', () => {
  const blocks = PAGE_BLOCKS * 5 + 1234; // last page partial
  const map = new BlockStateMap(blocks);
  const naive = new Uint8Array(blocks);
  const r = rng(42);
  for (let step = 0; step < 400; step++) {
    const big = r(4) === 0;
    const first = r(blocks);
    const len = big ? r(PAGE_BLOCKS * 3) + 1 : r(64) + 1;
    const end = Math.min(blocks, first + len);
    const state = r(4) as BlockState;
    map.set(first, end, state);
    naive.fill(state, first, end);
    if (step % 50 === 0) {
      for (let s = 0; s < 4; s++) {
        const expected = naive.reduce((n, v) => n + (v === s ? 1 : 0), 0);
        assert.equal(map.count(s as BlockState), expected, `count of state ${s} at step ${step}`);
      }
    }
  }
  for (let i = 0; i < 2000; i++) {
    const b = r(blocks);
    assert.equal(map.get(b), naive[b], `block ${b}`);
    const e = Math.min(blocks, b + r(PAGE_BLOCKS * 2) + 1);
    let max = 0;
    for (let k = b; k < e; k++) if (naive[k] > max) max = naive[k];
    assert.equal(map.maxState(b, e), max, `maxState(${b}, ${e})`);
  }
});

test('maxStates: the same as maxState cell by cell, in any order, for cells within and across pages', () => {
  const blocks = PAGE_BLOCKS * 4 + 777; // last page and last cell partial
  const map = new BlockStateMap(blocks);
  const r = rng(7);
  // Detail pages (small writes), whole-page runs (big trims), and untouched pages.
  for (let i = 0; i < 300; i++) {
    const first = r(blocks);
    map.set(first, Math.min(blocks, first + r(40) + 1), (1 + r(3)) as BlockState);
  }
  map.set(PAGE_BLOCKS * 2, PAGE_BLOCKS * 3, BlockState.TRIMMED);
  for (const k of [1, 3, 16, PAGE_BLOCKS, PAGE_BLOCKS + 5]) {
    const cells = Math.ceil(blocks / k);
    const idx = Uint32Array.from({ length: cells }, (_, i) => i);
    // Shuffled, as the dirty set lists cells in the order they were touched.
    for (let i = cells - 1; i > 0; i--) {
      const j = r(i + 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const out = new Uint8Array(cells);
    map.maxStates(idx, k, out);
    for (let i = 0; i < cells; i++)
      assert.equal(out[i], map.maxState(idx[i] * k, (idx[i] + 1) * k), `k=${k}, cell ${idx[i]}`);
  }
});

test('a 7 EiB disk: whole-disk trim and writes at both ends stay exact and cheap', () => {
  const blocks = (2 ** 51 * 7) / 8; // 7 EiB / 4 KiB
  const map = new BlockStateMap(blocks);
  map.set(0, blocks, BlockState.TRIMMED);
  map.set(0, 34, BlockState.WRITTEN); // primary GPT
  map.set(blocks - 33, blocks, BlockState.WRITTEN); // backup GPT
  assert.equal(map.count(BlockState.WRITTEN), 67);
  assert.equal(map.count(BlockState.TRIMMED), blocks - 67);
  assert.equal(map.count(BlockState.UNTOUCHED), 0);
  assert.equal(map.get(blocks - 1), BlockState.WRITTEN);
  assert.equal(map.get(2 ** 40), BlockState.TRIMMED);
  assert.equal(map.maxState(0, blocks), BlockState.WRITTEN);
  assert.equal(map.maxState(1000, blocks - 1000), BlockState.TRIMMED);
  map.clear();
  assert.equal(map.count(BlockState.UNTOUCHED), blocks);
});
