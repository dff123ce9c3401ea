import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTROL_METHODS } from '../server/control/api.ts';
import { CHANNELS, CHANNEL_LIST, validateControlPayload } from './channels.ts';

test('channels: exactly control, batch, push', () => {
  assert.deepEqual(CHANNELS, { control: 'control', batch: 'batch', push: 'push' });
  assert.deepEqual([...CHANNEL_LIST].sort(), ['batch', 'control', 'push']);
});

test('control payload: every known method passes, params default to {}', () => {
  for (const m of CONTROL_METHODS) assert.deepEqual(validateControlPayload({ method: m }), { method: m, params: {} });
  assert.deepEqual(validateControlPayload({ method: CONTROL_METHODS[0], params: { a: 1 } }).params, { a: 1 });
});

test('control payload: unknown or non-string method rejected', () => {
  assert.throws(() => validateControlPayload({ method: 'exec', params: {} }), /unknown control method 'exec'/);
  assert.throws(() => validateControlPayload({ method: 'constructor' }), /unknown control method/);
  assert.throws(() => validateControlPayload({ method: 42 }), /unknown control method/);
  assert.throws(() => validateControlPayload({}), /unknown control method/);
});

test('control payload: bad params or payload shape rejected', () => {
  const m = CONTROL_METHODS[0];
  assert.throws(() => validateControlPayload({ method: m, params: [1] }), /params must be an object/);
  assert.throws(() => validateControlPayload({ method: m, params: null }), /params must be an object/);
  assert.throws(() => validateControlPayload({ method: m, params: 'x' }), /params must be an object/);
  assert.throws(() => validateControlPayload('listDisks'), /must be an object/);
  assert.throws(() => validateControlPayload(null), /must be an object/);
  assert.throws(() => validateControlPayload([m]), /must be an object/);
});
