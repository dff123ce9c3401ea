// listenPrivately: a Unix socket is bound inside a private directory beside it, then renamed into
// place. The directory must be made inside the socket's own directory: `join(dir, '.')` is `dir`
// itself, so mkdtemp made `dirXXXXXX` in the parent instead, which a user may not be allowed to
// write (and Node warned "mkdtemp() templates ending with X are not portable" whenever the random
// suffix of the socket directory ended with an X).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

// The kernel binds at most 107 bytes of a socket path (sun_path, 108 with its NUL), and Node
// handed it longer ones cut short: the bind landed on another path, mode 0755, even outside the
// directory. The temporary name was also 4 bytes longer than the final one, so a 104- to 107-byte
// path that nbdkit binds failed here.
test('a Unix socket path of 107 bytes is bound (0600); 108 is refused and nothing is created', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'listen-long-'));
  const dirOf = (bytes: number) => join(parent, 'd'.repeat(bytes - parent.length - '//disk1.sock'.length));
  const servers: Server[] = [];
  try {
    const fits = join(dirOf(107), 'disk1.sock');
    assert.equal(Buffer.byteLength(fits), 107);
    mkdirSync(dirname(fits));
    servers.push(createServer());
    await listenPrivately(servers[0], fits);
    assert.equal(statSync(fits).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dirname(fits)), ['disk1.sock']);

    const tooLong = join(dirOf(108), 'disk1.sock');
    mkdirSync(dirname(tooLong));
    servers.push(createServer());
    await assert.rejects(
      listenPrivately(servers[1], tooLong),
      new Error(`socket path ${tooLong} is 108 bytes, longer than 107`),
    );
    assert.deepEqual(readdirSync(dirname(tooLong)), []);
    assert.deepEqual(readdirSync(parent).sort(), [basename(dirname(fits)), basename(dirname(tooLong))].sort());
  } finally {
    for (const s of servers) s.close();
    rmSync(parent, { recursive: true, force: true });
  }
});
