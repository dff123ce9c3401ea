// The NBD listener for one disk: TCP on 127.0.0.1 by default and/or a Unix socket (mode 0600).
// Each accepted socket becomes a Connection; connections are numbered from 1 per disk. With TLS
// (--tls=on|require) the URIs are nbds:// / nbds+unix://, as libnbd spells them.

import { chmod, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { Connection } from './connection/connection.ts';
import { adoptWithReadBuffer } from './connection/socket-reader.ts';
import { raiseSendBuffer } from './connection/send-buffer.ts';
import type { TlsServerConfig } from './connection/tls.ts';
import type { EventBus } from './events/event-bus.ts';
import type { FilterChain } from './filters/filter.ts';

export interface NbdServerOptions {
  diskNumber: number;
  chain: FilterChain;
  bus: EventBus;
  exportName: string;
  readonly: boolean;
  tcp?: { host: string; port: number };
  unixSocket?: string;
  description?: string;
  /** Loaded TLS credentials, or null/absent for --tls=off. */
  tls?: TlsServerConfig | null;
  /** Drop clients still negotiating after this long (default 30 s; 0 = never). */
  handshakeTimeoutMs?: number;
  /** Refuse structured replies (nbdkit's --no-sr, for testing clients' simple-reply paths). */
  noStructuredReplies?: boolean;
}

/** How long a clean shutdown waits for in-flight requests before failing them. */
const SHUTDOWN_GRACE_MS = 2000;
/**
 * Default handshake limit. nbdkit has none (only its option caps); qemu-nbd's --handshake-limit
 * is 10 s. 30 s leaves room for a person typing in nbdsh's option mode, and still closes the
 * idle sockets a hostile peer opens by the hundred.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * The longest Unix socket path Linux binds: sun_path is 108 bytes with its NUL. Node hands a
 * longer one to the kernel cut short, which binds a different path (even outside the directory
 * meant) and leaves it behind; so it is refused first.
 */
export const UNIX_PATH_MAX = 107;

/** Why `path` cannot be a Unix socket's path, or null when it can. */
export function socketPathTooLong(path: string): string | null {
  const bytes = Buffer.byteLength(path);
  return bytes > UNIX_PATH_MAX ? `socket path ${path} is ${bytes} bytes, longer than ${UNIX_PATH_MAX}` : null;
}

/**
 * Listen on a Unix socket that nobody else can connect to from its first moment: bound inside a
 * fresh directory only we can enter, pinned to 0600, then renamed into place. (Lowering the umask
 * around the bind would do too, but a worker thread may not change the process's umask.)
 */
export async function listenPrivately(server: Server, path: string): Promise<void> {
  const tooLong = socketPathTooLong(path);
  if (tooLong) throw new Error(tooLong);
  // `dir/.XXXXXX/s`, beside the socket: no longer than `dir/disk1.sock`, so a socket path that
  // fits also fits while it is bound there. (`${dir}/.` and not join(dir, '.'), which is `dir`
  // itself: mkdtemp would then create `dirXXXXXX` in the parent, which may not be ours to write.)
  const dir = await mkdtemp(`${dirname(path)}/.`);
  const inside = join(dir, 's');
  try {
    // Only a socket name shorter than 9 bytes gets here (the kernel must not cut this one either).
    if (socketPathTooLong(inside))
      throw new Error(
        `socket path ${path} is too near the limit of ${UNIX_PATH_MAX} bytes to be bound first as ${inside}`,
      );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(inside, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(inside, 0o600);
    await unlink(path).catch(() => {});
    await rename(inside, path);
  } catch (err) {
    server.close();
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class NbdServer {
  /** One NBD URI per listening endpoint (nbd://127.0.0.1:10809 and/or nbd+unix:///?socket=...). */
  uris: string[] = [];
  /** The TCP port actually bound (port 0 picks one), or null. */
  port: number | null = null;
  private servers: Server[] = [];
  private connections = new Set<Connection>();
  private nextConnection = 1;

  constructor(readonly options: NbdServerOptions) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(): Promise<void> {
    const { tcp, unixSocket, exportName } = this.options;
    const exportPath = exportName ? `/${encodeURIComponent(exportName)}` : '';
    const scheme = this.options.tls ? 'nbds' : 'nbd';
    if (tcp) {
      const server = this.makeServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tcp.port, tcp.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      this.port = typeof addr === 'object' && addr ? addr.port : tcp.port;
      const host = tcp.host.includes(':') ? `[${tcp.host}]` : tcp.host;
      this.uris.push(`${scheme}://${host}:${this.port}${exportPath}`);
      this.reportErrors(server);
      this.servers.push(server);
    }
    if (unixSocket) {
      const server = this.makeServer(true);
      await listenPrivately(server, unixSocket);
      this.reportErrors(server);
      this.uris.push(`${scheme}+unix://${exportPath || '/'}?socket=${unixSocket}`);
      this.servers.push(server);
    }
    if (!this.servers.length)
      throw new Error(`disk ${this.options.diskNumber}: no TCP address or Unix socket to listen on`);
  }

  private makeServer(unix = false): Server {
    // Paused: no read may start before socket-reader.ts has given the socket its read buffer
    // (and, for a Unix socket, before send-buffer.ts has opened its option setter on it).
    // Half-open: libnbd sends NBD_CMD_DISC and then shuts its side (shutdown(SHUT_WR)); the
    // requests before the DISC must still run and be answered (connection.ts).
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
      if (unix) raiseSendBuffer(socket);
      this.accept(socket);
    });
    return server;
  }

  /** Errors of a listener that is up (one failing to start is reported by listen() alone, once). */
  private reportErrors(server: Server): void {
    server.on('error', (err) =>
      console.error(`blockscope: disk ${this.options.diskNumber}: listener error: ${err.message}`),
    );
  }

  private accept(socket: Socket): void {
    const o = this.options;
    // Plain connections read into the shared buffer; TLS reads through its own socket layer.
    let target: Connection | null = null;
    const adopted = o.tls ? null : adoptWithReadBuffer(socket, (chunk) => target?.onBorrowedData(chunk));
    const conn = new Connection({
      socket: adopted ?? socket,
      id: this.nextConnection++,
      diskNumber: o.diskNumber,
      chain: o.chain,
      bus: o.bus,
      exportName: o.exportName,
      description: o.description ?? `Blockscope disk ${o.diskNumber}`,
      readonly: o.readonly,
      tls: o.tls ?? null,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      structuredReplies: !o.noStructuredReplies,
      onClose: (c) => this.connections.delete(c),
    });
    target = conn;
    this.connections.add(conn);
  }

  /** Stop accepting, let in-flight requests finish (briefly), close clients, remove the socket file. */
  async close(): Promise<void> {
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await Promise.all([...this.connections].map((c) => c.shutdown(SHUTDOWN_GRACE_MS)));
    await Promise.all(closing);
    this.servers = [];
    if (this.options.unixSocket) await unlink(this.options.unixSocket).catch(() => {});
  }
}
