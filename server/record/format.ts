// The session file (`.bsrec`): a fixed header, then blocks. Described field by field in
// docs/time-machine.md; little-endian throughout.
//
//   file header (4096 B)
//     0  'BSREC01\n' · 8 u32 version · 12 u32 flags (1 = the ring has wrapped)
//     16 f64 wall-clock ms at session time 0 · 24 f64 ring capacity (0 = grows freely)
//     32 f64 offset of the oldest block · 40 f64 offset where writing wrapped (0 = none)
//     48 f64 write head · 56 f64 bytes dropped so far · 64 f64 session µs before which data was dropped
//     72 u32 meta length · 76 meta (JSON: disks, source, created)
//   block header (48 B)
//     0 'BSBK' · 4 u8 type · 5 u8 flags (1 = body deflated) · 6 u16 disk · 8 u32 body length
//     12 u32 CRC-32 of prefix + body · 16 f64 block sequence number · 24 f64 first µs · 32 f64 last µs
//     40 u32 prefix length · 44 u32 records
//   then the prefix (never deflated: the index reads it without the body) and the body.

import { crc32 } from 'node:zlib';
import type { DiskInfo } from '../shared/types.ts';
import { FormatError } from './bytes.ts';

export const FILE_MAGIC = 'BSREC01\n';
/** Version 2 added DELTA blocks; version 1 files (no DELTA) read as they are. */
export const FORMAT_VERSION = 2;
const OLDEST_VERSION = 1;
export const HEADER_SIZE = 4096;
export const BLOCK_MAGIC = 0x4b425342; // 'BSBK'
export const BLOCK_HEADER = 48;
const META_MAX = HEADER_SIZE - 76;

export const BlockType = {
  /** One disk's request events (prefix: position + summary). */
  EVENTS: 1,
  /** Keyframes of every disk at one instant (prefix: per disk next record/start). */
  CHECKPOINT: 2,
  /** Markers: demo steps and captions, error toggles, notes (body: JSON). */
  MARKS: 3,
  /** Writing continues at the start of the data area. */
  WRAP: 4,
  /** What changed on every disk since the checkpoint before (prefix as CHECKPOINT's). */
  DELTA: 5,
} as const;
export type BlockType = (typeof BlockType)[keyof typeof BlockType];

export interface SessionDisk {
  number: number;
  name: string;
  /** Decimal bytes. */
  size: string;
  mode: DiskInfo['mode'];
}

export interface SessionMeta {
  disks: SessionDisk[];
  /** Where the events came from: the embedded server, an attached nbdkit log, imported logs. */
  source: 'serve' | 'attach' | 'import' | 'synthetic';
  created: string;
  /** Imported log files, when source = import. */
  files?: string[];
}

export interface FileHeader {
  flags: number;
  startWallMs: number;
  capacity: number;
  ringStart: number;
  wrapAt: number;
  writeHead: number;
  droppedBytes: number;
  droppedUntilUs: number;
  meta: SessionMeta;
}

export function encodeHeader(h: FileHeader): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(FILE_MAGIC, 0, 'latin1');
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeUInt32LE(h.flags, 12);
  b.writeDoubleLE(h.startWallMs, 16);
  b.writeDoubleLE(h.capacity, 24);
  b.writeDoubleLE(h.ringStart, 32);
  b.writeDoubleLE(h.wrapAt, 40);
  b.writeDoubleLE(h.writeHead, 48);
  b.writeDoubleLE(h.droppedBytes, 56);
  b.writeDoubleLE(h.droppedUntilUs, 64);
  const meta = Buffer.from(JSON.stringify(h.meta));
  if (meta.length > META_MAX) throw new Error(`recording metadata too large (${meta.length} bytes)`);
  b.writeUInt32LE(meta.length, 72);
  meta.copy(b, 76);
  return b;
}

