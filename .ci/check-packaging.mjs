#!/usr/bin/env node
// CI: keep `npm run dist` from rotting on machines without the Electron binary. Builds the app
// with electron-vite, then runs electron-builder --dir with a stub in place of the unpacked
// Electron (electronDist), and checks what would ship: the executable, app.asar with the main,
// preload and renderer bundles, package.json, ws — and not the electron package.
// Where the binary is available, `npm run dist` builds the AppImage and .deb from the same config.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));
const tmp = mkdtempSync(join(tmpdir(), 'blockscope-packaging-'));
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

function step(cmd, args) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`check-packaging: ${cmd} ${args[0]} failed (exit ${r.status})`);
    process.exit(1);
  }
}

try {
  const config = require('./electron-builder.config.cjs');
  const { electronVersion } = require('./electron-version.cjs');
  const pkg = require('./package.json');
  check(config.electronVersion === electronVersion(), `electronVersion is explicit (${config.electronVersion})`);
  check(pkg.optionalDependencies?.electron !== undefined, 'electron is an optional dependency');
  check(!pkg.devDependencies?.electron && !pkg.dependencies?.electron, 'electron is nowhere else');
  check(pkg.allowScripts?.electron === true, "electron's postinstall may run (npm 11 allowScripts)");
  const targets = config.linux?.target ?? [];
  check(targets.includes('AppImage') && targets.includes('deb'), 'Linux targets: AppImage and deb');
  check(Boolean(config.linux?.maintainer), 'a deb maintainer is set');

  step('npx', ['electron-vite', 'build', '--config', 'electron.config.ts']);

  const stub = join(tmp, 'electron-stub');
  mkdirSync(stub);
  writeFileSync(join(stub, 'electron'), '#!/bin/sh\necho "electron stub: the real binary is not available here"\n');
  chmodSync(join(stub, 'electron'), 0o755);
  writeFileSync(join(stub, 'version'), config.electronVersion);
  const out = join(tmp, 'release');
  step('npx', [
    'electron-builder',
    '--dir',
    '--config',
    'electron-builder.config.cjs',
    `-c.electronDist=${stub}`,
    `-c.directories.output=${out}`,
  ]);

  const unpacked = join(out, 'linux-unpacked');
  const exe = join(unpacked, pkg.name);
  check(existsSync(exe) && (statSync(exe).mode & 0o111) !== 0, `executable ${pkg.name}`);
  const asar = join(unpacked, 'resources', 'app.asar');
  check(existsSync(asar), 'resources/app.asar');
  const files = new Set(require('@electron/asar').listPackage(asar));
  for (const f of [
    '/package.json',
    `/${pkg.main}`,
    '/out/preload/preload.cjs',
    '/out/renderer/index.html',
    '/node_modules/ws/package.json',
  ])
    check(files.has(f), `app.asar has ${f}`);
  check(![...files].some((f) => f.startsWith('/node_modules/electron/')), 'app.asar has no electron package');
  // Each disk's data path runs in a worker thread: its bundle (electron-vite's ?nodeWorker) ships too.
  check(
    [...files].some((f) => /^\/out\/main\/disk-worker-[\w-]+\.js$/.test(f)),
    'app.asar has the disk worker bundle',
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(failures.length ? `check-packaging: ${failures.length} failed` : 'check-packaging: all checks passed');
process.exit(failures.length ? 1 : 0);
