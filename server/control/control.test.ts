import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { toggle } from '../demos/demos.ts';
import { decodeBatch } from '../shared/batch.ts';
import type { DiskInfo } from '../shared/types.ts';
import { run, startDisks, type TestDisks } from '../test/harness.ts';
import { startControlServer, type ControlServer } from './http.ts';
import { loopDelayMs } from './api.ts';

let t: TestDisks;
let server: ControlServer;
before(async () => {
  t = await startDisks({ disks: 2, filters: [{ name: 'delay', params: { rdelay: '0', wdelay: '0' } }] });
  server = await startControlServer(t.engine, { port: 0 });
});
after(async () => {
  await server?.close();
  await t?.close();
});

const api = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(new URL(path, server.origin), {
    method,
    headers: server.headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as any };
};

test('GET /api/health: the event-loop delay of the thread since the previous call', async () => {
  await api('GET', '/api/health'); // starts the figures over
  await new Promise((r) => setTimeout(r, 100));
  const quiet = (await api('GET', '/api/health')).json;
  assert.ok(quiet.sinceMs >= 90 && quiet.sinceMs < 5000, `sinceMs ${quiet.sinceMs}`);
  // The delay is how late the sampling timer ran, not the interval between its runs (10 ms): a
  // timer on time reads 0. (Checked on the conversion itself: a live quiet loop's p50 depends on
  // the machine's load.)
  assert.deepEqual([loopDelayMs(10e6), loopDelayMs(9.9e6), loopDelayMs(12.345e6)], [0, 0, 2.35]);
  assert.ok(quiet.eventLoopDelayMs.p50 <= quiet.eventLoopDelayMs.max);
  // The thread is blocked for 150 ms: the loop runs that late once.
  await new Promise((r) => setTimeout(r, 30));
  const until = performance.now() + 150;
  while (performance.now() < until);
  await new Promise((r) => setTimeout(r, 30));
  const { status, json } = await api('GET', '/api/health');
  assert.equal(status, 200);
  assert.ok(json.eventLoopDelayMs.max >= 100, `max ${json.eventLoopDelayMs.max} ms after a 150 ms block`);
  assert.ok(
    json.eventLoopDelayMs.max >= json.eventLoopDelayMs.p99 && json.eventLoopDelayMs.p99 >= json.eventLoopDelayMs.p50,
  );
  const after = (await api('GET', '/api/health')).json;
  assert.ok(after.eventLoopDelayMs.max < 100, 'each call starts over');
});

test('GET /api/disks reports what the disks saw (real qemu-io traffic)', async () => {
  const w = await run('qemu-io', [
    '-f',
    'raw',
    t.uris[0],
    '-c',
    'write 0 1M',
    '-c',
    'discard 0 64k',
    '-c',
    'write -z 1M 4k',
    '-c',
    'read 0 8k',
  ]);
  assert.equal(w.code, 0, w.stderr);
  const { status, json } = await api('GET', '/api/disks');
  assert.equal(status, 200);
  const d = (json as DiskInfo[])[0];
  assert.equal(d.uris[0], t.uris[0]);
  assert.equal(d.size, String(64 << 20));
  assert.deepEqual(d.blocks, { untouched: 16384 - 257, trimmed: 16, zeroed: 1, written: 240 });
  assert.equal(d.counters.write.count, 1);
  assert.equal(d.counters.read.count, 1);
  assert.deepEqual(
    d.filters.map((f) => f.name),
    ['hold', 'delay', 'error'],
    'the Hold and Error toggles are always there (outermost and innermost)',
  );
});

