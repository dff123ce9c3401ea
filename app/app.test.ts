import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNELS, validateControlPayload } from './channels.ts';
import { registerIpc } from './ipc.ts';
import { windowOptions } from './window-options.ts';
import { DEFAULT_WINDOW, parseWindowState } from './window-state.ts';

test('control payloads are validated', () => {
  assert.deepEqual(validateControlPayload({ method: 'listDisks' }), { method: 'listDisks', params: {} });
  assert.throws(() => validateControlPayload({ method: 'exec', params: {} }), /unknown control method 'exec'/);
  assert.throws(() => validateControlPayload({ method: 'setErrors', params: [1] }), /params must be an object/);
  assert.throws(() => validateControlPayload('listDisks'), /must be an object/);
});

test('registerIpc: one channel, foreign senders refused, valid calls reach the API', async () => {
  const handlers = new Map<string, (e: { sender: unknown }, ...a: unknown[]) => unknown>();
  const calls: unknown[] = [];
  const ours = { id: 'window' };
  registerIpc({ handle: (ch, fn) => void handlers.set(ch, fn) }, () => ours, { call: async (m, p) => (calls.push([m, p]), 'ok') });
  assert.deepEqual([...handlers.keys()], [CHANNELS.control]);
  const h = handlers.get(CHANNELS.control)!;
  assert.equal(await h({ sender: ours }, { method: 'setErrors', params: { disk: 1, on: true } }), 'ok');
  assert.deepEqual(calls, [['setErrors', { disk: 1, on: true }]]);
  await assert.rejects(async () => h({ sender: { id: 'other' } }, { method: 'listDisks' }), /unknown sender/);
  await assert.rejects(async () => h({ sender: ours }, { method: 'nope' }), /unknown control method/);
  assert.equal(calls.length, 1);
});

test('window options keep the renderer sandboxed', () => {
  const o = windowOptions(DEFAULT_WINDOW, '/p/preload.cjs');
  assert.equal(o.webPreferences.contextIsolation, true);
  assert.equal(o.webPreferences.sandbox, true);
  assert.equal(o.webPreferences.nodeIntegration, false);
  assert.equal(o.webPreferences.webSecurity, true);
  assert.equal(o.webPreferences.preload, '/p/preload.cjs');
});

test('window state: defaults, corrupt files, sane bounds', () => {
  assert.deepEqual(parseWindowState(null), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('{nope'), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('{"width":5,"height":1e9}'), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('{"x":10,"y":20,"width":800,"height":600,"maximized":true}'), { x: 10, y: 20, width: 800, height: 600, maximized: true });
});
