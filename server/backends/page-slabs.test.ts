import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageSlabs } from './page-slabs.ts';

test('pages are cut from one slab in turn, and a released one is handed out again', () => {
  const s = new PageSlabs(4096, 4 * 4096);
  const pages = [s.take(), s.take(), s.take(), s.take()];
  assert.equal(s.slabCount, 1);
  assert.ok(pages.every((p) => p.buffer === pages[0].buffer && p.length === 4096));
  assert.deepEqual(
    pages.map((p) => p.byteOffset),
    [0, 4096, 8192, 12288],
  );
  s.release(pages[2]);
  assert.equal(s.take(), pages[2], 'a released slot is taken before a new slab is mapped');
  const fifth = s.take();
  assert.equal(s.slabCount, 2);
  assert.notEqual(fifth.buffer, pages[0].buffer);
});

test('a slab with every page released is dropped, unless it is the last', () => {
  const s = new PageSlabs(4096, 2 * 4096);
  const a = [s.take(), s.take()];
  const b = s.take();
  assert.equal(s.slabCount, 2);
  for (const p of a) s.release(p);
  assert.equal(s.slabCount, 1, 'an empty slab was kept beside another');
  s.release(b);
  assert.equal(s.slabCount, 1, 'the last slab was dropped: a write-trim loop would map one each time');
  assert.equal(s.take(), b);
  s.clear();
  assert.equal(s.slabCount, 0);
  s.release(b); // from a slab clear() dropped: ignored
  assert.equal(s.slabCount, 0);
});
