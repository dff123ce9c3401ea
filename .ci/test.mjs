#!/usr/bin/env node
// `npm test`: every test of the project, in one command.
//   1. typecheck (tsc --noEmit), lint (ESLint, incl. the import boundaries), format (Prettier --check)
//   2. build the renderer (the e2e and UI tests load the built page)
//   3. unit + integration tests (node:test, every *.test.ts under server/ app/ renderer/ bench/)
//      — integration tests drive the real clients (qemu-io, nbdinfo, nbdcopy, nbdsh, fio, nbdkit)
//   4. end-to-end tests (Playwright with Debian's Chromium: the grid, the demos)
//   5. the quick benchmark smoke run (fails only on errors or lost events)
//   6. packaging (electron-builder --dir with a stub Electron) and a newcomer's install: a fresh
//      clone, `npm install` without ELECTRON_SKIP_BINARY_DOWNLOAD, `npx blockscope serve --ui`, `npm start`
// Prints one closing line `tests: N passed, N failed`.
// Options: --only unit|e2e|bench|install  (run one stage after typecheck/build); extra args after `--`
// are passed to node --test as file filters.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const filters = args.includes('--') ? args.slice(args.indexOf('--') + 1) : [];

let passed = 0;
let failed = 0;
const failures = [];
// The tests that failed (and, for Playwright, the attempts that failed before a retry passed),
// repeated after the last stage: CI keeps only the end of the log, and a stage's own list of
// failures is hundreds of lines above it.
const failedTests = [];

// Reads a stage's output line by line for failed tests: node:test's TAP (`not ok N - name`, then
// its YAML block with `location:` and `failureType:`) and Playwright's list reporter (`✘ …`).
function failedTestScanner(label) {
  const decoder = new StringDecoder('utf8'); // a chunk may end inside a `✘`
  let partial = '';
  let pending = null; // a `not ok` whose YAML block is being read
  const onLine = (line) => {
    const notOk = line.match(/^\s*not ok \d+ - (.*)$/);
    if (notOk) {
      pending = { name: notOk[1], location: '', parent: false };
      return;
    }
    if (line.match(/^\s*✘\s/)) {
      failedTests.push(`${label}: ${line.trim()}`);
      return;
    }
    if (!pending) return;
    const location = line.match(/^\s*location: '(.*)'$/);
    if (location) pending.location = location[1].replace(root, '');
    if (/^\s*failureType: 'subtestsFailed'$/.test(line)) pending.parent = true;
    if (/^\s*\.\.\.$/.test(line)) {
      // A file or a test whose only failure is a subtest's is named by that subtest.
      if (!pending.parent)
        failedTests.push(`${label}: ${pending.name}${pending.location ? ` (${pending.location})` : ''}`);
      pending = null;
    }
  };
  return (chunk) => {
    const lines = (partial + decoder.write(chunk)).split('\n');
    partial = lines.pop();
    for (const line of lines) onLine(line);
  };
}

