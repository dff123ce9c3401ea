import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error plain ESM helper without types
import { decideStart } from './start-decision.mjs';

test('npm start: Electron only with a binary and a display, else the browser with a reason', () => {
  assert.deepEqual(decideStart({ electronBinary: '/e', binaryExists: true, env: { DISPLAY: ':0' } }), { mode: 'electron' });
  assert.match(decideStart({ electronBinary: null, binaryExists: false, env: { DISPLAY: ':0' } }).reason, /no Electron binary/);
  assert.match(decideStart({ electronBinary: '/e', binaryExists: false, env: {} }).reason, /no Electron binary/);
  assert.match(decideStart({ electronBinary: '/e', binaryExists: true, env: {} }).reason, /no display/);
  assert.deepEqual(decideStart({ electronBinary: '/e', binaryExists: true, env: { WAYLAND_DISPLAY: 'w' } }), { mode: 'electron' });
});
