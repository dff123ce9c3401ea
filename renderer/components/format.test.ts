import assert from 'node:assert/strict';
import { test } from 'node:test';
import { human } from './format.ts';

test('human(): at most three digits before the unit, whatever the value', () => {
  assert.equal(human(0), '0 B');
  assert.equal(human(999), '999 B');
  assert.equal(human(1000), '1.0 KiB');
  assert.equal(human(99.5 * 1024), '99.5 KiB');
  assert.equal(human(1007 * 1024), '1.0 MiB');
  assert.equal(human(1023.9 * 1024 * 1024), '1.0 GiB');
  for (let b = 1; b < 2 ** 50; b = Math.ceil(b * 1.37))
    assert.match(human(b), /^(\d{1,3}|\d{1,2}\.\d) [KMGTPE]?i?B$/, `${b} bytes: ${human(b)}`);
});
