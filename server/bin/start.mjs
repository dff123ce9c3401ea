#!/usr/bin/env node
// `npm start`: the Electron app when it can run here (binary installed and a display), otherwise
// the same UI served to a browser by `blockscope serve --preset single --ui` (which prints the URL).
// Arguments after `npm start --` go to that serve command (e.g. `npm start -- --port 0`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { decideStart, ENGINE_TUNABLES, fallbackLine, withTunables } from './start-decision.mjs';

const root = new URL('../..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));

let electronPath = null;
try {
  const p = require('electron'); // throws "Electron failed to install correctly" without the binary
  if (typeof p === 'string') electronPath = p;
} catch {
  electronPath = null;
}

const decision = decideStart({
  electronPath,
  electronExists: electronPath !== null && existsSync(electronPath),
  env: process.env,
  hasMainBuild: existsSync(join(root, 'out', 'main')),
  hasRendererBuild: existsSync(join(root, 'out', 'renderer', 'index.html')),
});

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function runOrExit(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function exec(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env: withTunables(process.env, ENGINE_TUNABLES) });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

// UI settings pass through: `npm start -- --present --palette projector`.
const passThrough = process.argv.slice(2);

if (decision.mode === 'electron') {
  if (decision.build) runOrExit(npx, ['electron-vite', 'build', '--config', 'electron.config.ts']);
  exec(electronPath, ['.', ...passThrough]);
} else {
  console.log(fallbackLine(decision.reason));
  if (decision.build) runOrExit(npm, ['run', 'build']);
  exec(process.execPath, [
    join(root, 'server', 'bin', 'blockscope.mjs'),
    'serve',
    '--preset',
    'single',
    '--ui',
    ...passThrough,
  ]);
}
