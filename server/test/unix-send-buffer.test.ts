// A client of a disk's Unix socket gets a connection whose send buffer holds more than one 256 KiB
// read reply (connection/send-buffer.ts), as the kernel itself reports it (`ss`, iproute2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireBinary, run, startDisks } from './harness.ts';
import { RawClient } from './raw-client.ts';

/** Linux's default send buffer of a Unix socket (net.core.wmem_default). */
const KERNEL_DEFAULT = 212992;

for (const thread of ['inline', 'worker'] as const)
  test(`${thread} data path: a Unix client's connection gets a send buffer larger than one read reply`, async () => {
    requireBinary('ss', 'iproute2');
    const t = await startDisks({ unix: true, thread });
    const c = await RawClient.open(t.unixSockets[0]);
    try {
      await c.hello();
      await c.go();
      // A worker sends the descriptor to the main thread, which raises it a moment later.
      await new Promise((r) => setTimeout(r, 100));
      // Our own process's established Unix sockets; the server's side of a connection has the
      // listener's address, which is inside the test's directory.
      const ss = await run('ss', ['-x', '-m', '-p', '-H', 'state', 'established']);
      assert.equal(ss.code, 0, ss.stderr);
      const lines = ss.stdout.split('\n').filter((l) => l.includes(`pid=${process.pid},`) && l.includes(t.dir));
      assert.equal(lines.length, 1, `expected the one server-side connection in:\n${ss.stdout}`);
      const sendBuffer = Number(/\btb(\d+)/.exec(lines[0])?.[1]);
      assert.ok(sendBuffer >= 2 * KERNEL_DEFAULT, `send buffer ${sendBuffer} bytes: ${lines[0]}`);
    } finally {
      c.close();
      await t.close();
    }
  });
