import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchOptions } from './launch-options.ts';

test('npm start -- --present --palette projector: the page query and full screen', () => {
  const o = launchOptions(['/usr/bin/electron', '.', '--present', '--palette', 'projector']);
  assert.deepEqual(o.query, { palette: 'projector', present: '1' });
  assert.equal(o.fullscreen, true);
  assert.deepEqual(o.errors, []);
  assert.deepEqual(launchOptions(['electron', '.', '--flash=600']).query, { flash: '600' });
  assert.equal(launchOptions(['electron', '.']).fullscreen, false);
  const bad = launchOptions(['electron', '.', '--palette', 'neon']);
  assert.deepEqual(bad.query, {});
  assert.match(bad.errors[0], /--palette: .*unknown palette 'neon'/);
});
