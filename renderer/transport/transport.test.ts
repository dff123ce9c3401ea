import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from './transport.ts';
import {
  CONNECTION_LOST,
  MISSING_TOKEN,
  NOT_CONNECTED,
  SESSION_ENDED,
  WebSocketTransport,
  sessionSocketUrl,
  type SocketEnv,
} from './websocket.ts';

test('the WebSocket URL carries the token from the page URL', () => {
  assert.deepEqual(sessionSocketUrl({ protocol: 'http:', host: '127.0.0.1:4000', search: '?token=a-b_c' }), {
    url: 'ws://127.0.0.1:4000/ws?token=a-b_c',
    token: 'a-b_c',
    healthUrl: 'http://127.0.0.1:4000/api/health',
  });
  assert.equal(
    sessionSocketUrl({ protocol: 'https:', host: 'h:1', search: '?x=1&token=t%2B' }).url,
    'wss://h:1/ws?token=t%2B',
  );
  assert.deepEqual(sessionSocketUrl({ protocol: 'http:', host: 'h:1', search: '' }), {
    url: 'ws://h:1/ws',
    token: null,
    healthUrl: 'http://h:1/api/health',
  });
});

test('a page opened without its token says so instead of retrying a refused socket', async () => {
  const t = new WebSocketTransport({ url: 'ws://h:1/ws', token: null, healthUrl: 'http://h:1/api/health' });
  const statuses: Connection[] = [];
  t.onStatus((s) => statuses.push(s));
  assert.deepEqual(statuses, [{ status: 'refused', why: MISSING_TOKEN }]);
  await assert.rejects(t.call('listDisks', {}), { message: MISSING_TOKEN });
});

/** A stand-in for the browser's WebSocket: the test opens, answers and closes it. */
class FakeSocket {
  binaryType = '';
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {}
  send(text: string) {
    this.sent.push(text);
  }
}

/** A transport on fake sockets; `health` is what GET /api/health answers (null: nothing listens). */
function fakeTransport(health: () => number | null) {
  const sockets: FakeSocket[] = [];
  const probes: string[] = [];
  const env: SocketEnv = {
    open(url) {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s as unknown as WebSocket;
    },
    async health(url, token) {
      probes.push(`${url} ${token}`);
      return health();
    },
  };
  const t = new WebSocketTransport(
    { url: 'ws://h:1/ws?token=tok', token: 'tok', healthUrl: 'http://h:1/api/health' },
    env,
  );
  const statuses: Connection[] = [];
  t.onStatus((s) => statuses.push(s));
  return { t, sockets, probes, statuses, last: () => sockets[sockets.length - 1] };
}

const waitFor = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('calls made while the page first connects are sent when the socket opens', async () => {
  const f = fakeTransport(() => 200);
  const answer = f.t.call('listDisks', {});
  assert.deepEqual(f.last().sent, []);
  f.last().onopen!();
  assert.equal(f.last().sent.length, 1);
  const { id } = JSON.parse(f.last().sent[0]) as { id: number };
  f.last().onmessage!({ data: JSON.stringify({ id, ok: true, result: [] }) });
  assert.deepEqual(await answer, []);
});

test('a call rejected by a failed connect is never sent by a later one', async () => {
  const f = fakeTransport(() => null);
  const first = f.last();
  const call = f.t.call('setErrors', { disk: 1, on: true });
  first.onclose!();
  await assert.rejects(call, { message: CONNECTION_LOST });
  await waitFor(() => f.sockets.length === 2);
  f.last().onopen!();
  assert.deepEqual(f.last().sent, [], 'the rolled-back call stays unsent');
});

test('after the socket was open, a call while it is down fails at once and is never sent', async () => {
  const f = fakeTransport(() => null);
  f.last().onopen!();
  f.last().onclose!();
  await assert.rejects(f.t.call('setErrors', { disk: 1, on: true }), { message: NOT_CONNECTED });
  await waitFor(() => f.sockets.length === 2);
  await assert.rejects(f.t.call('resetDisk', { disk: 1 }), { message: NOT_CONNECTED }, 'reconnecting, not open yet');
  f.last().onopen!();
  assert.deepEqual(f.last().sent, []);
  assert.equal(f.statuses.at(-1)?.status, 'open');
});

test('a server that refuses the token (restarted: a new token) is said plainly, and not retried', async () => {
  const f = fakeTransport(() => 401);
  f.last().onopen!();
  f.last().onclose!(); // the server went away…
  await waitFor(() => f.sockets.length === 2);
  f.last().onclose!(); // …and the one now listening refuses this page's token
  await waitFor(() => f.statuses.at(-1)?.status === 'refused');
  assert.deepEqual(f.statuses.at(-1), { status: 'refused', why: SESSION_ENDED });
  assert.deepEqual(f.probes, ['http://h:1/api/health tok']);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(f.sockets.length, 2, 'no more attempts');
  await assert.rejects(f.t.call('listDisks', {}), { message: SESSION_ENDED });
});

test('a server that is only down is tried again', async () => {
  const f = fakeTransport(() => null);
  f.last().onclose!();
  await waitFor(() => f.sockets.length === 2);
  assert.equal(f.probes.length, 1);
  assert.equal(f.statuses.at(-1)?.status, 'connecting');
});

test('while the engine is away the status says when the next try starts and which try is under way', async () => {
  const f = fakeTransport(() => null);
  assert.deepEqual(f.statuses, [{ status: 'connecting' }], 'the first try is plain connecting');
  f.last().onopen!();
  f.statuses.length = 0;
  const before = Date.now();
  f.last().onclose!();
  const waiting = f.statuses.at(-1)!;
  assert.equal(waiting.status, 'closed');
  assert.equal(waiting.retryInMs, 250);
  assert.ok(waiting.retryAt! >= before + 250 && waiting.retryAt! <= Date.now() + 250);
  await waitFor(() => f.sockets.length === 2);
  assert.deepEqual(f.statuses.at(-1), { status: 'connecting', attempt: 1 });
  f.last().onclose!();
  await waitFor(() => f.sockets.length === 3);
  assert.deepEqual(f.statuses.at(-1), { status: 'connecting', attempt: 2 });
  assert.equal(f.statuses.find((s) => s.retryInMs === 500)?.status, 'closed', 'the wait doubles');
  f.last().onopen!();
  f.last().onclose!();
  await waitFor(() => f.sockets.length === 4);
  assert.deepEqual(f.statuses.at(-1), { status: 'connecting', attempt: 1 }, 'counted again from a reconnect');
});
