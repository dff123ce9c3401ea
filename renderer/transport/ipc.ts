// Electron IPC transport: the preload's contextBridge API (window.blockscope).
import type { ControlMethod, ControlMethods, ServerPush } from '../../server/shared/types.ts';
import { isServerPush, type Connection, type PreloadApi, type Transport } from './transport.ts';
import { WebSocketTransport, sessionSocketUrl } from './websocket.ts';

export class IpcTransport implements Transport {
  readonly kind = 'ipc' as const;

  constructor(private readonly api: PreloadApi) {}

  call<M extends ControlMethod>(method: M, params: ControlMethods[M]['params']): Promise<ControlMethods[M]['result']> {
    return this.api.call(method, params) as Promise<ControlMethods[M]['result']>;
  }
  onBatch(cb: (buf: ArrayBuffer) => void) {
    return this.api.onBatch(cb);
  }
  onPush(cb: (msg: ServerPush) => void) {
    return this.api.onPush((m) => {
      if (isServerPush(m)) cb(m);
    });
  }
  onStatus(cb: (c: Connection) => void) {
    cb({ status: 'open' }); // in-process engine: always there, never changes
    return () => {};
  }
}

/** Electron's preload when there is one (no token: IPC only reaches our own window), else the WebSocket of the server that served this page. */
export function createTransport(): Transport {
  const api = (window as unknown as { blockscope?: PreloadApi }).blockscope;
  if (api) return new IpcTransport(api);
  return new WebSocketTransport(sessionSocketUrl(location));
}
