import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteQueue } from './byte-queue.ts';

test('take: views within a chunk, joins across chunks, zero-length takes', () => {
  const q = new ByteQueue();
  q.push(Buffer.from([1, 2, 3]));
  q.push(Buffer.alloc(0));
  q.push(Buffer.from([4, 5]));
  assert.equal(q.length, 5);
  assert.deepEqual([...q.take(0)], []);
  assert.deepEqual([...q.take(2)], [1, 2]);
  assert.deepEqual([...q.take(2)], [3, 4]); // spans two chunks
  assert.equal(q.length, 1);
  assert.deepEqual([...q.take(1)], [5]);
  assert.equal(q.length, 0);
  assert.deepEqual([...q.take(0)], []); // legal on an empty queue
});

test('take more than queued is a RangeError, not a crash deep inside', () => {
  const q = new ByteQueue();
  q.push(Buffer.from([1]));
  assert.throws(() => q.take(2), RangeError);
  assert.equal(q.length, 1);
});

test('skip drops what is there, clear empties', () => {
  const q = new ByteQueue();
  q.push(Buffer.alloc(10));
  q.push(Buffer.alloc(10));
  assert.equal(q.skip(15), 15);
  assert.equal(q.length, 5);
  assert.equal(q.skip(100), 5);
  q.push(Buffer.alloc(3));
  q.clear();
  assert.equal(q.length, 0);
});

test('takeInto fills a destination across chunks and stops at max or when empty', () => {
  const q = new ByteQueue();
  q.push(Buffer.from([1, 2, 3]));
  q.push(Buffer.from([4, 5, 6]));
  const dst = Buffer.alloc(8);
  assert.equal(q.takeInto(dst, 1, 4), 4);
  assert.deepEqual([...dst], [0, 1, 2, 3, 4, 0, 0, 0]);
  assert.equal(q.length, 2);
  assert.equal(q.takeInto(dst, 5, 10), 2); // only 2 left
  assert.deepEqual([...dst], [0, 1, 2, 3, 4, 5, 6, 0]);
  assert.equal(q.length, 0);
  assert.equal(q.takeInto(dst, 7, 1), 0);
});
