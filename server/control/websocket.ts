// The WebSocket bridge (/ws) for the UI in headless mode: text messages are ControlRequest →
// ControlResponse JSON, the server pushes ServerPush JSON, binary messages are frame batches.
// Only pages from this server's own origin may connect (no cross-site WebSocket hijacking,
// no DNS rebinding: see origin.ts), and only with the session token (auth.ts).
//
// Nothing a peer sends can throw out of here, and no peer can make the server hold unbounded
// memory: a client whose replies pile up unread stops being read (like nbdkit stops reading a
// client that does not read its replies), and one that lets more than DROP_BYTES pile up
// (pushes it never reads) is disconnected.

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Engine } from '../engine.ts';
import type { FramePump } from '../events/frame-pump.ts';
import type { ControlResponse, ServerPush } from '../shared/types.ts';
import type { ControlApi } from './api.ts';
import { requestToken, tokenMatches } from './auth.ts';
import type { ControlCaller } from './timeline-loans.ts';
import { allowedHost, allowedOrigin } from './origin.ts';
import { parseTarget } from './target.ts';

/** Skip frames for a client with more than this queued (it gets a full snapshot later). */
const BUSY_BYTES = 4 * 1024 * 1024;
/** Stop reading a client's requests while this much of its output is unsent… */
const PAUSE_BYTES = 1024 * 1024;
/** …until it is down to this. */
const RESUME_BYTES = 256 * 1024;
/** Requests of one client running at once before it stops being read. */
const MAX_CALLS_IN_FLIGHT = 16;
/** Past this much unsent output (pushes a client never reads) the client is dropped. */
export const DROP_BYTES = 16 * 1024 * 1024;
const MAX_MESSAGE = 64 * 1024;
const DISKS_REFRESH_MS = 1000;
const RESUME_POLL_MS = 25;

/** Refuse an upgrade with a bare HTTP status (the socket is ours until handleUpgrade). */
function refuse(socket: Duplex, status: string): void {
  socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Why an upgrade request is refused, or null when it may connect. */
function upgradeRefusal(req: IncomingMessage, token: string): string | null {
  if (!allowedHost(req.headers.host) || !allowedOrigin(req.headers.origin, req.headers.host)) return '403 Forbidden';
  const target = parseTarget(req.url);
  if (!target) return '400 Bad Request';
  if (target.path !== '/ws') return '404 Not Found';
  if (!tokenMatches(token, requestToken(req.headers, target.query))) return '401 Unauthorized';
  return null;
}

/** Per-client flow control: pause reading while output or work piles up, drop a client that never reads. */
class ClientFlow {
  callsInFlight = 0;
  private paused = false;
  private poll: NodeJS.Timeout | null = null;

  constructor(private readonly ws: WebSocket) {}

  /** Send if open; false when the client had to be dropped. */
  send(data: string | ArrayBuffer): boolean {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return false;
    ws.send(data);
    if (ws.bufferedAmount > DROP_BYTES) {
      this.drop(`more than ${DROP_BYTES >> 20} MiB of messages unread`);
      return false;
    }
    this.check();
    return true;
  }

  drop(why: string): void {
    console.error(`blockscope: WebSocket client dropped: ${why}`);
    this.dispose();
    this.ws.terminate();
  }

  /** Pause or resume reading from the client. */
  check(): void {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return this.dispose();
    const busy = ws.bufferedAmount > PAUSE_BYTES || this.callsInFlight >= MAX_CALLS_IN_FLIGHT;
    if (busy && !this.paused) {
      this.paused = true;
      ws.pause();
      // ws has no public 'drain' event: look again shortly.
      this.poll = setInterval(() => this.check(), RESUME_POLL_MS);
      this.poll.unref();
    } else if (this.paused && ws.bufferedAmount <= RESUME_BYTES && this.callsInFlight < MAX_CALLS_IN_FLIGHT) {
      this.paused = false;
      if (this.poll) clearInterval(this.poll);
      this.poll = null;
      ws.resume();
    }
  }

  dispose(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }
}

export function attachWebSocket(
  server: Server,
  engine: Engine,
  api: ControlApi,
  pump: FramePump,
  token: string,
): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The raw socket has no error listener of its own until ws takes it: a reset would crash.
    socket.on('error', () => socket.destroy());
    try {
      const refusal = upgradeRefusal(req, token);
      if (refusal) return refuse(socket, refusal);
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
    } catch (err) {
      console.error(`blockscope: WebSocket upgrade failed: ${(err as Error)?.message ?? err}`);
      refuse(socket, '400 Bad Request');
    }
  });

  const clients = new Map<WebSocket, ClientFlow>();
  const broadcast = (msg: ServerPush) => {
    const text = JSON.stringify(msg);
    for (const flow of clients.values()) flow.send(text);
  };
  const pushDisks = () => {
    if (clients.size) broadcast({ event: 'disks', disks: engine.disks.map((d) => d.info()) });
  };
  const offChange = engine.onChange(pushDisks);
  const offPush = engine.onPush(broadcast);
  const refresh = setInterval(pushDisks, DISKS_REFRESH_MS);
  refresh.unref();

  /** One request → one reply; whatever the message holds, this never throws. */
  async function answer(flow: ClientFlow, caller: ControlCaller, data: RawData, isBinary: boolean): Promise<void> {
    let id = 0;
    let reply: ControlResponse;
    try {
      if (isBinary) throw new Error('binary messages are not accepted');
      const msg = JSON.parse(data.toString()) as unknown;
      if (!msg || typeof msg !== 'object') throw new Error('message must be a JSON object');
      const m = msg as Record<string, unknown>;
      if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) throw new Error('id must be an integer');
      id = m.id;
      reply = { id, ok: true, result: await api.call(m.method, m.params, caller) };
    } catch (err) {
      reply = { id, ok: false, error: (err as Error)?.message ?? String(err) };
    }
    flow.send(JSON.stringify(reply));
  }

  wss.on('connection', (ws) => {
    const flow = new ClientFlow(ws);
    clients.set(ws, flow);
    // A call answered after the socket closed still counts: its loan is given back at once.
    const caller: ControlCaller = {
      onClose: (fn) => (ws.readyState === ws.CLOSED ? setImmediate(fn) : ws.once('close', fn)),
    };
    const unsubscribe = pump.subscribe((buf) => flow.send(buf), { isBusy: () => ws.bufferedAmount > BUSY_BYTES });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clients.delete(ws);
      flow.dispose();
      unsubscribe();
    });
    ws.on('message', (data, isBinary) => {
      flow.callsInFlight++;
      flow.check();
      answer(flow, caller, data, isBinary)
        .catch((err) => flow.drop(`reply failed: ${(err as Error)?.message ?? err}`))
        .finally(() => {
          flow.callsInFlight--;
          flow.check();
        });
    });
    for (const m of engine.greeting()) flow.send(JSON.stringify(m));
  });

  return {
    close() {
      clearInterval(refresh);
      offChange();
      offPush();
      for (const [ws, flow] of clients) {
        flow.dispose();
        ws.terminate();
      }
      wss.close();
    },
  };
}
