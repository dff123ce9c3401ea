import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type NbdError } from '../backends/backend.ts';
import {
  encodeMetaContextRequestData,
  encodeInfoRequestData,
  errnoFromWire,
  parseBlockStatusPayload,
} from '../protocol/client.ts';
import { parseInfoRequest, parseMetaContextRequest } from '../protocol/handshake.ts';
import { encodeBlockStatus } from '../protocol/transmission.ts';
import { NbdClient } from './client.ts';
import { negotiate } from './handshake.ts';
import { TargetError, describeTarget, parseNbdUri, targetFromParams } from './target.ts';
import { readPskFile } from './tls.ts';
import { startDisks } from '../test/harness.ts';
import { startNbdkit } from '../test/upstreams.ts';

test('NBD URIs: TCP, Unix, TLS schemes, export names, query keys', () => {
  const a = parseNbdUri('nbd://example.org:10900/my%20disk');
  assert.deepEqual([a.transport, a.host, a.port, a.exportName, a.tls], ['tcp', 'example.org', 10900, 'my disk', 'off']);
  const b = parseNbdUri('nbd+unix:///exp?socket=/run/x.sock');
  assert.deepEqual([b.transport, b.socketPath, b.exportName], ['unix', '/run/x.sock', 'exp']);
  const c = parseNbdUri('nbds://[::1]');
  assert.deepEqual([c.host, c.port, c.tls], ['::1', 10809, 'require']);
  assert.equal(describeTarget(b), 'nbd+unix:///exp?socket=/run/x.sock');
  for (const bad of ['http://x', 'nbd+unix:///x', 'nbd+unix://host/x?socket=/s', 'nbd://h:99999', 'nbd://h?what=1'])
    assert.throws(() => parseNbdUri(bad), TargetError, bad);
});

test('nbd backend parameters: one location, TLS needs credentials, credentials imply TLS', () => {
  assert.equal(targetFromParams({ socket: '/s', export: 'e' }).exportName, 'e');
  assert.equal(targetFromParams({ hostname: '127.0.0.1', port: '10900' }).port, 10900);
  assert.equal(targetFromParams({ socket: '/s', 'tls-psk': '/k' }).tls, 'require');
  assert.equal(targetFromParams({ socket: '/s', 'tls-psk': '/k', tls: 'on' }).tls, 'on');
  assert.throws(() => targetFromParams({}), /exactly one of/);
  assert.throws(() => targetFromParams({ socket: '/s', uri: 'nbd://h' }), /exactly one of/);
  assert.throws(() => targetFromParams({ uri: 'nbds://h' }), /TLS needs/);
  assert.throws(() => targetFromParams({ socket: '/s', port: '1' }), /port= goes with hostname=/);
  assert.throws(() => targetFromParams({ socket: '/s', tls: 'maybe' }), /tls:/);
});

