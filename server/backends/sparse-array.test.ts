import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXTENT_HOLE, EXTENT_ZERO } from './backend.ts';
import { PAGE_SIZE, SparseArray } from './sparse-array.ts';

test('unwritten space reads as zeroes and allocates nothing', () => {
  const a = new SparseArray();
  const buf = Buffer.alloc(100_000, 0xff);
  a.read(buf, 5n << 50n);
  assert.ok(buf.every((b) => b === 0));
  assert.equal(a.allocatedBytes, 0);
});

test('writes across page boundaries read back; memory grows with data, not offsets', () => {
  const a = new SparseArray();
  const data = Buffer.from(Array.from({ length: 3 * PAGE_SIZE }, (_, i) => i % 251));
  const off = (7n << 60n) - BigInt(4 * PAGE_SIZE) + 100n;
  a.write(data, off);
  const back = Buffer.alloc(data.length);
  a.read(back, off);
  assert.ok(back.equals(data));
  assert.equal(a.allocatedBytes, 4 * PAGE_SIZE);
});

test('zero frees whole pages and partial pages that become all zero', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(3 * PAGE_SIZE, 1), 0n);
  a.zero(PAGE_SIZE, BigInt(PAGE_SIZE));
  assert.equal(a.allocatedBytes, 2 * PAGE_SIZE);
  a.zero(100, 0n);
  assert.equal(a.allocatedBytes, 2 * PAGE_SIZE, 'partial page still has data');
  a.zero(PAGE_SIZE - 100, 100n);
  assert.equal(a.allocatedBytes, PAGE_SIZE, 'page became all zero: freed');
});

test('extents: hole|zero, zero and data at page granularity', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(10, 1), 0n);
  a.write(Buffer.alloc(10, 1), BigInt(2 * PAGE_SIZE));
  a.write(Buffer.alloc(PAGE_SIZE, 0), BigInt(4 * PAGE_SIZE)); // allocated but zero
  const e = a.extents(5 * PAGE_SIZE, 0n);
  assert.deepEqual(
    e.map((x) => [Number(x.length) / PAGE_SIZE, x.type]),
    [
      [1, 0],
      [1, EXTENT_HOLE | EXTENT_ZERO],
      [1, 0],
      [1, EXTENT_HOLE | EXTENT_ZERO],
      [1, EXTENT_ZERO],
    ],
  );
});
