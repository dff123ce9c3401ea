import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSize, parseSize } from './size.ts';

test('parseSize accepts nbdkit forms', () => {
  assert.equal(parseSize('65536'), 65536n);
  assert.equal(parseSize('64M'), 64n << 20n);
  assert.equal(parseSize('1g'), 1n << 30n);
  assert.equal(parseSize('7E'), 7n << 60n);
  assert.equal(parseSize('2s'), 1024n);
  assert.equal(parseSize('4KiB'), 4096n);
  assert.equal(parseSize('9223372036854775807'), (1n << 63n) - 1n);
});

test('parseSize rejects garbage and overflow with a clear message', () => {
  assert.throws(() => parseSize('8E'), /larger than 2\^63-1/);
  assert.throws(() => parseSize('12Q'), /could not parse size '12Q'/);
  assert.throws(() => parseSize('-1'), /could not parse/);
  assert.throws(() => parseSize(''), /could not parse/);
});

test('formatSize is exact where it can be', () => {
  assert.equal(formatSize(64n << 20n), '64 MiB');
  assert.equal(formatSize(7n << 60n), '7 EiB');
  assert.equal(formatSize(1536n << 20n), '1.5 GiB');
  assert.equal(formatSize(100n), '100 B');
});
