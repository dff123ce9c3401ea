// Fixed newstyle handshake codec (NBD spec §Fixed newstyle negotiation): pure functions over
// Buffers. The connection drives the state machine; this file only parses and encodes.

import {
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO,
  MAX_STRING,
  NBDMAGIC,
  REPLY_MAGIC_OPT,
} from './constants.ts';

/** The 18 bytes the server sends first. */
export function encodeGreeting(): Buffer {
  const b = Buffer.alloc(18);
  b.writeBigUInt64BE(NBDMAGIC, 0);
  b.writeBigUInt64BE(IHAVEOPT, 8);
  b.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  return b;
}

export interface OptionHeader {
  option: number;
  length: number;
}

/** Parse the 16-byte option header; null if the magic is wrong (the client must be dropped). */
export function parseOptionHeader(b: Buffer): OptionHeader | null {
  if (b.readBigUInt64BE(0) !== IHAVEOPT) return null;
  return { option: b.readUInt32BE(8), length: b.readUInt32BE(12) };
}

/** Option reply: magic, option, reply type, length, data. */
export function encodeOptionReply(option: number, type: number, data: Buffer = EMPTY): Buffer {
  const b = Buffer.alloc(20 + data.length);
  b.writeBigUInt64BE(REPLY_MAGIC_OPT, 0);
  b.writeUInt32BE(option, 8);
  b.writeUInt32BE(type >>> 0, 12);
  b.writeUInt32BE(data.length, 16);
  data.copy(b, 20);
  return b;
}

export function encodeErrorReply(option: number, type: number, message: string): Buffer {
  return encodeOptionReply(option, type, Buffer.from(message.slice(0, MAX_STRING), 'utf8'));
}

/** NBD_OPT_EXPORT_NAME's reply: size, flags, and 124 zero bytes unless NO_ZEROES was agreed. */
export function encodeExportNameReply(size: bigint, flags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(noZeroes ? 10 : 134);
  b.writeBigUInt64BE(size, 0);
  b.writeUInt16BE(flags, 8);
  return b;
}

export class OptionParseError extends Error {}

/** NBD_OPT_INFO / NBD_OPT_GO data: u32 name length, name, u16 count, count × u16 info requests. */
export function parseInfoRequest(data: Buffer): { name: string; requests: number[] } {
  if (data.length < 6) throw new OptionParseError('option too short');
  const nameLen = data.readUInt32BE(0);
  if (nameLen > data.length - 6 || nameLen > MAX_STRING) throw new OptionParseError('export name length out of range');
  const name = data.toString('utf8', 4, 4 + nameLen);
  const n = data.readUInt16BE(4 + nameLen);
  if (data.length !== 6 + nameLen + 2 * n)
    throw new OptionParseError('info request count does not match the option length');
  const requests: number[] = [];
  for (let i = 0; i < n; i++) requests.push(data.readUInt16BE(6 + nameLen + 2 * i));
  return { name, requests };
}

/** LIST_META_CONTEXT / SET_META_CONTEXT data: u32 name length, name, u32 count, count × (u32 len, query). */
export function parseMetaContextRequest(data: Buffer): { name: string; queries: string[] } {
  if (data.length < 8) throw new OptionParseError('option too short');
  const nameLen = data.readUInt32BE(0);
  if (nameLen > data.length - 8 || nameLen > MAX_STRING) throw new OptionParseError('export name length out of range');
  const name = data.toString('utf8', 4, 4 + nameLen);
  let pos = 4 + nameLen;
  const n = data.readUInt32BE(pos);
  pos += 4;
  const queries: string[] = [];
  for (let i = 0; i < n; i++) {
    if (pos + 4 > data.length) throw new OptionParseError('truncated query');
    const len = data.readUInt32BE(pos);
    pos += 4;
    if (len > data.length - pos || len > MAX_STRING) throw new OptionParseError('query length out of range');
    queries.push(data.toString('utf8', pos, pos + len));
    pos += len;
  }
  if (pos !== data.length) throw new OptionParseError('trailing bytes after the queries');
  return { name, queries };
}

export function encodeInfoExport(size: bigint, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(INFO.EXPORT, 0);
  b.writeBigUInt64BE(size, 2);
  b.writeUInt16BE(flags, 10);
  return b;
}

export function encodeInfoString(type: typeof INFO.NAME | typeof INFO.DESCRIPTION, s: string): Buffer {
  const str = Buffer.from(s, 'utf8');
  const b = Buffer.alloc(2 + str.length);
  b.writeUInt16BE(type, 0);
  str.copy(b, 2);
  return b;
}

export function encodeInfoBlockSize(min: number, pref: number, max: number): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(INFO.BLOCK_SIZE, 0);
  b.writeUInt32BE(min, 2);
  b.writeUInt32BE(pref, 6);
  b.writeUInt32BE(max >>> 0, 10);
  return b;
}

/** NBD_REP_SERVER data: u32 name length + name. */
export function encodeServerReplyData(name: string): Buffer {
  const str = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(4 + str.length);
  b.writeUInt32BE(str.length, 0);
  str.copy(b, 4);
  return b;
}

/** NBD_REP_META_CONTEXT data: u32 context id + name. */
export function encodeMetaContextData(id: number, name: string): Buffer {
  const str = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(4 + str.length);
  b.writeUInt32BE(id, 0);
  str.copy(b, 4);
  return b;
}

const EMPTY = Buffer.alloc(0);
