import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseArgs, uiQuery, UI_OPTIONS } from './args.ts';
import { ensureUiBuilt } from './ui-build.ts';

test('--ui without a built page: builds it first and says so; if it cannot, says exactly what to run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ui-build-'));
  try {
    const ui = join(dir, 'out', 'renderer');
    const lines: string[] = [];
    const builds: string[] = [];
    const build = () => {
      builds.push('npm run build');
      mkdirSync(ui, { recursive: true });
      writeFileSync(join(ui, 'index.html'), '<!doctype html>');
      return true;
    };
    assert.equal(
      ensureUiBuilt(ui, build, (l) => lines.push(l), dir),
      'built',
    );
    assert.match(lines[0], /not built yet .*building it now with `npm run build`/);
    assert.equal(
      ensureUiBuilt(ui, build, (l) => lines.push(l), dir),
      'present',
      'built once, not again',
    );
    assert.equal(builds.length, 1);
    rmSync(ui, { recursive: true });
    lines.length = 0;
    assert.equal(
      ensureUiBuilt(
        ui,
        () => false,
        (l) => lines.push(l),
        dir,
      ),
      'missing',
    );
    assert.match(lines.join('\n'), new RegExp(`Run \`cd ${dir} && npm install && npm run build\``));
    lines.length = 0;
    const throwing = () => {
      throw new Error('spawn npm ENOENT');
    };
    assert.equal(
      ensureUiBuilt(ui, throwing, (l) => lines.push(l), dir),
      'missing',
    );
    assert.match(lines.join('\n'), /could not start: spawn npm ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UI settings as CLI options become the printed URL query; bad values are clear errors', () => {
  const spec = { values: UI_OPTIONS.values, flags: UI_OPTIONS.flags };
  assert.equal(uiQuery(parseArgs(['--present', '--palette', 'projector'], spec)), '?palette=projector&present=1');
  assert.equal(uiQuery(parseArgs([], spec)), '');
  assert.throws(() => uiQuery(parseArgs(['--palette', 'neon'], spec)), /--palette: unknown palette 'neon'/);
  assert.throws(() => uiQuery(parseArgs(['--flash', '9'], spec)), /--flash: expected 50-2000 ms/);
});
