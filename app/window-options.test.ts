import assert from 'node:assert/strict';
import { test } from 'node:test';
import { windowOptions } from './window-options.ts';
import { DEFAULT_WINDOW } from './window-state.ts';

test('window options keep the renderer sandboxed', () => {
  const o = windowOptions(DEFAULT_WINDOW, '/p/preload.cjs');
  assert.equal(o.webPreferences.contextIsolation, true);
  assert.equal(o.webPreferences.sandbox, true);
  assert.equal(o.webPreferences.nodeIntegration, false);
  assert.equal(o.webPreferences.webSecurity, true);
  assert.equal(o.webPreferences.preload, '/p/preload.cjs');
  assert.equal(o.title, 'Blockscope');
  assert.equal(o.backgroundColor, '#16181d');
  assert.equal(o.width, 1400);
  assert.equal(o.height, 900);
});

test('window options use the remembered bounds', () => {
  const o = windowOptions({ x: 5, y: 6, width: 800, height: 600, maximized: false }, '/x.cjs');
  assert.deepEqual([o.x, o.y, o.width, o.height], [5, 6, 800, 600]);
});
