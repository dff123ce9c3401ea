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

test('borrowed chunks: takes copy, retain keeps the rest, a second borrow needs a retain first', () => {
  const q = new ByteQueue();
  const shared = Buffer.from([1, 2, 3, 4, 5, 6]);
  q.push(shared.subarray(0, 6), true);
  const a = q.take(2);
  const b = q.take(1, (n) => Buffer.alloc(n));
  assert.throws(() => q.push(Buffer.from([9]), true), /not retained/);
  q.retain();
  shared.fill(0); // the socket reuses its buffer for the next read
  assert.deepEqual([...a], [1, 2], 'a take from a borrowed chunk is a copy');
  assert.deepEqual([...b], [3]);
  assert.deepEqual([...q.take(3)], [4, 5, 6], 'retain copied what was left');
  q.push(shared.subarray(0, 2), true); // empty again: a new borrow is fine
  assert.equal(q.length, 2);
});

test('borrowed chunk behind an owned one: the owned part is still a view, the join copies', () => {
  const q = new ByteQueue();
  const owned = Buffer.from([1, 2]);
  const shared = Buffer.from([3, 4]);
  q.push(owned);
  q.push(shared, true);
  const view = q.take(1);
  const joined = q.take(2);
  q.retain();
  shared.fill(0);
  assert.equal(view.buffer, owned.buffer, 'owned bytes are not copied');
  assert.deepEqual([...joined], [2, 3]);
  assert.deepEqual([...q.take(1)], [4]);
});
