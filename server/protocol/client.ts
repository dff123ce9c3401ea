// The client side of the NBD codec (the proxy backend talks to upstream servers with it):
// encoders for what a client sends during the handshake, parsers for what a server replies in
// both phases. Request headers use transmission.ts's encodeRequestHeader. Pure functions over
// Buffers, like handshake.ts and transmission.ts.

import type { Extent } from '../backends/backend.ts';
import { ERRNOS, type Errno } from '../shared/types.ts';
import {
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO,
  MAX_STRING,
  NBD_ERR,
  NBDMAGIC,
  REPLY_MAGIC_OPT,
} from './constants.ts';

export class ServerProtocolError extends Error {}

/** Parse the server's 18-byte greeting; returns the handshake flags. Throws on anything but fixed newstyle. */
export function parseGreeting(b: Buffer): number {
  if (b.readBigUInt64BE(0) !== NBDMAGIC) throw new ServerProtocolError('not an NBD server (bad magic)');
  const magic2 = b.readBigUInt64BE(8);
  if (magic2 !== IHAVEOPT) throw new ServerProtocolError('server speaks oldstyle NBD (not supported)');
  const flags = b.readUInt16BE(16);
  if (!(flags & FLAG_FIXED_NEWSTYLE)) throw new ServerProtocolError('server lacks fixed newstyle negotiation');
  return flags;
}

/** The client flags answering a greeting: fixed newstyle, and no zeroes when the server offers it. */
export function encodeClientFlags(serverFlags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(FLAG_C_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES ? FLAG_C_NO_ZEROES : 0), 0);
  return b;
}

/** An option request: IHAVEOPT, option, length, data. */
export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(16 + data.length);
  b.writeBigUInt64BE(IHAVEOPT, 0);
  b.writeUInt32BE(option, 8);
  b.writeUInt32BE(data.length, 12);
  data.copy(b, 16);
  return b;
}

function nameBytes(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length > MAX_STRING) throw new RangeError(`export name longer than ${MAX_STRING} bytes`);
  return b;
}

/** NBD_OPT_INFO / NBD_OPT_GO data (the inverse of parseInfoRequest). */
export function encodeInfoRequestData(name: string, requests: number[]): Buffer {
  const n = nameBytes(name);
  const b = Buffer.alloc(6 + n.length + 2 * requests.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  b.writeUInt16BE(requests.length, 4 + n.length);
  requests.forEach((r, i) => b.writeUInt16BE(r, 6 + n.length + 2 * i));
  return b;
}

/** LIST/SET_META_CONTEXT data (the inverse of parseMetaContextRequest). */
export function encodeMetaContextRequestData(name: string, queries: string[]): Buffer {
  const n = nameBytes(name);
  const qs = queries.map((q) => Buffer.from(q, 'utf8'));
  const b = Buffer.alloc(8 + n.length + qs.reduce((s, q) => s + 4 + q.length, 0));
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  let pos = 4 + n.length;
  b.writeUInt32BE(qs.length, pos);
  pos += 4;
  for (const q of qs) {
    b.writeUInt32BE(q.length, pos);
    q.copy(b, pos + 4);
    pos += 4 + q.length;
  }
  return b;
}

export interface OptionReplyHeader {
  option: number;
  type: number;
  length: number;
}

/** Parse a 20-byte option reply header. Throws on a bad magic. */
export function parseOptionReplyHeader(b: Buffer): OptionReplyHeader {
  if (b.readBigUInt64BE(0) !== REPLY_MAGIC_OPT) throw new ServerProtocolError('bad option reply magic');
  return { option: b.readUInt32BE(8), type: b.readUInt32BE(12), length: b.readUInt32BE(16) };
}

/** NBD_OPT_EXPORT_NAME's reply (size and transmission flags; the padding is ignored). */
export function parseExportNameReply(b: Buffer): { size: bigint; flags: number } {
  return { size: b.readBigUInt64BE(0), flags: b.readUInt16BE(8) };
}

export type InfoReply =
  | { type: 'export'; size: bigint; flags: number }
  | { type: 'block-size'; minimum: number; preferred: number; maximum: number }
  | { type: 'name' | 'description'; value: string }
  | { type: 'unknown'; code: number };

/** NBD_REP_INFO data. */
export function parseInfoReply(data: Buffer): InfoReply {
  if (data.length < 2) throw new ServerProtocolError('NBD_REP_INFO too short');
  const code = data.readUInt16BE(0);
  switch (code) {
    case INFO.EXPORT:
      if (data.length !== 12) throw new ServerProtocolError('NBD_INFO_EXPORT has the wrong length');
      return { type: 'export', size: data.readBigUInt64BE(2), flags: data.readUInt16BE(10) };
    case INFO.BLOCK_SIZE:
      if (data.length !== 14) throw new ServerProtocolError('NBD_INFO_BLOCK_SIZE has the wrong length');
      return {
        type: 'block-size',
        minimum: data.readUInt32BE(2),
        preferred: data.readUInt32BE(6),
        maximum: data.readUInt32BE(10),
      };
    case INFO.NAME:
    case INFO.DESCRIPTION:
      return { type: code === INFO.NAME ? 'name' : 'description', value: data.toString('utf8', 2) };
    default:
      return { type: 'unknown', code };
  }
}

/** NBD_REP_META_CONTEXT data: u32 id + name. */
export function parseMetaContextReply(data: Buffer): { id: number; name: string } {
  if (data.length < 4) throw new ServerProtocolError('NBD_REP_META_CONTEXT too short');
  return { id: data.readUInt32BE(0), name: data.toString('utf8', 4) };
}

// ---- Transmission -----------------------------------------------------------------------

/** An error chunk's payload: u32 error, u16 message length, message [, u64 offset]. */
export function parseErrorPayload(b: Buffer): { error: number; message: string } {
  if (b.length < 6) throw new ServerProtocolError('error chunk too short');
  const error = b.readUInt32BE(0);
  const len = b.readUInt16BE(4);
  if (6 + len > b.length) throw new ServerProtocolError('error chunk message overruns the chunk');
  return { error, message: b.toString('utf8', 6, 6 + len) };
}

/** A BLOCK_STATUS chunk's payload: u32 context id, then (u32 length, u32 flags) descriptors. */
export function parseBlockStatusPayload(b: Buffer): { contextId: number; extents: Extent[] } {
  if (b.length < 12 || (b.length - 4) % 8 !== 0) throw new ServerProtocolError('malformed block status chunk');
  const extents: Extent[] = [];
  for (let pos = 4; pos < b.length; pos += 8) {
    extents.push({ length: BigInt(b.readUInt32BE(pos)), type: b.readUInt32BE(pos + 4) });
  }
  return { contextId: b.readUInt32BE(0), extents };
}

const ERRNO_OF_WIRE = new Map<number, Errno>(ERRNOS.map((e) => [NBD_ERR[e], e]));

/** The Errno for a wire error value; values outside the spec's list are EINVAL (§Error values). */
export function errnoFromWire(code: number): Errno {
  return ERRNO_OF_WIRE.get(code) ?? 'EINVAL';
}
