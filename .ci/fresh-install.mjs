#!/usr/bin/env node
// CI: what a newcomer does on a fresh clone, on a machine that cannot download Electron's
// binary — `npm install` (electron's postinstall allowed to run and fail, ELECTRON_SKIP_BINARY_DOWNLOAD
// unset), then `npx blockscope serve --ui` and `npm start` — must all work: install exits 0,
// both serve the UI (the browser fallback here), both stop cleanly on Ctrl-C.
// Uses the npm cache, so it is quick after `npm ci`; set FRESH_INSTALL_KEEP=1 to keep the clone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'blockscope-fresh-'));
const clone = join(tmp, 'blockscope');
const env = { ...process.env };
for (const k of ['ELECTRON_SKIP_BINARY_DOWNLOAD', 'DISPLAY', 'WAYLAND_DISPLAY', 'npm_config_ignore_scripts'])
  delete env[k];
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

/** Run a server command until it prints `ui URL`, fetch the page, Ctrl-C it; returns its exit code. */
function serveAndStop(label, cmd, args) {
  return new Promise((resolve) => {
    console.log(`$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let fetched = false;
    const timer = setTimeout(() => {
      check(false, `${label}: no UI URL within 180 s`);
      process.kill(-child.pid, 'SIGKILL');
    }, 180_000);
    const onOut = async (d) => {
      out += d;
      process.stdout.write(d);
      const m = /^ui (http\S+)/m.exec(out);
      if (!m || fetched) return;
      fetched = true;
      try {
        const res = await fetch(m[1]);
        const html = await res.text();
        check(
          res.status === 200 && /<div id="root"/.test(html),
          `${label}: ${m[1]} serves the UI (HTTP ${res.status})`,
        );
      } catch (err) {
        check(false, `${label}: fetching ${m[1]}: ${err.message}`);
      }
      process.kill(-child.pid, 'SIGINT');
    };
    child.stdout.on('data', onOut);
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // npm and npx re-raise the Ctrl-C they got (as a shell would see it); the server itself
      // must have exited 0 after cleaning up, which the removed socket shows.
      resolve(code === 0 || code === 130 || signal === 'SIGINT' ? 0 : (code ?? 1));
    });
  });
}

try {
  const c = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', root, clone], { stdio: 'inherit' });
  if (c.status !== 0) throw new Error('git clone failed');

  console.log('$ npm install   (no ELECTRON_SKIP_BINARY_DOWNLOAD)');
  const t0 = Date.now();
  const inst = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: clone, env, stdio: 'inherit' });
  check(inst.status === 0, `npm install exits 0 (exit ${inst.status}, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const binary = existsSync(join(clone, 'node_modules', 'electron', 'path.txt'));
  const pkg = existsSync(join(clone, 'node_modules', 'electron', 'package.json'));
  console.log(
    `     node_modules/electron: ${pkg ? 'installed' : 'left out by npm (its postinstall failed: an optional dependency)'}`,
  );
  console.log(
    `     the Electron binary ${binary ? 'was downloaded: npm start opens the app window where there is a display' : 'is not available here: npm start serves the browser UI'}`,
  );

  if (inst.status === 0) {
    const sock = join(tmp, 'sockets');
    const code1 = await serveAndStop('npx blockscope serve --ui', 'npx', [
      'blockscope',
      'serve',
      '--ui',
      '--unix',
      sock,
    ]);
    check(code1 === 0, `npx blockscope serve --ui stops cleanly (exit ${code1})`);
    const code2 = await serveAndStop('npm start', 'npm', ['start', '--', '--unix', sock]);
    check(code2 === 0, `npm start stops cleanly (exit ${code2})`);
  }
} catch (err) {
  check(false, err.message);
} finally {
  if (!process.env.FRESH_INSTALL_KEEP) rmSync(tmp, { recursive: true, force: true });
}

console.log(failures.length ? `fresh-install: ${failures.length} failed` : 'fresh-install: all checks passed');
process.exit(failures.length ? 1 : 0);