test('POST routes toggle errors and set delays; bad input gets 400/404 with a message', async () => {
  let r = await api('POST', '/api/disks/2/errors', { on: true });
  assert.equal(r.status, 200);
  assert.equal(r.json.errorsOn, true);
  const read = await run('qemu-io', ['-f', 'raw', t.uris[1], '-c', 'read 0 4k']);
  assert.match(read.stdout, /Input\/output error/);
  await api('POST', '/api/disks/2/errors', { on: false });
  r = await api('POST', '/api/disks/1/filters/delay', { rdelay: '25ms' });
  assert.equal(r.json.filters.find((f: { name: string }) => f.name === 'delay').settings.rdelay, '25ms');
  const held = await api('POST', '/api/hold', { on: true });
  assert.ok(held.json.every((d: { held: boolean }) => d.held));
  await api('POST', '/api/hold', { on: false });
  assert.equal((await api('POST', '/api/hold', { on: 'maybe' })).status, 400);
  assert.equal((await api('POST', '/api/disks/1/filters/delay', { rdelay: 'soon' })).status, 400);
  const tooLong = await api('POST', '/api/disks/1/filters/delay', { rdelay: '4294968' });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.json.error, /rdelay: delay '4294968' is too long/);
  assert.equal((await api('POST', '/api/disks/1/errors', { on: 'yes' })).status, 400);
  assert.equal((await api('GET', '/api/disks/9')).status, 404);
  assert.equal((await api('POST', '/api/disks/1/filters/log', {})).status, 409);
  assert.equal((await api('GET', '/api/nothing')).status, 404);
  const cell = await api('GET', '/api/disks/1/cells/20'); // written, not trimmed
  assert.equal(cell.json.state, 'written');
  const merged = await api('GET', '/api/disks/1/cells/16?count=8'); // one texel of a merged display
  assert.equal(merged.json.blockCount, 8);
  assert.equal(merged.json.state, 'written');
  assert.equal((await api('GET', '/api/disks/1/cells/16?count=0')).status, 400);
});

test('WebSocket: disks push, full first frame, then deltas; bad messages get errors', async () => {
  const ws = new WebSocket(server.urlFor('/ws').replace('http', 'ws'));
  const texts: any[] = [];
  const bins: ArrayBuffer[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      const b = data as Buffer;
      bins.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    } else texts.push(JSON.parse(String(data)));
  });
  await new Promise((r) => ws.once('open', r));
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cond());
  };
  await until(() => bins.length > 0 && texts.some((m) => m.event === 'disks'));
  assert.ok(decodeBatch(bins[0]).disks.every((d) => d.full !== null));
  const w = await run('qemu-io', ['-f', 'raw', t.uris[1], '-c', 'write 4M 4k']);
  assert.equal(w.code, 0);
  await until(() =>
    bins.slice(1).some((b) => decodeBatch(b).disks.some((d) => d.disk === 2 && d.cellIdx.includes(1024))),
  );
  ws.send(JSON.stringify({ id: 7, method: 'listDisks', params: {} }));
  ws.send(JSON.stringify({ id: 8, method: 'rmRf', params: {} }));
  ws.send('not json');
  await until(() => texts.some((m) => m.id === 7) && texts.some((m) => m.id === 8) && texts.some((m) => m.id === 0));
  assert.equal(texts.find((m) => m.id === 7).ok, true);
  assert.match(texts.find((m) => m.id === 8).error, /unknown method 'rmRf'/);
  ws.close();
});

test('WebSocket from a foreign origin is refused', async () => {
  const ws = new WebSocket(server.urlFor('/ws').replace('http', 'ws'), { headers: { origin: 'http://evil.example' } });
  const err = await new Promise<Error>((r) => ws.once('error', r));
  assert.match(err.message, /403/);
});

test('cross-site POSTs and rebound Host names are refused (403)', async () => {
  const r = await fetch(server.urlFor('/api/disks/1/reset'), {
    method: 'POST',
    headers: { origin: 'http://evil.example' },
  });
  assert.equal(r.status, 403);
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve) => {
    const req = request(server.urlFor('/api/disks'), { headers: { host: 'rebound.example:80' } }, (res) =>
      resolve(res.statusCode ?? 0),
    );
    req.end();
  });
  assert.equal(status, 403);
  assert.equal((await api('GET', '/api/disks')).status, 200);
});

test("the demos' Error toggle (curl with the token from a header file) flips the disk; without the file it fails", async () => {
  const header = join(t.dir, 'auth.header');
  writeFileSync(header, `Authorization: Bearer ${server.token}\n`, { mode: 0o600 });
  const ctx = { servers: [], api: `${server.origin}/api`, apiAuthHeader: header, tarball: '', tarDir: '' };
  const sh = (line: string) => run('sh', ['-c', line.replace(/^! /, '')]);
  assert.equal((await sh(toggle(ctx, 2, true))).code, 0);
  assert.equal(t.engine.disk(2).errorsOn(), true);
  assert.equal((await sh(toggle(ctx, 2, false))).code, 0);
  assert.equal(t.engine.disk(2).errorsOn(), false);
  writeFileSync(header, 'Authorization: Bearer wrong\n');
  const refused = await sh(toggle(ctx, 2, true));
  assert.notEqual(refused.code, 0, 'a refused toggle must fail the demo, not pass silently');
  assert.equal(t.engine.disk(2).errorsOn(), false);
});
