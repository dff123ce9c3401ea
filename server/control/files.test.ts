// The control API cannot make Blockscope touch a file it was not given at start: error-file
// paths are fixed on the command line, and the Error toggle only creates and removes empty flag
// files — never truncates, deletes or follows a link to someone's data. Driven as a local user
// with the token would: `blockscope serve`/`attach` as processes, curl, qemu-io.

import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requireBinary, run, spawnCli, type CliProcess } from '../test/harness.ts';

let dir: string;
const procs: CliProcess[] = [];

before(() => {
  requireBinary('curl', 'curl');
  requireBinary('qemu-io', 'qemu-utils');
  dir = mkdtempSync(join(tmpdir(), 'blockscope-files-'));
});
after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(
  args: string[],
): Promise<{ api: (method: string, path: string, body?: unknown) => Promise<any>; uris: string[] }> {
  const cli = spawnCli(args);
  procs.push(cli);
  const m = await cli.waitFor(/^api (http:\/\/127\.0\.0\.1:\d+)\/api\/disks\?token=(\S+)$/m);
  const [origin, token] = [m[1], m[2]];
  const uris = [...cli.stdout().matchAll(/^disk\d+ (nbd:\S+)/gm)].map((x) => x[1]);
  return {
    uris,
    async api(method, path, body) {
      const args = ['-sS', '-o', '-', '-w', '\n%{http_code}', '-X', method, '-H', `Authorization: Bearer ${token}`];
      if (body !== undefined) args.push('-d', JSON.stringify(body));
      const r = await run('curl', [...args, `${origin}${path}`]);
      const lines = r.stdout.split('\n');
      const status = Number(lines.pop());
      return { status, body: JSON.parse(lines.join('\n') || 'null') };
    },
  };
}

const victim = () => join(dir, 'victim.txt');
const intact = () => existsSync(victim()) && readFileSync(victim(), 'utf8') === 'precious';

test('serve: the API cannot point the error filter at a file, and the toggle leaves non-flag files alone', async () => {
  writeFileSync(victim(), 'precious');
  const s = await start([
    'serve',
    '--port',
    '0',
    '--disks',
    '3',
    '--size',
    '16M',
    '--filter=error',
    'error-rate=100%',
    `error-file=${join(dir, 'error%d')}`,
    '--api',
    '0',
  ]);
  for (const body of [{ 'error-file': victim() }, { 'error-pread-file': victim() }, { 'error-file': 'victim.txt' }]) {
    const r = await s.api('POST', '/api/disks/1/filters/error', body);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(r.body.error, /set when the disk starts, not live/);
  }
  for (const on of [true, false, true, false]) await s.api('POST', '/api/disks/1/errors', { on });
  assert.ok(intact(), 'the victim file was touched');

  // The normal case: the toggle creates and removes the (empty) flag file; qemu-io sees the errors.
  const flag = join(dir, 'error1');
  assert.equal((await s.api('POST', '/api/disks/1/errors', { on: true })).body.errorsOn, true);
  assert.equal(lstatSync(flag).size, 0);
  assert.match((await run('qemu-io', ['-f', 'raw', s.uris[0], '-c', 'read 0 4k'])).stdout, /Input\/output error/);
  assert.equal((await s.api('POST', '/api/disks/1/errors', { on: false })).body.errorsOn, false);
  assert.equal(existsSync(flag), false);

  // Someone's data at the flag path: switched on, never truncated; switched off, refused and kept.
  const data = join(dir, 'error2');
  writeFileSync(data, 'user data');
  assert.equal((await s.api('POST', '/api/disks/2/errors', { on: true })).status, 200);
  const off = await s.api('POST', '/api/disks/2/errors', { on: false });
  assert.equal(off.status, 409);
  assert.match(off.body.error, /not empty/);
  assert.equal(readFileSync(data, 'utf8'), 'user data');

  // A symbolic link at the flag path: the toggle neither writes through it nor removes it.
  symlinkSync(victim(), join(dir, 'error3'));
  assert.equal((await s.api('POST', '/api/disks/3/errors', { on: true })).status, 200);
  const offLink = await s.api('POST', '/api/disks/3/errors', { on: false });
  assert.equal(offLink.status, 409);
  assert.match(offLink.body.error, /symbolic link/);
  assert.ok(lstatSync(join(dir, 'error3')).isSymbolicLink());
  assert.ok(intact(), 'the victim file was touched through the link');
});

test('attach: the Error toggle of an external nbdkit only creates and removes its empty flag file', async () => {
  writeFileSync(victim(), 'precious');
  const link = join(dir, 'attach-link');
  symlinkSync(victim(), link);
  const flag = join(dir, 'attach-flag');
  const a = await start(['attach', '--size', '16M', join(dir, 'nolog'), '--error-file', link, '--api', '0']);
  assert.equal((await a.api('POST', '/api/disks/1/errors', { on: true })).status, 200);
  assert.equal((await a.api('POST', '/api/disks/1/errors', { on: false })).status, 409);
  assert.ok(intact(), 'the victim file was touched through the link');

  const b = await start(['attach', '--size', '16M', join(dir, 'nolog2'), '--error-file', flag, '--api', '0']);
  assert.equal((await b.api('POST', '/api/disks/1/errors', { on: true })).body.errorsOn, true);
  assert.equal(lstatSync(flag).size, 0);
  assert.equal((await b.api('POST', '/api/disks/1/errors', { on: false })).body.errorsOn, false);
  assert.equal(existsSync(flag), false);
});
