// WebSocket transport: ws://<this page's host>/ws?token=…, reconnecting with backoff. The
// session token comes from the page's own URL (the one `blockscope serve --ui` printed): the
// server refuses the socket without it.
import type { ControlMethod, ControlMethods, ControlResponse, ServerPush } from '../../server/shared/types.ts';
import { Listeners, isServerPush, type ConnectionStatus, type Transport } from './transport.ts';

/** The WebSocket URL for the page at `loc`, carrying the session token from its query (null when the page has none). */
export function sessionSocketUrl(loc: Pick<Location, 'protocol' | 'host' | 'search'>): {
  url: string;
  token: string | null;
} {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(loc.search).get('token');
  return { url: `${proto}//${loc.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`, token };
}

export const MISSING_TOKEN =
  'This page was opened without its session token: open the full URL blockscope printed (…/?token=…).';

export class WebSocketTransport implements Transport {
  readonly kind = 'websocket' as const;
  private ws: WebSocket | null = null;
  private nextId = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private batches = new Listeners<ArrayBuffer>();
  private pushes = new Listeners<ServerPush>();
  private statuses = new Listeners<ConnectionStatus>(true);
  private backoff = 250;
  private queue: string[] = [];

  private readonly url: string;
  /** Told to every push listener as it subscribes (the missing token). */
  private notice: ServerPush | null = null;

  constructor(target: { url: string; token: string | null }) {
    this.url = target.url;
    if (!target.token) {
      // The server would refuse (401) every attempt: say why instead of retrying forever.
      this.statuses.emit('closed');
      this.notice = { event: 'status', level: 'error', message: MISSING_TOKEN };
      return;
    }
    this.connect();
  }

  private connect(): void {
    this.statuses.emit('connecting');
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 250;
      this.statuses.emit('open');
      for (const m of this.queue.splice(0)) ws.send(m);
    };
    ws.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) return this.batches.emit(e.data);
      let msg: unknown;
      try {
        msg = JSON.parse(String(e.data));
      } catch {
        return;
      }
      if (isServerPush(msg)) return this.pushes.emit(msg);
      const r = msg as ControlResponse;
      const w = typeof r?.id === 'number' ? this.waiting.get(r.id) : undefined;
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.ok) w.resolve(r.result);
      else w.reject(new Error(r.error));
    };
    ws.onclose = () => {
      this.statuses.emit('closed');
      for (const w of this.waiting.values()) w.reject(new Error('connection to Blockscope lost'));
      this.waiting.clear();
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  call<M extends ControlMethod>(method: M, params: ControlMethods[M]['params']): Promise<ControlMethods[M]['result']> {
    const id = this.nextId++;
    const text = JSON.stringify({ id, method, params });
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
      else this.queue.push(text);
    });
  }

  onBatch(cb: (buf: ArrayBuffer) => void) {
    return this.batches.add(cb);
  }
  onPush(cb: (msg: ServerPush) => void) {
    const off = this.pushes.add(cb);
    if (this.notice) cb(this.notice);
    return off;
  }
  onStatus(cb: (s: ConnectionStatus) => void) {
    return this.statuses.add(cb);
  }
}
