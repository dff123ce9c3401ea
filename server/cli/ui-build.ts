// `--ui` needs the built page (out/renderer). A fresh `npm install` has not built it (only
// `npm start` and `npm test` do), so the CLI builds it first, saying so in the terminal; if that
// cannot work here (no dev dependencies), it says exactly what to run.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PACKAGE_ROOT = resolve(import.meta.dirname, '..', '..');
export const UI_DIR = join(PACKAGE_ROOT, 'out', 'renderer');

export type UiBuildResult = 'present' | 'built' | 'missing';

/** Run `npm run build` in the package; true when it succeeded. */
export function buildWithNpm(root = PACKAGE_ROOT): boolean {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0;
}

export function ensureUiBuilt(
  uiDir = UI_DIR,
  build: () => boolean = buildWithNpm,
  log: (line: string) => void = (l) => console.error(l),
  root = PACKAGE_ROOT,
): UiBuildResult {
  const index = join(uiDir, 'index.html');
  if (existsSync(index)) return 'present';
  log(`blockscope: the UI is not built yet (${index} is missing): building it now with \`npm run build\`…`);
  let ok = false;
  try {
    ok = build();
  } catch (err) {
    log(`blockscope: the build could not start: ${(err as Error).message}`);
  }
  if (ok && existsSync(index)) {
    log('blockscope: UI built.');
    return 'built';
  }
  log(
    `blockscope: could not build the UI. Run \`cd ${root} && npm install && npm run build\`, then start again ` +
      '(the control API works meanwhile; the page says the UI is not built).',
  );
  return 'missing';
}
