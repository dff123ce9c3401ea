// send-buffer.ts: an accepted Unix socket's send buffer is raised, so that the kernel takes more
// than one 256 KiB read reply at once. Checked by what the kernel accepts from a server whose
// client reads nothing, not only by what the option reads back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { raiseSendBuffer } from './send-buffer.ts';

const MiB = 1024 * 1024;
/** Linux's default net.core.wmem_default (and wmem_max): what a socket gets when nobody asks. */
const KERNEL_DEFAULT = 212992;

interface Accepted {
  socket: Socket;
  raisedTo: number | null;
}

/** A Unix server whose accepted sockets are paused (as the NBD listener's are) and maybe raised. */
async function unixServer(
  raise: boolean,
): Promise<{ server: Server; path: string; dir: string; accepted: Accepted[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'send-buffer-'));
  const path = join(dir, 's');
  const accepted: Accepted[] = [];
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    accepted.push({ socket, raisedTo: raise ? raiseSendBuffer(socket) : null });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, path, dir, accepted };
}

async function connectAndWait(path: string, accepted: Accepted[]): Promise<{ client: Socket; server: Accepted }> {
  const before = accepted.length;
  const client = connect(path);
  client.pause(); // reads nothing: what the server writes stays in the kernel or in its queue
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  while (accepted.length === before) await new Promise((r) => setTimeout(r, 5));
  return { client, server: accepted[accepted.length - 1] };
}

/**
 * Bytes the kernel took from the server while the client read nothing: 16 KiB writes, counted
 * when their callback says they left (a write the kernel takes only part of stays pending, and
 * the ones after it wait in Node).
 */
async function bytesTakenByKernel(socket: Socket): Promise<number> {
  const chunk = 16 * 1024;
  let done = 0;
  for (let i = 0; i < (4 * MiB) / chunk; i++) socket.write(Buffer.alloc(chunk), () => done++);
  await new Promise((r) => setTimeout(r, 100));
  return done * chunk;
}

test('a raised Unix socket takes a 256 KiB reply at once; a default one does not', async () => {
  for (const raise of [false, true]) {
    const { server, path, dir, accepted } = await unixServer(raise);
    const { client, server: conn } = await connectAndWait(path, accepted);
    try {
      const taken = await bytesTakenByKernel(conn.socket);
      if (raise) {
        assert.ok(conn.raisedTo !== null, 'raiseSendBuffer could not set SO_SNDBUF');
        // Twice the request, capped at twice net.core.wmem_max (416 KiB on a default system).
        assert.ok(conn.raisedTo >= 2 * KERNEL_DEFAULT, `send buffer ${conn.raisedTo} bytes`);
        assert.ok(taken >= 2 * KERNEL_DEFAULT - 64 * 1024, `the kernel took ${taken} bytes with the buffer raised`);
      } else {
        assert.ok(taken < 256 * 1024, `the kernel took ${taken} bytes with the default buffer`);
      }
    } finally {
      client.destroy();
      conn.socket.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('descriptor numbers used again by later connections are raised too', async () => {
  const { server, path, dir, accepted } = await unixServer(true);
  try {
    for (let i = 0; i < 5; i++) {
      const { client, server: conn } = await connectAndWait(path, accepted);
      assert.ok(conn.raisedTo !== null && conn.raisedTo >= 2 * KERNEL_DEFAULT, `connection ${i}: ${conn.raisedTo}`);
      client.destroy();
      conn.socket.destroy();
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a socket already reading is refused, and keeps working', async () => {
  const raised = await unixServer(true);
  const plain = await unixServer(false);
  const open: Socket[] = [];
  try {
    // Connections kept open hold every descriptor number a setter was kept for, so the next
    // socket gets a number with none.
    for (let i = 0; i < 5; i++) {
      const { client, server: conn } = await connectAndWait(raised.path, raised.accepted);
      open.push(client, conn.socket);
    }
    const { client, server: conn } = await connectAndWait(plain.path, plain.accepted);
    open.push(client, conn.socket);
    conn.socket.resume(); // now watched by the event loop: libuv refuses a second handle on it
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(raiseSendBuffer(conn.socket), null);
    const echoed = new Promise<string>((resolve) => client.once('data', (d) => resolve(String(d))));
    client.resume();
    conn.socket.write('still here');
    assert.equal(await echoed, 'still here');
  } finally {
    for (const s of open) s.destroy();
    for (const { server, dir } of [raised, plain]) {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
