#!/usr/bin/env node
// `npm start`: open the Electron app with one 64 MiB disk (log + 40 ms delay, like the original
// demo). Without an Electron binary or a display, say so in one line and serve the same UI
// to a browser instead (`blockscope serve --preset single --ui`), printing its URL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { decideStart } from './start-decision.mjs';

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
let electronBinary = null;
try {
  electronBinary = require('electron'); // the package exports the binary's path…
} catch {
  electronBinary = null; // …and throws when the binary was never downloaded
}
const decision = decideStart({ electronBinary, binaryExists: !!electronBinary && existsSync(electronBinary), env: process.env });

const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (decision.mode === 'electron') {
  if (!existsSync(join(root, 'out', 'main', 'main.js')) && run('npx', ['electron-vite', 'build', '--config', 'electron.config.ts']) !== 0) process.exit(1);
  const child = spawn(electronBinary, ['.'], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log(`blockscope: ${decision.reason} — serving the UI in your browser instead`);
  if (!existsSync(join(root, 'out', 'renderer', 'index.html')) && run('npm', ['run', '--silent', 'build']) !== 0) process.exit(1);
  const child = spawn(process.execPath, [join(root, 'server', 'bin', 'blockscope.mjs'), 'serve', '--preset', 'single', '--ui', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
