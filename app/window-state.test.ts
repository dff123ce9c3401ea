import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_WINDOW, loadWindowState, parseWindowState, saveWindowState } from './window-state.ts';

test('window state: defaults are 1400×900, not maximized', () => {
  assert.deepEqual(DEFAULT_WINDOW, { width: 1400, height: 900, maximized: false });
  assert.deepEqual(parseWindowState(null), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState(''), DEFAULT_WINDOW);
});

test('window state: corrupt or odd JSON falls back to defaults', () => {
  assert.deepEqual(parseWindowState('{nope'), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('null'), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('[1,2]'), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('{"width":5,"height":1e9}'), DEFAULT_WINDOW);
  assert.deepEqual(parseWindowState('{"width":"800","height":600.5,"maximized":"yes"}'), DEFAULT_WINDOW);
  // x without y is dropped, the rest kept
  assert.deepEqual(parseWindowState('{"x":10,"width":800,"height":600}'), {
    width: 800,
    height: 600,
    maximized: false,
  });
  assert.deepEqual(parseWindowState('{"x":10,"y":20,"width":800,"height":600,"maximized":true}'), {
    x: 10,
    y: 20,
    width: 800,
    height: 600,
    maximized: true,
  });
});

test('window state: file round trip, missing and corrupt files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bs-win-'));
  try {
    const path = join(dir, 'window.json');
    assert.deepEqual(loadWindowState(path), DEFAULT_WINDOW);
    const s = { x: -50, y: 30, width: 1024, height: 700, maximized: true };
    saveWindowState(path, s);
    assert.deepEqual(loadWindowState(path), s);
    writeFileSync(path, '\u0000garbage');
    assert.deepEqual(loadWindowState(path), DEFAULT_WINDOW);
    saveWindowState(join(dir, 'no', 'such', 'dir.json'), s); // must not throw
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
