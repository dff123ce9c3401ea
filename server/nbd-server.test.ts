// listenPrivately: a Unix socket is bound inside a private directory beside it, then renamed into
// place. The directory must be made inside the socket's own directory: `join(dir, '.')` is `dir`
// itself, so mkdtemp made `dirXXXXXX` in the parent instead, which a user may not be allowed to
// write (and Node warned "mkdtemp() templates ending with X are not portable" whenever the random
// suffix of the socket directory ended with an X).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, watch } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { listenPrivately } from './nbd-server.ts';

test('a private Unix socket is set up inside its own directory, never beside it', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'listen-private-'));
  const dir = join(parent, 'sockets');
  mkdirSync(dir);
  const created: string[] = [];
  const watcher = watch(parent, (_event, name) => {
    if (name && name !== 'sockets') created.push(name);
  });
  const server = createServer();
  try {
    await listenPrivately(server, join(dir, 'disk1.sock'));
    await new Promise((r) => setTimeout(r, 200)); // inotify events arrive asynchronously
    assert.deepEqual(created, [], 'something was created in the parent of the socket directory');
    assert.equal(statSync(join(dir, 'disk1.sock')).mode & 0o777, 0o600);
  } finally {
    watcher.close();
    server.close();
    rmSync(parent, { recursive: true, force: true });
  }
});