test('psktool key files: pick the user or the first line; clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-psk-'));
  try {
    const f = join(dir, 'keys.psk');
    writeFileSync(f, 'alice:00ff\nbob:abcd\n');
    assert.deepEqual(readPskFile(f, null), { identity: 'alice', key: Buffer.from([0, 255]) });
    assert.equal(readPskFile(f, 'bob').identity, 'bob');
    assert.throws(() => readPskFile(f, 'carol'), /no key for 'carol'/);
    assert.throws(() => readPskFile(join(dir, 'nope'), null), /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('client codec round-trips through the server codec', () => {
  assert.deepEqual(parseInfoRequest(encodeInfoRequestData('disk', [3, 1])), { name: 'disk', requests: [3, 1] });
  assert.deepEqual(parseMetaContextRequest(encodeMetaContextRequestData('', ['base:allocation'])), {
    name: '',
    queries: ['base:allocation'],
  });
  const h = { flags: 0, type: 7, cookieHi: 0, cookieLo: 9, offset: 0n, length: 8192 };
  const chunk = encodeBlockStatus(
    h,
    4,
    [
      { length: 4096n, type: 3 },
      { length: 4096n, type: 0 },
    ],
    false,
  );
  assert.deepEqual(parseBlockStatusPayload(chunk.subarray(20)), {
    contextId: 4,
    extents: [
      { length: 4096n, type: 3 },
      { length: 4096n, type: 0 },
    ],
  });
  assert.equal(errnoFromWire(28), 'ENOSPC');
  assert.equal(errnoFromWire(1234), 'EINVAL');
});

test('against our own server: pipelined requests complete; a misbehaving server fails requests with EIO, no crash', async () => {
  const t = await startDisks({ unix: true, size: 1n << 20n });
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-client-'));
  try {
    const n = await negotiate(targetFromParams({ socket: t.unixSockets[0] }));
    assert.equal(n.size, 1n << 20n);
    assert.ok(n.structured && n.allocationContext !== null);
    const c = new NbdClient(n);
    const writes = Array.from({ length: 32 }, (_, i) => c.pwrite(Buffer.alloc(4096, i), BigInt(i * 4096), 0));
    await Promise.all(writes);
    const bufs = Array.from({ length: 32 }, () => Buffer.alloc(4096));
    await Promise.all(bufs.map((b, i) => c.pread(b, BigInt(i * 4096), 0)));
    bufs.forEach((b, i) => assert.ok(b.equals(Buffer.alloc(4096, i))));
    await assert.rejects(c.pread(Buffer.alloc(4096), 1n << 20n, 0), (e: NbdError) => e.errno === 'EINVAL');
    const ext = await c.blockStatus(1 << 20, 0n, 0);
    assert.equal(ext[0].type, 0);
    await c.close();

    // A server that completes the handshake through our codec, then answers with garbage.
    const sock = join(dir, 'evil.sock');
    const evil = createServer((s: Socket) => {
      const real = connect(t.unixSockets[0]);
      s.pipe(real);
      let handshakeDone = false;
      real.on('data', (d: Buffer) => {
        if (!handshakeDone) s.write(d);
      });
      setTimeout(() => (handshakeDone = true), 300);
      s.on('data', () => {
        if (handshakeDone) s.write(Buffer.alloc(20, 0x42));
      });
      s.on('error', () => real.destroy());
    });
    await new Promise<void>((r) => evil.listen(sock, r));
    const bad = new NbdClient(await negotiate(targetFromParams({ socket: sock })));
    await new Promise((r) => setTimeout(r, 400));
    const closed = new Promise<Error | null>((r) => bad.onClose(r));
    await assert.rejects(bad.pread(Buffer.alloc(512), 0n, 0), (e: NbdError) => e.errno === 'EIO');
    assert.match((await closed)!.message, /bad reply magic/);
    evil.close();
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('requests of one tick leave in one socket write; write payloads follow their own header', async () => {
  const t = await startDisks({ unix: true, size: 1n << 20n });
  try {
    const n = await negotiate(targetFromParams({ socket: t.unixSockets[0] }));
    const writes: number[] = [];
    const write = n.socket.write.bind(n.socket) as (b: Buffer) => boolean;
    n.socket.write = ((b: Buffer) => (writes.push(b.length), write(b))) as typeof n.socket.write;
    const c = new NbdClient(n);
    const bufs = Array.from({ length: 16 }, () => Buffer.alloc(4096));
    await Promise.all(bufs.map((b, i) => c.pread(b, BigInt(i * 4096), 0)));
    assert.deepEqual(writes, [16 * 28], 'sixteen headers, one write');

    // Reads and writes mixed in one tick: header runs cut where a payload goes, order kept.
    writes.length = 0;
    const pattern = (i: number) => Buffer.alloc(4096, 0x40 + i);
    await Promise.all([
      c.pread(Buffer.alloc(4096), 0n, 0),
      c.pwrite(pattern(1), 4096n, 0),
      c.pwrite(pattern(2), 8192n, 0),
      c.pread(Buffer.alloc(4096), 0n, 0),
    ]);
    assert.deepEqual(writes, [2 * 28, 4096, 28, 4096, 28]);
    const back = Buffer.alloc(8192);
    await c.pread(back, 4096n, 0);
    assert.ok(back.equals(Buffer.concat([pattern(1), pattern(2)])));
    await c.close();
  } finally {
    await t.close();
  }
});

test('large pipelined reads split across socket reads, with simple and structured replies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-client-'));
  // nbdkit --no-sr answers reads with simple replies; our own server with OFFSET_DATA chunks.
  const simple = await startNbdkit(dir, 'no-sr', ['--no-sr', 'memory', 'size=16M']);
  const t = await startDisks({ unix: true, size: 16n << 20n });
  try {
    for (const socket of [simple.socket, t.unixSockets[0]]) {
      const c = new NbdClient(await negotiate(targetFromParams({ socket })));
      assert.equal(c.structured, socket !== simple.socket);
      const size = 4 * 1024 * 1024 + 4096;
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) data.writeUInt32BE(i, i);
      await c.pwrite(data, 4096n, 0);
      // Pipelined: several large replies back to back, split across reads at arbitrary points.
      const bufs = [size, 1 << 20, 300 * 1024].map((n) => Buffer.alloc(n));
      await Promise.all(bufs.map((b) => c.pread(b, 4096n, 0)));
      for (const b of bufs) assert.ok(b.equals(data.subarray(0, b.length)));
      await c.close();
    }
  } finally {
    await t.close();
    await simple.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close() gives up on requests an upstream never answers, after its bound, failing them with EIO', async () => {
  const t = await startDisks({ unix: true, size: 1n << 20n });
  try {
    const c = new NbdClient(await negotiate(targetFromParams({ socket: t.unixSockets[0] })));
    await t.engine.disk(1).setHold(true);
    const read = c.pread(Buffer.alloc(4096), 0n, 0);
    const failed = assert.rejects(
      read,
      (e: NbdError) => e.errno === 'EIO' && /unanswered after 300 ms/.test(e.message),
    );
    const started = performance.now();
    await c.close(300);
    const took = performance.now() - started;
    assert.ok(took >= 290 && took < 5000, `close took ${took} ms`);
    await failed;
    assert.equal(c.isOpen, false);
  } finally {
    await t.engine.disk(1).setHold(false);
    await t.close();
  }
});
