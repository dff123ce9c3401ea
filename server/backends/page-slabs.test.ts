import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageSlabs, SparseMemory } from './page-slabs.ts';

test('pages are cut from one slab in turn, and a released one is handed out again', () => {
  const s = new PageSlabs(4096, 4 * 4096);
  const pages = [s.take(), s.take(), s.take(), s.take()];
  assert.equal(s.slabCount, 1);
  assert.ok(pages.every((p) => s.memoryOf(p) === s.memoryOf(pages[0])));
  assert.deepEqual(
    pages.map((p) => s.offsetOf(p)),
    [0, 4096, 8192, 12288],
  );
  const v = s.view(pages[1]);
  assert.equal(v.length, 4096);
  v.fill(7);
  assert.equal(s.memoryOf(pages[1])[s.offsetOf(pages[1])], 7, 'a view is the page itself');
  s.release(pages[2]);
  assert.equal(s.take(), pages[2], 'a released slot is taken before a new slab is mapped');
  const fifth = s.take();
  assert.equal(s.slabCount, 2);
  assert.notEqual(s.memoryOf(fifth), s.memoryOf(pages[0]));
  assert.ok(!pages.includes(fifth), 'page numbers are unique while taken');
});

test('a slab with every page released is dropped, unless it is the last; its index is used again', () => {
  const s = new PageSlabs(4096, 2 * 4096);
  const a = [s.take(), s.take()];
  const b = s.take();
  assert.equal(s.slabCount, 2);
  for (const p of a) s.release(p);
  assert.equal(s.slabCount, 1, 'an empty slab was kept beside another');
  const rest = s.take(); // the room left in b's slab first
  assert.equal(s.memoryOf(rest), s.memoryOf(b));
  const c = [s.take(), s.take()];
  assert.equal(s.slabCount, 2);
  assert.deepEqual(c, a, "the dropped slab's index (so its numbers) went to the new slab");
  assert.notEqual(s.memoryOf(c[0]), s.memoryOf(b));
  for (const p of [...c, rest]) s.release(p);
  s.release(b);
  assert.equal(s.slabCount, 1, 'the last slab was dropped: a write-trim loop would map one each time');
  assert.equal(s.take(), b);
  s.clear();
  assert.equal(s.slabCount, 0);
  const d = s.take();
  assert.equal(s.slabCount, 1);
  assert.equal(s.offsetOf(d), 0, 'after clear() slabs start afresh');
});

test('takeZeroed: a never-used slot is zero as it is; a released one is cleared, take() leaves it', () => {
  const s = new PageSlabs(4096, 2 * 4096);
  const a = s.takeZeroed();
  assert.ok(
    s.view(a).every((b) => b === 0),
    'a slab starts zero-filled',
  );
  s.view(a).fill(9);
  s.release(a);
  assert.equal(s.take(), a);
  assert.equal(s.view(a)[0], 9, 'take() does not clear (a copy on write overwrites the whole page)');
  s.release(a);
  assert.equal(s.takeZeroed(), a);
  assert.ok(
    s.view(a).every((b) => b === 0),
    "a released slot's old bytes were cleared",
  );
});

test('whole-page takes and zeroed takes are cut from slabs of their own kind; released slots go to either', () => {
  const s = new PageSlabs(4096, 2 * 4096);
  const whole = s.take();
  const part = s.takeZeroed();
  assert.deepEqual(s.slabKinds, { dense: 1, sparse: 1 });
  assert.notEqual(s.memoryOf(whole), s.memoryOf(part));
  assert.equal(s.memoryOf(s.take()), s.memoryOf(whole), 'the dense slab is cut on');
  s.release(whole);
  assert.equal(s.takeZeroed(), whole, 'a released slot is used before a new one is cut, whatever its kind');
  assert.ok(s.view(whole).every((b) => b === 0));
});

test('sparse slabs are cut 8 to a WebAssembly memory (fewer, larger allocations for the GC to count)', () => {
  const s = new PageSlabs(4096, 4096);
  const pages = Array.from({ length: 9 }, () => s.takeZeroed());
  assert.deepEqual(s.slabKinds, { dense: 0, sparse: 9 });
  const buffers = pages.map((p) => s.memoryOf(p).buffer);
  assert.ok(
    buffers.slice(1, 8).every((b) => b === buffers[0]),
    'the first 8 slabs share one memory',
  );
  assert.notEqual(buffers[8], buffers[0], 'the ninth starts another');
  assert.equal(s.memoryOf(pages[1]).byteOffset, 4096);
});

test('where V8 cannot make a WebAssembly memory, sparse slabs are zero-filled Buffers (tried once)', () => {
  let tries = 0;
  const m = new SparseMemory(8192, 8, () => {
    tries++;
    throw new RangeError('WebAssembly.Memory(): could not allocate memory');
  });
  const slabs = [m.slab(), m.slab(), m.slab()];
  assert.equal(tries, 1);
  assert.ok(slabs.every((b) => b.length === 8192 && b.every((x) => x === 0)));
  assert.notEqual(slabs[0].buffer, slabs[1].buffer);
});
