import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDiskCount } from './disk-count.ts';

test('a disk count is a whole number from 1 to 16, as typed', () => {
  for (const [text, n] of [
    ['1', 1],
    ['5', 5],
    [' 16 ', 16],
    ['03', 3],
  ] as const)
    assert.equal(parseDiskCount(text), n, text);
  for (const text of ['', 'abc', '0', '-1', '17', '2.5', '1e3', '9E', '99999999999', '+3'])
    assert.equal(parseDiskCount(text), null, text);
});
