// Transmission phase codec (NBD spec §Transmission): request header parsing, simple and
// structured reply encoding, and request validation. Pure functions over Buffers.

import type { Extent } from '../backends/backend.ts';
import { CMD_FLAG, type Errno } from '../shared/types.ts';
import {
  CMD,
  MAX_REQUEST_SIZE,
  NBD_ERR,
  REPLY_FLAG_DONE,
  REPLY_TYPE,
  REQUEST_MAGIC,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
  TF,
} from './constants.ts';

export interface RequestHeader {
  flags: number;
  type: number;
  /** Opaque cookie, echoed in the reply: kept as the 8 raw bytes' two halves to avoid BigInt. */
  cookieHi: number;
  cookieLo: number;
  offset: bigint;
  length: number;
}

/** Parse a 28-byte request header at `pos`; null on a bad magic (hard disconnect). */
export function parseRequestHeader(b: Buffer, pos = 0): RequestHeader | null {
  if (b.readUInt32BE(pos) !== REQUEST_MAGIC) return null;
  return {
    flags: b.readUInt16BE(pos + 4),
    type: b.readUInt16BE(pos + 6),
    cookieHi: b.readUInt32BE(pos + 8),
    cookieLo: b.readUInt32BE(pos + 12),
    offset: b.readBigUInt64BE(pos + 16),
    length: b.readUInt32BE(pos + 24),
  };
}

export function encodeRequestHeader(h: RequestHeader): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(h.flags, 4);
  b.writeUInt16BE(h.type, 6);
  b.writeUInt32BE(h.cookieHi, 8);
  b.writeUInt32BE(h.cookieLo, 12);
  b.writeBigUInt64BE(h.offset, 16);
  b.writeUInt32BE(h.length, 24);
  return b;
}

export function encodeSimpleReply(error: number, h: RequestHeader): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error, 4);
  b.writeUInt32BE(h.cookieHi, 8);
  b.writeUInt32BE(h.cookieLo, 12);
  return b;
}

/** Structured chunk header (20 bytes) followed by `extra` bytes of the chunk's own header fields. */
function chunkHeader(flags: number, type: number, h: RequestHeader, length: number, extra: number): Buffer {
  const b = Buffer.allocUnsafe(20 + extra);
  b.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeUInt32BE(h.cookieHi, 8);
  b.writeUInt32BE(h.cookieLo, 12);
  b.writeUInt32BE(length, 16);
  return b;
}

/** Header of a single OFFSET_DATA chunk with DONE; the data follows as a separate write. */
export function encodeOffsetDataHeader(h: RequestHeader, dataLength: number): Buffer {
  const b = chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE.OFFSET_DATA, h, 8 + dataLength, 8);
  b.writeBigUInt64BE(h.offset, 20);
  return b;
}

export function encodeStructuredNone(h: RequestHeader): Buffer {
  return chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE.NONE, h, 0, 0);
}

export function encodeStructuredError(h: RequestHeader, error: number, message: string): Buffer {
  const msg = Buffer.from(message.slice(0, 4096), 'utf8');
  const b = chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE.ERROR, h, 6 + msg.length, 6 + msg.length);
  b.writeUInt32BE(error, 20);
  b.writeUInt16BE(msg.length, 24);
  msg.copy(b, 26);
  return b;
}

/**
 * One BLOCK_STATUS chunk for `contextId`. Extents are merged when adjacent and alike, clipped so
 * they never pass the requested length (allowed by the spec, and keeps each length within u32);
 * with REQ_ONE exactly one descriptor is sent.
 */
export function encodeBlockStatus(h: RequestHeader, contextId: number, extents: Extent[], reqOne: boolean): Buffer {
  const want = BigInt(h.length);
  const lens: number[] = [];
  const types: number[] = [];
  let covered = 0n;
  for (const e of extents) {
    if (covered >= want) break;
    let len = e.length;
    if (len <= 0n) continue;
    if (covered + len > want) len = want - covered;
    const n = types.length;
    if (n > 0 && types[n - 1] === e.type) lens[n - 1] += Number(len);
    else {
      lens.push(Number(len));
      types.push(e.type);
    }
    covered += len;
    if (reqOne) break;
  }
  if (lens.length === 0) {
    // A layer that reported nothing: describe the range as plain data, which is always safe.
    lens.push(h.length);
    types.push(0);
  }
  const count = reqOne ? 1 : lens.length;
  const b = chunkHeader(REPLY_FLAG_DONE, REPLY_TYPE.BLOCK_STATUS, h, 4 + 8 * count, 4 + 8 * count);
  b.writeUInt32BE(contextId, 20);
  for (let i = 0; i < count; i++) {
    b.writeUInt32BE(lens[i], 24 + 8 * i);
    b.writeUInt32BE(types[i], 28 + 8 * i);
  }
  return b;
}

