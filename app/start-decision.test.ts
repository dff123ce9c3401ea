import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideStart, fallbackLine, type StartFacts } from '../server/bin/start-decision.mjs';

const facts = (o: Partial<StartFacts> = {}): StartFacts => ({
  electronPath: '/nm/electron/dist/electron',
  electronExists: true,
  env: { DISPLAY: ':0' },
  hasMainBuild: true,
  hasRendererBuild: true,
  ...o,
});

test('start: Electron with binary and display; builds only when out/main is missing', () => {
  assert.deepEqual(decideStart(facts()), { mode: 'electron', build: false, reason: null });
  assert.deepEqual(decideStart(facts({ hasMainBuild: false })), { mode: 'electron', build: true, reason: null });
  assert.equal(decideStart(facts({ env: { WAYLAND_DISPLAY: 'wayland-0' } })).mode, 'electron');
});

test('start: no binary → browser, with the reason', () => {
  for (const f of [facts({ electronPath: null, electronExists: false }), facts({ electronExists: false })]) {
    const d = decideStart(f);
    assert.equal(d.mode, 'browser');
    assert.match(d.reason!, /no Electron binary/);
  }
});

test('start: no display → browser; renderer built only when missing', () => {
  const d = decideStart(facts({ env: { DISPLAY: '' } }));
  assert.equal(d.mode, 'browser');
  assert.match(d.reason!, /no display/);
  assert.equal(d.build, false);
  assert.equal(decideStart(facts({ env: {}, hasRendererBuild: false })).build, true);
});

test('start: the fallback message is one line', () => {
  const line = fallbackLine('no display');
  assert.match(line, /^blockscope: no display — serving the UI in your browser instead$/);
  assert.ok(!line.includes('\n'));
});
