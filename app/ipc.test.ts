import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNELS, CHANNEL_LIST } from './channels.ts';
import { registerIpc, type IpcMainLike } from './ipc.ts';

type Handler = Parameters<IpcMainLike['handle']>[1];

function setup(win: unknown = { id: 'window' }) {
  const handlers = new Map<string, Handler>();
  const calls: unknown[] = [];
  const ours = { webContents: { id: 'wc' } };
  let current: typeof ours | null = win === null ? null : ours;
  registerIpc({ handle: (ch, fn) => void handlers.set(ch, fn) }, () => current?.webContents, {
    call: async (m, p) => (calls.push([m, p]), 'ok'),
  });
  return { handlers, calls, sender: ours.webContents, closeWindow: () => (current = null) };
}

test('registerIpc: handlers only on allowed channels (just control)', () => {
  const { handlers } = setup();
  assert.deepEqual([...handlers.keys()], [CHANNELS.control]);
  for (const ch of handlers.keys()) assert.ok((CHANNEL_LIST as readonly string[]).includes(ch));
});

test('registerIpc: a valid call from our window reaches the API', async () => {
  const { handlers, calls, sender } = setup();
  const h = handlers.get(CHANNELS.control)!;
  assert.equal(await h({ sender }, { method: 'setErrors', params: { disk: 1, on: true } }), 'ok');
  assert.deepEqual(calls, [['setErrors', { disk: 1, on: true }]]);
});

test('registerIpc: foreign senders refused, also when the window is gone', async () => {
  const { handlers, calls, closeWindow } = setup();
  const h = handlers.get(CHANNELS.control)!;
  await assert.rejects(async () => h({ sender: { id: 'other' } }, { method: 'listDisks' }), /unknown sender/);
  closeWindow();
  await assert.rejects(async () => h({ sender: undefined }, { method: 'listDisks' }), /unknown sender/);
  assert.equal(calls.length, 0);
});

test('registerIpc: invalid payloads never reach the API', async () => {
  const { handlers, calls, sender } = setup();
  const h = handlers.get(CHANNELS.control)!;
  await assert.rejects(async () => h({ sender }, { method: 'nope' }), /unknown control method/);
  await assert.rejects(async () => h({ sender }, { method: 'listDisks', params: [1] }), /params must be an object/);
  await assert.rejects(async () => h({ sender }, undefined), /must be an object/);
  assert.equal(calls.length, 0);
});

test('registerIpc: a failing or misbehaving API, or a missing event, gives a plain Error, never a throw', async () => {
  const handlers = new Map<string, Handler>();
  const sender = { id: 'wc' };
  registerIpc({ handle: (ch, fn) => void handlers.set(ch, fn) }, () => sender, {
    call: async (m) => {
      if (m === 'listDisks') throw 'a string, not an Error';
      throw new TypeError('internal detail');
    },
  });
  const h = handlers.get(CHANNELS.control)!;
  const p1 = h({ sender }, { method: 'listDisks' }) as Promise<unknown>;
  await assert.rejects(p1, (e: Error) => e instanceof Error && /a string, not an Error/.test(e.message));
  await assert.rejects(h({ sender }, { method: 'resetDisk', params: { disk: 1 } }) as Promise<unknown>, {
    name: 'Error',
    message: 'internal detail',
  });
  await assert.rejects(h(undefined as never, { method: 'listDisks' }) as Promise<unknown>, /unknown sender/);
});
