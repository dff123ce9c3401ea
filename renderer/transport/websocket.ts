// WebSocket transport: ws://<this page's host>/ws?token=…, reconnecting with backoff. The
// session token comes from the page's own URL (the one `blockscope serve --ui` printed): the
// server refuses the socket without it.
//
// A call is sent only while the socket is open (or queued while the page first connects). Once
// a call's promise is rejected its message is gone: an action the UI has rolled back is never
// applied by a later reconnect.
import type { ControlMethod, ControlMethods, ControlResponse, ServerPush } from '../../server/shared/types.ts';
import { Listeners, isServerPush, type Connection, type Transport } from './transport.ts';

export interface SessionTarget {
  /** ws(s)://host/ws?token=… */
  url: string;
  token: string | null;
  /** The same server's /api/health (no token in it: the probe sends it as a header). */
  healthUrl: string;
}

/** The WebSocket URL for the page at `loc`, carrying the session token from its query (null when the page has none). */
export function sessionSocketUrl(loc: Pick<Location, 'protocol' | 'host' | 'search'>): SessionTarget {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(loc.search).get('token');
  return {
    url: `${proto}//${loc.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    token,
    healthUrl: `${loc.protocol}//${loc.host}/api/health`,
  };
}

export const MISSING_TOKEN =
  'This page was opened without its session token: open the full URL blockscope printed (…/?token=…).';
export const SESSION_ENDED = "Blockscope restarted or this page's session ended: open the URL it printed (…/?token=…).";
export const CONNECTION_LOST = 'connection to Blockscope lost: nothing was changed';
export const NOT_CONNECTED = 'not connected to Blockscope (reconnecting): nothing was changed';

/** What the transport needs from the browser; tests pass fakes. */
export interface SocketEnv {
  open(url: string): WebSocket;
  /** GET healthUrl with the token: its HTTP status, or null when nothing answered. */
  health(healthUrl: string, token: string): Promise<number | null>;
}

const browserEnv: SocketEnv = {
  open: (url) => new WebSocket(url),
  health: (healthUrl, token) =>
    fetch(healthUrl, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' }).then(
      (r) => r.status,
      () => null,
    ),
};

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;

export class WebSocketTransport implements Transport {
  readonly kind = 'websocket' as const;
  private ws: WebSocket | null = null;
  private nextId = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private batches = new Listeners<ArrayBuffer>();
  private pushes = new Listeners<ServerPush>();
  private statuses = new Listeners<Connection>(true);
  private connection: Connection = { status: 'connecting' };
  private backoff = FIRST_BACKOFF_MS;
  /** Tries to connect since the engine was last reached (or since the page loaded). */
  private attempts = 0;
  /** Calls made while the page first connects, sent when the socket opens (dropped if it does not). */
  private queue: string[] = [];
  /** The socket has been open once: from then on a call while it is down fails at once. */
  private everOpen = false;

  constructor(
    private readonly target: SessionTarget,
    private readonly env: SocketEnv = browserEnv,
  ) {
    if (!target.token) {
      // The server would refuse (401) every attempt: say why instead of retrying forever.
      this.setStatus({ status: 'refused', why: MISSING_TOKEN });
      return;
    }
    this.connect();
  }

  private setStatus(c: Connection): void {
    this.connection = c;
    this.statuses.emit(c);
  }

  private connect(): void {
    // The page's first try is plain "connecting"; every later one says which it is.
    this.attempts++;
    this.setStatus(
      this.attempts > 1 || this.everOpen ? { status: 'connecting', attempt: this.attempts } : { status: 'connecting' },
    );
    const ws = this.env.open(this.target.url);
    ws.binaryType = 'arraybuffer';
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.everOpen = true;
      this.ws = ws;
      this.backoff = FIRST_BACKOFF_MS;
      this.attempts = 0;
      this.setStatus({ status: 'open' });
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
      this.ws = null;
      this.setStatus({ status: 'closed' });
      // Rejected calls are forgotten with their messages: nothing is sent after its promise failed.
      this.queue = [];
      for (const w of this.waiting.values()) w.reject(new Error(CONNECTION_LOST));
      this.waiting.clear();
      if (opened) this.retryLater();
      else void this.probeThenRetry();
    };
  }

  private retryLater(): void {
    setTimeout(() => this.connect(), this.backoff);
    this.setStatus({ status: 'closed', retryAt: Date.now() + this.backoff, retryInMs: this.backoff });
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  /**
   * A connect failed. Browsers hide a refused upgrade's HTTP status from WebSocket, so ask the
   * same server's HTTP API with the same token: 401 means a restarted server (a new token) or an
   * ended session, and retrying would never help. Anything else (no answer: still down) retries.
   */
  private async probeThenRetry(): Promise<void> {
    const status = await this.env.health(this.target.healthUrl, this.target.token ?? '');
    if (status === 401) return this.setStatus({ status: 'refused', why: SESSION_ENDED });
    this.retryLater();
  }

  call<M extends ControlMethod>(method: M, params: ControlMethods[M]['params']): Promise<ControlMethods[M]['result']> {
    const id = this.nextId++;
    const text = JSON.stringify({ id, method, params });
    return new Promise((resolve, reject) => {
      if (this.ws) this.ws.send(text);
      else if (this.connection.status === 'connecting' && !this.everOpen) this.queue.push(text);
      else return reject(new Error(this.connection.why ?? NOT_CONNECTED));
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  onBatch(cb: (buf: ArrayBuffer) => void) {
    return this.batches.add(cb);
  }
  onPush(cb: (msg: ServerPush) => void) {
    return this.pushes.add(cb);
  }
  onStatus(cb: (c: Connection) => void) {
    return this.statuses.add(cb);
  }
}
