// The WebSocket bridge (/ws) for the UI in headless mode: text messages are ControlRequest →
// ControlResponse JSON, the server pushes ServerPush JSON, binary messages are frame batches.
// Only pages from this server's own origin may connect (no cross-site WebSocket hijacking,
// no DNS rebinding: see origin.ts).

import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Engine } from '../engine.ts';
import type { FramePump } from '../events/frame-pump.ts';
import type { ControlResponse, ServerPush } from '../shared/types.ts';
import type { ControlApi } from './api.ts';
import { allowedHost, allowedOrigin } from './origin.ts';

/** Skip frames for a client with more than this queued (it gets a full snapshot later). */
const BUSY_BYTES = 4 * 1024 * 1024;
const MAX_MESSAGE = 64 * 1024;
const DISKS_REFRESH_MS = 1000;

export function attachWebSocket(server: Server, engine: Engine, api: ControlApi, pump: FramePump): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });

  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws' || !allowedHost(req.headers.host) || !allowedOrigin(req.headers.origin, req.headers.host)) {
      socket.write('HTTP/1.1 403 Forbidden\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });

  const clients = new Set<WebSocket>();
  const broadcast = (msg: ServerPush) => {
    const text = JSON.stringify(msg);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
  };
  const pushDisks = () => {
    if (clients.size) broadcast({ event: 'disks', disks: engine.disks.map((d) => d.info()) });
  };
  const offChange = engine.onChange(pushDisks);
  const offPush = engine.onPush(broadcast);
  const refresh = setInterval(pushDisks, DISKS_REFRESH_MS);
  refresh.unref();

  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.send(JSON.stringify({ event: 'disks', disks: engine.disks.map((d) => d.info()) } satisfies ServerPush));
    if (engine.lastCaption) ws.send(JSON.stringify(engine.lastCaption));
    const unsubscribe = pump.subscribe((buf) => ws.send(buf), { isBusy: () => ws.bufferedAmount > BUSY_BYTES });
    ws.on('message', async (data, isBinary) => {
      let id = 0;
      let reply: ControlResponse;
      try {
        if (isBinary) throw new Error('binary messages are not accepted');
        const msg = JSON.parse(data.toString()) as unknown;
        if (!msg || typeof msg !== 'object') throw new Error('message must be a JSON object');
        const m = msg as Record<string, unknown>;
        if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) throw new Error('id must be an integer');
        id = m.id;
        reply = { id, ok: true, result: await api.call(m.method, m.params) };
      } catch (err) {
        reply = { id, ok: false, error: (err as Error).message };
      }
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
    });
    ws.on('close', () => {
      clients.delete(ws);
      unsubscribe();
    });
    ws.on('error', () => ws.terminate());
  });

  return {
    close() {
      clearInterval(refresh);
      offChange();
      offPush();
      for (const ws of clients) ws.terminate();
      wss.close();
    },
  };
}