/** What the connection knows when it validates a request. */
export interface ExportState {
  size: bigint;
  /** Transmission flags sent to the client. */
  eflags: number;
  structuredReplies: boolean;
  /** A meta context was selected with SET_META_CONTEXT. */
  metaContext: boolean;
}

const KNOWN_FLAGS = CMD_FLAG.FUA | CMD_FLAG.NO_HOLE | CMD_FLAG.DF | CMD_FLAG.REQ_ONE | CMD_FLAG.FAST_ZERO;

/** Why a request is refused: the errno (nbdkit's choice) and the reason in words for the client. */
export interface Rejection {
  errno: Errno;
  why: string;
}

const COMMAND_NAMES: Partial<Record<number, string>> = {
  [CMD.TRIM]: 'trim',
  [CMD.WRITE_ZEROES]: 'write zeroes',
  [CMD.CACHE]: 'cache',
  [CMD.FLUSH]: 'flush',
};

// Module-level, not closures in checkRequest: that runs for every request on the hot path.
const einval = (why: string): Rejection => ({ errno: 'EINVAL', why });
const unsupported = (type: number): Rejection => einval(`the export does not support ${COMMAND_NAMES[type]}`);

/**
 * nbdkit's validate_request (server/protocol.c): reject bad commands, flags and ranges before
 * any layer sees them, saying why. Returns null when the request is valid.
 */
export function checkRequest(h: RequestHeader, s: ExportState): Rejection | null {
  const { type, flags, offset, length } = h;
  const readonly = (s.eflags & TF.READ_ONLY) !== 0;

  switch (type) {
    case CMD.READ:
    case CMD.WRITE:
    case CMD.TRIM:
    case CMD.WRITE_ZEROES:
    case CMD.CACHE:
    case CMD.BLOCK_STATUS:
    case CMD.FLUSH:
      break;
    default:
      return einval(`unknown command ${type}`);
  }

  if (flags & ~KNOWN_FLAGS) return einval(`unknown flag 0x${(flags & ~KNOWN_FLAGS).toString(16)}`);
  if (flags & CMD_FLAG.FUA && !(s.eflags & TF.SEND_FUA)) return einval('FUA flag, but the export does not support FUA');
  if (flags & CMD_FLAG.DF && (type !== CMD.READ || !s.structuredReplies))
    return einval('DF flag: only on a read with structured replies');
  if (flags & CMD_FLAG.NO_HOLE && type !== CMD.WRITE_ZEROES) return einval('NO_HOLE flag: only on write zeroes');
  if (flags & CMD_FLAG.FAST_ZERO && (type !== CMD.WRITE_ZEROES || !(s.eflags & TF.SEND_FAST_ZERO)))
    return einval('FAST_ZERO flag: only on write zeroes when the export supports fast zero');
  if (flags & CMD_FLAG.REQ_ONE && type !== CMD.BLOCK_STATUS) return einval('REQ_ONE flag: only on block status');

  if (readonly && (type === CMD.WRITE || type === CMD.TRIM || type === CMD.WRITE_ZEROES))
    return { errno: 'EPERM', why: 'the export is read-only' };

  if (type === CMD.FLUSH) {
    if (!(s.eflags & TF.SEND_FLUSH)) return unsupported(type);
    return offset !== 0n || length !== 0 ? einval('flush with a non-zero offset or length') : null;
  }
  if (type === CMD.TRIM && !(s.eflags & TF.SEND_TRIM)) return unsupported(type);
  if (type === CMD.WRITE_ZEROES && !(s.eflags & TF.SEND_WRITE_ZEROES)) return unsupported(type);
  if (type === CMD.CACHE && !(s.eflags & TF.SEND_CACHE)) return unsupported(type);
  if (type === CMD.BLOCK_STATUS && (!s.structuredReplies || !s.metaContext))
    return einval('block status needs structured replies and a negotiated meta context');

  if (length === 0) return einval('zero length');
  if ((type === CMD.READ || type === CMD.WRITE) && length > MAX_REQUEST_SIZE)
    return einval(`too large: ${length} bytes (at most ${MAX_REQUEST_SIZE})`);
  if (offset + BigInt(length) > s.size) {
    const why = `out of range: offset ${offset} + length ${length} > size ${s.size}`;
    return { errno: type === CMD.WRITE || type === CMD.WRITE_ZEROES ? 'ENOSPC' : 'EINVAL', why };
  }
  return null;
}

/**
 * nbdkit's nbd_errno: the wire code for an error. ENOTSUP only travels with FAST_ZERO and
 * EOVERFLOW only with DF; anything else the client can't interpret becomes EINVAL.
 */
export function wireError(errno: Errno, flags: number): number {
  if (errno === 'ENOTSUP' && !(flags & CMD_FLAG.FAST_ZERO)) return NBD_ERR.EINVAL;
  if (errno === 'EOVERFLOW' && !(flags & CMD_FLAG.DF)) return NBD_ERR.EINVAL;
  return NBD_ERR[errno];
}