// Runs one stage. `buffered`: its output is held and printed whole when it ends (stages that run
// side by side would otherwise interleave their lines).
function run(label, cmd, cmdArgs, { parse, buffered = false, env = {} } = {}) {
  return new Promise((resolve) => {
    const header = `\n=== ${label}: ${cmd} ${cmdArgs.join(' ')}`;
    const held = [];
    const write = (stream, d) => (buffered ? held.push([stream, d]) : stream.write(d));
    if (!buffered) console.log(header);
    const started = Date.now();
    const child = spawn(cmd, cmdArgs, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    const scan = parse ? failedTestScanner(label) : null;
    child.stdout.on('data', (d) => {
      write(process.stdout, d);
      scan?.(d);
      out += d;
      if (out.length > 1 << 20) out = out.slice(-(1 << 19));
    });
    child.stderr.on('data', (d) => write(process.stderr, d));
    child.on('close', (code) => {
      if (buffered) {
        console.log(header);
        for (const [stream, d] of held) stream.write(d);
      }
      console.log(`=== ${label}: exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const counts = parse ? parse(out) : null;
      if (counts) {
        passed += counts.pass;
        failed += counts.fail;
        if (code !== 0 && counts.fail === 0) {
          failed += 1; // the runner failed outside any test (crash, config error)
        }
      } else if (code === 0) passed += 1;
      else failed += 1;
      if (code !== 0) failures.push(`${label} (exit ${code})`);
      resolve(code);
    });
  });
}

function findTests(dir) {
  const found = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...findTests(p));
    else if (name.endsWith('.test.ts')) found.push(relative(root, p));
  }
  return found;
}

// node:test starts the files in the order given, two at a time. These take longest (each one
// minute or more on this 2-core machine; the reference suites four): started first, they run next to the
// many short files instead of ending the stage alone on one core. A file missing here only loses its place.
const LONGEST_FIRST = [
  'server/test/conformance.test.ts',
  'server/logs/hostile-logs.test.ts',
  'server/record/record.test.ts',
  'server/cli/cli.test.ts',
  'server/test/fuzz.test.ts',
  'server/test/guestfish-proxy.test.ts',
  'server/control/hostile.test.ts',
  'server/cli/map.test.ts',
  'server/structure/ext/ext.test.ts',
  'server/structure/xfs/xfs.test.ts',
  'server/structure/md/layouts.test.ts',
  'server/structure/lvm/volumes.test.ts',
  'server/structure/md/stacked.test.ts',
];

// Run a second time with every disk in a worker thread: the real clients and the protocol's edges.
const WORKER_PATH_FILES = [
  'server/test/clients-qemu.test.ts',
  'server/test/clients-libnbd.test.ts',
  'server/test/filters-log-compat.test.ts',
  'server/test/filters-error-delay.test.ts',
  'server/test/filter-hold.test.ts',
  'server/test/disc-half-close.test.ts',
  'server/test/protocol-raw.test.ts',
  'server/test/protocol-limits.test.ts',
  'server/test/time-machine.test.ts',
];

const parseNode = (out) => {
  const pass = [...out.matchAll(/^(?:#|ℹ) pass (\d+)/gm)].pop();
  const fail = [...out.matchAll(/^(?:#|ℹ) fail (\d+)/gm)].pop();
  return pass ? { pass: Number(pass[1]), fail: fail ? Number(fail[1]) : 0 } : null;
};
const parsePlaywright = (out) => {
  const pass = out.match(/^\s*(\d+) passed/m);
  const fail = out.match(/^\s*(\d+) failed/m);
  const flaky = out.match(/^\s*(\d+) flaky/m);
  if (!pass && !fail) return null;
  return { pass: Number(pass?.[1] ?? 0) + Number(flaky?.[1] ?? 0), fail: Number(fail?.[1] ?? 0) };
};

// npm drops the optional `electron` package when its binary download fails; its types are what
// app/ is checked against, so say how to get them back instead of a wall of TS2307 errors.
if (!existsSync(join(root, 'node_modules', 'electron', 'electron.d.ts'))) {
  console.log(
    'typecheck: node_modules/electron is missing (npm removes the optional Electron package when its ' +
      'binary cannot be downloaded): reinstall with `ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install`',
  );
}
// Side by side: each is mostly one thread, and none reads what another writes (the build writes
// out/, which tsc, ESLint and Prettier ignore).
await Promise.all([
  run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], { buffered: true }),
  run('lint', 'npx', ['eslint', '--max-warnings=0', '.'], { buffered: true }),
  run('format', 'npx', ['prettier', '--check', '--log-level=warn', '.'], { buffered: true }),
  run('build renderer', 'npm', ['run', '--silent', 'build'], { buffered: true }),
]);

if (!only || only === 'unit') {
  let files = ['server', 'app', 'renderer', 'bench'].flatMap((d) => findTests(join(root, d))).sort();
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  files = [...LONGEST_FIRST.filter((f) => files.includes(f)), ...files.filter((f) => !LONGEST_FIRST.includes(f))];
  await run(
    'unit + integration',
    'node',
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files],
    // This machine's default data path (inline on 2 cores); the next run covers the other one.
    { parse: parseNode },
  );
  // From 4 cores every disk is served by a worker thread (data-path.ts): what most users run.
  // The real clients' suites again with that data path (data-path.test.ts drives workers too).
  const workerFiles = WORKER_PATH_FILES.filter((f) => files.includes(f));
  if (workerFiles.length)
    await run(
      'integration, worker data path (the default from 4 cores)',
      'node',
      ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...workerFiles],
      { parse: parseNode, env: { BLOCKSCOPE_DATA_PATH: 'worker' } },
    );
}
if (!only || only === 'e2e') {
  await run('e2e (Playwright, Chromium)', 'npx', ['playwright', 'test', '--reporter=list'], { parse: parsePlaywright });
}
if (!only || only === 'bench') {
  await run('benchmark smoke (--quick)', 'node', ['--import', 'tsx', 'bench/run.ts', '--quick']);
}

if (!only || only === 'install') {
  await run('packaging check', 'node', ['.ci/check-packaging.mjs']);
  await run('fresh install', 'node', ['.ci/fresh-install.mjs']);
}

if (failedTests.length)
  console.log(`\nFailed tests (and failed attempts before a retry passed):\n  ${failedTests.join('\n  ')}`);
if (failures.length) console.log(`\nFailed stages: ${failures.join('; ')}`);
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || failures.length > 0 ? 1 : 0);
