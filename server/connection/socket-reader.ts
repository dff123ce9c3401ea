// Reads an accepted socket into one reusable buffer (Node's `onread` option) instead of a
// fresh 64 KiB Buffer per read. Under a write flood the fresh buffers were as much external
// memory as the data written (1 GiB of garbage per GiB written), and V8 answered that
// "external memory pressure" with a mark-compact every few tens of MiB (docs/performance.md).
//
// Node offers `onread` only on sockets it creates for connect(), not on a server's accepted
// ones, so the accepted socket's handle is moved into a new Socket that has it. The listener
// must be created with `pauseOnConnect: true` (no read has started). This touches three fields
// Node's own net.Server sets (`_handle`, `server`, `_server`); when they are not as expected the
// socket is left as it was and read the ordinary way.
//
// The buffer is shared by every adopted socket of the process: a read fills it and its callback
// consumes it before the next read of any socket can start (one JavaScript thread). A callback
// must therefore copy whatever it keeps (ByteQueue's borrowed chunks).

import { Socket } from 'node:net';

/** Bytes per read: a few large writes' payloads at once (the kernel gives what is there). */
const READ_BUFFER_SIZE = 1024 * 1024;
let shared: Buffer | null = null;

/** The process's one read buffer (see the top of this file). */
function sharedReadBuffer(): Buffer {
  return (shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE));
}

/**
 * Reads of a socket we connect() ourselves (the nbd backend's upstream), given as its `onread`
 * option and routed to whichever reader has the socket now: the handshake, then the client.
 * Bytes that arrive while no reader is set are copied and handed to the next one.
 */
export class ReadRouter {
  private sink: ((chunk: Buffer) => void) | null = null;
  private early: Buffer[] = [];
  readonly onread = {
    buffer: sharedReadBuffer(),
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = (buf as Buffer).subarray(0, n);
      if (this.sink) this.sink(chunk);
      else this.early.push(Buffer.from(chunk));
      return true;
    },
  };

  /** Send reads to `sink` (a view valid only during the call), or hold them (null). */
  route(sink: ((chunk: Buffer) => void) | null): void {
    this.sink = sink;
    while (this.sink && this.early.length) this.sink(this.early.shift()!);
  }
}

interface NetInternals {
  _handle: unknown;
  server: unknown;
  _server: unknown;
  allowHalfOpen: boolean;
}

/**
 * A socket reading into the shared buffer and calling `onChunk` with a view of each read
 * (valid only during the call), or null when `socket` cannot be adopted (then read it normally).
 */
export function adoptWithReadBuffer(socket: Socket, onChunk: (chunk: Buffer) => void): Socket | null {
  const old = socket as unknown as NetInternals;
  if (!old._handle || socket.readableFlowing !== false || socket.destroyed) return null;
  const buffer = sharedReadBuffer();
  const handle = old._handle;
  const server = old._server;
  // The handle and the server's connection count go to the new socket; the old one is let go.
  old._handle = null;
  old.server = null;
  old._server = null;
  const adopted = new Socket({
    handle,
    allowHalfOpen: old.allowHalfOpen,
    onread: {
      buffer,
      callback: (n: number, buf: Uint8Array) => {
        onChunk((buf as Buffer).subarray(0, n));
        return true;
      },
    },
    // Not in Node's public type: the accepted socket's handle (as net.Server passes it).
  } as unknown as ConstructorParameters<typeof Socket>[0]);
  const a = adopted as unknown as NetInternals;
  a.server = server;
  a._server = server;
  return adopted;
}
