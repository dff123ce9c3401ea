// Raises an accepted Unix socket's send buffer (SO_SNDBUF).
//
// Why: a Unix socket's send buffer is net.core.wmem_default, 208 KiB on Linux, less than one
// 256 KiB read reply (nbdcopy's request size). Every reply then enters the kernel in two writes,
// the second after an event-loop wake-up that comes only when the client has drained three
// quarters of the buffer; client and server take turns idling. nbdkit's threads block inside
// send() instead, which costs them far less. With the buffer at 4 MiB, sequential reads over a
// Unix socket went from ~1,300 to ~1,900 MiB/s here (docs/performance.md). TCP needs nothing:
// the kernel sizes its buffers itself, and setting SO_SNDBUF would switch that off.
//
// How: Node has no setsockopt for stream sockets. libuv's uv_send_buffer_size works on any
// socket's descriptor, but Node calls it only for a dgram handle. So a bare UDP handle
// (process.binding('udp_wrap'), on Node's allow-list) is opened on the socket's descriptor: it
// only ever sets the option. It is never started, so it never reads or writes, and never closed,
// because closing it would close the descriptor under the connection. One is kept per descriptor
// number and used again when the kernel hands that number to a later connection, so the handles
// are bounded by the process's descriptor limit, not by the number of connections.
//
// Only the main thread keeps such handles: a worker's handles are closed when the worker exits,
// and closing one would close whatever the process has under that number by then. A disk's
// worker (data-path/disk-worker.ts) sends the descriptor to the main thread instead, which sets
// the option on it: descriptors belong to the process, and a number that meanwhile went to
// something else gets at most a larger send buffer, or nothing (see setterFor). Where any of this
// is not available (another runtime, a handle in an unexpected state) the socket keeps the
// kernel's default, which only makes it slower.

import type { Socket } from 'node:net';
import { isMainThread } from 'node:worker_threads';

/**
 * Asked for per Unix connection. Linux doubles what it is asked for (bookkeeping) and caps the
 * request at net.core.wmem_max: 4 MiB of buffer where that allows, 416 KiB on a default system.
 */
export const UNIX_SEND_BUFFER_REQUEST = 2 * 1024 * 1024;

interface UdpHandle {
  open(fd: number): number;
  /** Sets (size > 0) or reads (size 0) SO_SNDBUF / SO_RCVBUF; undefined on error, `ctx` says why. */
  bufferSize(size: number, receive: boolean, ctx: object): number | undefined;
  close(): void;
}
type UdpHandleConstructor = new () => UdpHandle;

let udpHandleConstructor: UdpHandleConstructor | null | undefined;
const handleByFd = new Map<number, UdpHandle>();

function udpHandle(): UdpHandleConstructor | null {
  if (udpHandleConstructor === undefined) {
    try {
      const binding = (process as unknown as { binding(name: string): { UDP?: UdpHandleConstructor } }).binding;
      udpHandleConstructor = binding('udp_wrap').UDP ?? null;
    } catch {
      udpHandleConstructor = null;
    }
  }
  return udpHandleConstructor;
}

/** The descriptor of a socket nothing has started reading yet (net.Server's pauseOnConnect). */
function descriptor(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd > 2 ? fd : null;
}

/** The option setter for `fd`: the one kept for that number, or a new one opened on it. */
function setterFor(fd: number): UdpHandle | null {
  const kept = handleByFd.get(fd);
  if (kept) return kept;
  const Udp = udpHandle();
  if (!Udp) return null;
  const handle = new Udp();
  // libuv refuses a descriptor its loop already watches (EEXIST): that is a socket already
  // reading. The handle then holds no descriptor and may be closed.
  if (handle.open(fd) !== 0) {
    handle.close();
    return null;
  }
  handleByFd.set(fd, handle);
  return handle;
}

/** Where a worker thread sends the descriptors it cannot raise itself (set by disk-worker.ts). */
let forwardToMainThread: ((fd: number) => void) | null = null;

export function forwardSendBuffers(forward: (fd: number) => void): void {
  forwardToMainThread = forward;
}

/**
 * Asks for a send buffer of `request` bytes on the socket under `fd` (main thread only).
 * Returns the size the kernel gave, or null where it could not be set (the default stays).
 */
export function raiseSendBufferOf(fd: number, request = UNIX_SEND_BUFFER_REQUEST): number | null {
  if (!isMainThread || !Number.isInteger(fd) || fd <= 2) return null;
  const setter = setterFor(fd);
  if (!setter) return null;
  const ctx = {};
  if (setter.bufferSize(request, false, ctx) === undefined) return null;
  return setter.bufferSize(0, false, ctx) ?? null;
}

/**
 * Raises an accepted Unix socket's send buffer before it starts reading: here on the main thread
 * (returns the size the kernel gave, or null), through the main thread from a worker (null).
 */
export function raiseSendBuffer(socket: Socket, request = UNIX_SEND_BUFFER_REQUEST): number | null {
  const fd = descriptor(socket);
  if (fd === null) return null;
  if (isMainThread) return raiseSendBufferOf(fd, request);
  forwardToMainThread?.(fd);
  return null;
}