export function decodeHeader(b: Buffer, path: string): FileHeader {
  if (b.length < 76 || b.toString('latin1', 0, 8) !== FILE_MAGIC)
    throw new FormatError(`${path}: not a Blockscope recording (bad magic)`);
  const version = b.readUInt32LE(8);
  if (version < OLDEST_VERSION || version > FORMAT_VERSION)
    throw new FormatError(
      `${path}: unsupported recording version ${version} (this Blockscope reads ${OLDEST_VERSION} to ${FORMAT_VERSION})`,
    );
  const metaLen = b.readUInt32LE(72);
  if (metaLen > META_MAX) throw new FormatError(`${path}: corrupt header (meta length ${metaLen})`);
  let meta: SessionMeta;
  try {
    meta = JSON.parse(b.toString('utf8', 76, 76 + metaLen)) as SessionMeta;
  } catch {
    throw new FormatError(`${path}: corrupt header (meta is not JSON)`);
  }
  if (!Array.isArray(meta.disks) || meta.disks.length === 0)
    throw new FormatError(`${path}: the recording has no disks`);
  for (const d of meta.disks) {
    if (!Number.isInteger(d.number) || d.number < 1 || !/^\d+$/.test(String(d.size)))
      throw new FormatError(`${path}: corrupt disk table in the header`);
  }
  return {
    flags: b.readUInt32LE(12),
    startWallMs: b.readDoubleLE(16),
    capacity: b.readDoubleLE(24),
    ringStart: b.readDoubleLE(32),
    wrapAt: b.readDoubleLE(40),
    writeHead: b.readDoubleLE(48),
    droppedBytes: b.readDoubleLE(56),
    droppedUntilUs: b.readDoubleLE(64),
    meta,
  };
}

export interface BlockHeader {
  type: BlockType;
  deflated: boolean;
  disk: number;
  bodyLength: number;
  crc: number;
  seq: number;
  firstUs: number;
  lastUs: number;
  prefixLength: number;
  records: number;
}

/** A whole block (header + prefix + body) ready to write. */
export function encodeBlock(
  h: Omit<BlockHeader, 'crc' | 'bodyLength' | 'prefixLength'>,
  prefix: Uint8Array,
  body: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(BLOCK_HEADER + prefix.length + body.length);
  out.writeUInt32LE(BLOCK_MAGIC, 0);
  out.writeUInt8(h.type, 4);
  out.writeUInt8(h.deflated ? 1 : 0, 5);
  out.writeUInt16LE(h.disk, 6);
  out.writeUInt32LE(body.length, 8);
  out.set(prefix, BLOCK_HEADER);
  out.set(body, BLOCK_HEADER + prefix.length);
  out.writeUInt32LE(crc32(out.subarray(BLOCK_HEADER)), 12);
  out.writeDoubleLE(h.seq, 16);
  out.writeDoubleLE(h.firstUs, 24);
  out.writeDoubleLE(h.lastUs, 32);
  out.writeUInt32LE(prefix.length, 40);
  out.writeUInt32LE(h.records, 44);
  return out;
}

/** Parse a block header; null when the bytes are not a block (end of data, torn write). */
export function decodeBlockHeader(b: Buffer): BlockHeader | null {
  if (b.length < BLOCK_HEADER || b.readUInt32LE(0) !== BLOCK_MAGIC) return null;
  const type = b.readUInt8(4) as BlockType;
  if (type < BlockType.EVENTS || type > BlockType.DELTA) return null;
  return {
    type,
    deflated: (b.readUInt8(5) & 1) === 1,
    disk: b.readUInt16LE(6),
    bodyLength: b.readUInt32LE(8),
    crc: b.readUInt32LE(12),
    seq: b.readDoubleLE(16),
    firstUs: b.readDoubleLE(24),
    lastUs: b.readDoubleLE(32),
    prefixLength: b.readUInt32LE(40),
    records: b.readUInt32LE(44),
  };
}

export function blockLength(h: BlockHeader): number {
  return BLOCK_HEADER + h.prefixLength + h.bodyLength;
}

export function checkCrc(h: BlockHeader, prefixAndBody: Uint8Array): boolean {
  return crc32(prefixAndBody) === h.crc;
}

/** A marker on the timeline. */
export type Mark =
  | { kind: 'caption'; timeUs: number; step: number; total: number; title: string; text: string }
  | { kind: 'errors'; timeUs: number; disk: number; on: boolean }
  | { kind: 'note'; timeUs: number; text: string };
