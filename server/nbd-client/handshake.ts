// The client half of the fixed newstyle handshake, as qemu and libnbd do it:
//   greeting → client flags → [STARTTLS] → STRUCTURED_REPLY → SET_META_CONTEXT base:allocation
//   → GO (asking for NBD_INFO_BLOCK_SIZE), falling back to EXPORT_NAME for servers without GO.
// Returns the (possibly TLS) socket in transmission phase and what the export offers.

import { connect as netConnect, type Socket } from 'node:net';
import { BASE_ALLOCATION, INFO, OPT, REP } from '../protocol/constants.ts';
import {
  ServerProtocolError,
  encodeClientFlags,
  encodeInfoRequestData,
  encodeMetaContextRequestData,
  encodeOption,
  parseExportNameReply,
  parseGreeting,
  parseInfoReply,
  parseMetaContextReply,
  parseOptionReplyHeader,
} from '../protocol/client.ts';
import { FLAG_NO_ZEROES } from '../protocol/constants.ts';
import type { BlockSizeConstraints } from '../backends/backend.ts';
import { describeTarget, type UpstreamTarget } from './target.ts';
import { startTls } from './tls.ts';
import { ReadRouter } from '../connection/socket-reader.ts';

export interface NegotiatedExport {
  socket: Socket;
  /** Plaintext sockets read into the shared buffer through this (TLS sockets emit 'data'). */
  reads: ReadRouter | null;
  size: bigint;
  /** Transmission flags (TF bits) as the server sent them. */
  eflags: number;
  blockSize: BlockSizeConstraints | null;
  structured: boolean;
  /** Context id of base:allocation, or null when the server offers no block status. */
  allocationContext: number | null;
  tls: boolean;
}

/** Refusal by the server (an NBD_REP_ERR_* reply), e.g. an unknown export or TLS required. */
export class NegotiationError extends Error {}

/** Promise-style reads of exact byte counts, for the few round trips of a handshake. */
class HandshakeReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly onData = (b: Buffer) => {
    this.chunks.push(b);
    this.length += b.length;
    this.serve();
  };
  /** A view of the shared read buffer: kept as a copy. */
  private readonly onBorrowed = (b: Buffer) => this.onData(Buffer.from(b));
  private readonly onEnd = () => this.fail(new Error('the upstream server closed the connection during the handshake'));
  private readonly onError = (e: Error) => this.fail(e);

  constructor(
    private readonly socket: Socket,
    private readonly reads: ReadRouter | null,
  ) {
    if (reads) reads.route(this.onBorrowed);
    else socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.want;
    this.want = null;
    w?.reject(this.failure);
  }

  private serve(): void {
    const w = this.want;
    if (!w || this.length < w.n) return;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = all.length > w.n ? [all.subarray(w.n)] : [];
    this.length -= w.n;
    this.want = null;
    w.resolve(all.subarray(0, w.n));
  }

  read(n: number): Promise<Buffer> {
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.want = { n, resolve, reject };
      this.serve();
    });
  }

  /** Stop listening; the server must not have sent anything unasked. */
  detach(): void {
    this.reads?.route(null);
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    if (this.length) throw new ServerProtocolError('unexpected bytes from the server after the handshake');
  }
}

