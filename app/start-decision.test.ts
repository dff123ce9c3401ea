import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decideStart,
  ENGINE_TUNABLES,
  fallbackLine,
  withTunables,
  type StartFacts,
} from '../server/bin/start-decision.mjs';

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

test('start: the engine gets the tunables of the blockscope shebang; a user setting wins', () => {
  const shebang = readFileSync(join(import.meta.dirname, '..', 'server', 'bin', 'blockscope.mjs'), 'utf8').split(
    '\n',
  )[0];
  assert.deepEqual(/GLIBC_TUNABLES=(\S+)/.exec(shebang)?.[1].split(':'), ENGINE_TUNABLES);
  assert.equal(withTunables({} as NodeJS.ProcessEnv, ENGINE_TUNABLES).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
  const mine = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0', PATH: '/bin' };
  assert.deepEqual(withTunables(mine, ENGINE_TUNABLES), {
    GLIBC_TUNABLES: 'glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1',
    PATH: '/bin',
  });
  const off = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' };
  assert.equal(withTunables(off, ENGINE_TUNABLES), off);
  assert.deepEqual(withTunables(off, [...ENGINE_TUNABLES, 'glibc.malloc.arena_max=1']), {
    GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0:glibc.malloc.arena_max=1',
  });
});
