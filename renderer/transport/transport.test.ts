import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerPush } from '../../server/shared/types.ts';
import { MISSING_TOKEN, WebSocketTransport, sessionSocketUrl } from './websocket.ts';

test('the WebSocket URL carries the token from the page URL', () => {
  assert.deepEqual(sessionSocketUrl({ protocol: 'http:', host: '127.0.0.1:4000', search: '?token=a-b_c' }), {
    url: 'ws://127.0.0.1:4000/ws?token=a-b_c',
    token: 'a-b_c',
  });
  assert.equal(
    sessionSocketUrl({ protocol: 'https:', host: 'h:1', search: '?x=1&token=t%2B' }).url,
    'wss://h:1/ws?token=t%2B',
  );
  assert.deepEqual(sessionSocketUrl({ protocol: 'http:', host: 'h:1', search: '' }), {
    url: 'ws://h:1/ws',
    token: null,
  });
});

test('a page opened without its token says so instead of retrying a refused socket', () => {
  const t = new WebSocketTransport({ url: 'ws://h:1/ws', token: null });
  const pushes: ServerPush[] = [];
  const statuses: string[] = [];
  t.onPush((m) => pushes.push(m));
  t.onStatus((s) => statuses.push(s));
  assert.deepEqual(pushes, [{ event: 'status', level: 'error', message: MISSING_TOKEN }]);
  assert.deepEqual(statuses, ['closed']);
});