function openSocket(t: UpstreamTarget, timeoutMs: number, reads: ReadRouter | null): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const onread = reads?.onread;
    const s =
      t.transport === 'unix'
        ? netConnect({ path: t.socketPath, ...(onread && { onread }) })
        : netConnect({ port: t.port, host: t.host, ...(onread && { onread }) });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connecting to ${describeTarget(t)} timed out`));
    }, timeoutMs);
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${describeTarget(t)}: ${e.message}`));
    });
    s.once('connect', () => {
      clearTimeout(timer);
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

interface OptionReply {
  type: number;
  data: Buffer;
}

const MAX_REPLY = 1 << 20;

async function readReply(r: HandshakeReader, option: number): Promise<OptionReply> {
  const h = parseOptionReplyHeader(await r.read(20));
  if (h.option !== option) throw new ServerProtocolError(`reply to option ${h.option}, expected ${option}`);
  if (h.length > MAX_REPLY) throw new ServerProtocolError(`option reply of ${h.length} bytes`);
  return { type: h.type, data: await r.read(h.length) };
}

function refusal(what: string, reply: OptionReply): NegotiationError {
  const names: Record<number, string> = {
    [REP.ERR_UNSUP]: 'not supported',
    [REP.ERR_POLICY]: 'refused by policy',
    [REP.ERR_INVALID]: 'invalid',
    [REP.ERR_PLATFORM]: 'not available on this platform',
    [REP.ERR_TLS_REQD]: 'TLS required (use nbds:// or tls-psk=/tls-certificates=)',
    [REP.ERR_UNKNOWN]: 'unknown export',
    [REP.ERR_SHUTDOWN]: 'server shutting down',
    [REP.ERR_BLOCK_SIZE_REQD]: 'block size negotiation required',
    [REP.ERR_TOO_BIG]: 'request too big',
  };
  const text = reply.data.toString('utf8');
  return new NegotiationError(
    `${what}: ${names[reply.type] ?? `error 0x${reply.type.toString(16)}`}${text ? ` (${text})` : ''}`,
  );
}

/** Connect and negotiate; the returned socket is paused, ready for transmission. */
export async function negotiate(t: UpstreamTarget, timeoutMs = 10_000): Promise<NegotiatedExport> {
  // TLS reads through its own socket layer; plaintext reads go into the shared buffer.
  const reads = t.tls === 'off' ? new ReadRouter() : null;
  let socket = await openSocket(t, timeoutMs, reads);
  const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), timeoutMs);
  try {
    let r = new HandshakeReader(socket, reads);
    const serverFlags = parseGreeting(await r.read(18));
    socket.write(encodeClientFlags(serverFlags));
    const noZeroes = (serverFlags & FLAG_NO_ZEROES) !== 0;

    let tls = false;
    if (t.tls !== 'off') {
      socket.write(encodeOption(OPT.STARTTLS));
      const rep = await readReply(r, OPT.STARTTLS);
      if (rep.type === REP.ACK) {
        r.detach();
        socket = await startTls(socket, t);
        r = new HandshakeReader(socket, null);
        tls = true;
      } else if (t.tls === 'require') throw refusal('STARTTLS', rep);
    }

    socket.write(encodeOption(OPT.STRUCTURED_REPLY));
    const sr = await readReply(r, OPT.STRUCTURED_REPLY);
    const structured = sr.type === REP.ACK;

    let allocationContext: number | null = null;
    if (structured) {
      socket.write(encodeOption(OPT.SET_META_CONTEXT, encodeMetaContextRequestData(t.exportName, [BASE_ALLOCATION])));
      for (;;) {
        const rep = await readReply(r, OPT.SET_META_CONTEXT);
        if (rep.type === REP.META_CONTEXT) {
          const ctx = parseMetaContextReply(rep.data);
          if (ctx.name === BASE_ALLOCATION) allocationContext = ctx.id;
          continue;
        }
        if (rep.type === REP.ERR_TLS_REQD || rep.type === REP.ERR_UNKNOWN) throw refusal('SET_META_CONTEXT', rep);
        break; // ACK, or an error: no block status then
      }
    }

    socket.write(encodeOption(OPT.GO, encodeInfoRequestData(t.exportName, [INFO.BLOCK_SIZE])));
    let size: bigint | null = null;
    let eflags = 0;
    let blockSize: BlockSizeConstraints | null = null;
    for (;;) {
      const rep = await readReply(r, OPT.GO);
      if (rep.type === REP.INFO) {
        const info = parseInfoReply(rep.data);
        if (info.type === 'export') {
          size = info.size;
          eflags = info.flags;
        } else if (info.type === 'block-size') {
          blockSize = { minimum: info.minimum, preferred: info.preferred, maximum: info.maximum };
        }
        continue;
      }
      if (rep.type === REP.ACK) break;
      if (rep.type === REP.ERR_UNSUP) {
        // An old server: EXPORT_NAME enters transmission directly (and drops us on a bad name).
        socket.write(encodeOption(OPT.EXPORT_NAME, Buffer.from(t.exportName, 'utf8')));
        const reply = parseExportNameReply(await r.read(noZeroes ? 10 : 134));
        size = reply.size;
        eflags = reply.flags;
        allocationContext = null;
        break;
      }
      throw refusal(`export '${t.exportName}'`, rep);
    }
    if (size === null) throw new ServerProtocolError('the server sent no NBD_INFO_EXPORT');
    r.detach();
    return { socket, reads, size, eflags, blockSize, structured, allocationContext, tls };
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
