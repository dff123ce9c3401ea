import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { adoptWithReadBuffer } from './socket-reader.ts';

test('an adopted socket reads into one reused buffer, writes, and closes with the server', async () => {
  const chunks: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let adopted: Socket | null = null;
  const server = createServer({ pauseOnConnect: true }, (s) => {
    adopted = adoptWithReadBuffer(s, (chunk) => {
      buffers.add(chunk.buffer);
      chunks.push(Buffer.from(chunk)); // the view is only valid during the call
      if (Buffer.concat(chunks).length === 3 * 65536) adopted!.write('done');
    });
    assert.ok(adopted, 'the accepted socket was adopted');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  for (let i = 0; i < 3; i++) client.write(Buffer.alloc(65536, i + 1));
  const [reply] = (await once(client, 'data')) as [Buffer];
  assert.equal(reply.toString(), 'done');
  const all = Buffer.concat(chunks);
  for (let i = 0; i < 3; i++) assert.ok(all.subarray(i * 65536, (i + 1) * 65536).every((b) => b === i + 1));
  assert.equal(buffers.size, 1, 'every read landed in the same buffer');
  client.end();
  await once(adopted!, 'close');
  // net.Server's connection count moved to the adopted socket: close() completes.
  await new Promise<void>((r) => server.close(() => r()));
});

test('a socket that is already reading is not adopted (read the ordinary way)', async () => {
  let result: Socket | null | undefined;
  const server = createServer((s) => {
    result = adoptWithReadBuffer(s, () => {});
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'close');
  assert.equal(result, null);
  await new Promise<void>((r) => server.close(() => r()));
});
