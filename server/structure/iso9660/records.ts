// Directory records (ECMA-119 9.1): length (byte 0), extended attribute record length (1),
// extent block (2, little-endian half of a both-endian field), data length (10), flags (25:
// 0x02 directory, 0x80 more extents of this file follow), identifier length (32) and identifier
// (33), a pad byte when that length is even, then the system use area (SUSP, where Rock Ridge
// keeps its NM name entries). Records never cross a 2048-byte sector: a zero length byte means
// "the rest of this sector is padding".

import { SECTOR, utf16be } from './descriptors.ts';

export const FLAG_DIRECTORY = 0x02;
export const FLAG_MULTI_EXTENT = 0x80;
const MIN_RECORD = 34;

export interface DirRecord {
  /** Byte offset of the record inside its directory's extent. */
  at: number;
  extent: number;
  /** Blocks of extended attribute record before the data. */
  xattrBlocks: number;
  size: number;
  flags: number;
  /** The identifier as the tree names it (";1" version and a bare trailing dot dropped). */
  name: string;
  /** The Rock Ridge name (NM entries), when the record has one. */
  rrName?: string;
  /** Its NM entries go on in a continuation area: tree.ts reads it and completes rrName. */
  rrRest?: SuspName;
  /** "." or "..": the directory itself or its parent. */
  self: boolean;
}

/** The name of a record's identifier: Joliet's UCS-2 big-endian or ISO's d-characters. */
function identifier(raw: Buffer, joliet: boolean): string {
  let name = joliet ? utf16be(raw) : raw.toString('latin1');
  const semi = name.lastIndexOf(';');
  if (semi > 0 && /^\d+$/.test(name.slice(semi + 1))) name = name.slice(0, semi);
  if (!joliet && name.endsWith('.') && name.length > 1) name = name.slice(0, -1);
  return cleanName(name);
}

/** A SUSP continuation area (CE entry: block at 4, offset at 12, length at 20, little-endian halves). */
export interface Continuation {
  block: number;
  offset: number;
  length: number;
}

/** What a system use area (or a continuation area) says of the Rock Ridge name. */
export interface SuspName {
  /** NM parts so far ('' before any). */
  name: string;
  /** The last NM part had its CONTINUE flag (0x01) set: the name goes on. */
  open: boolean;
  /** Where the entries go on (CE), if they do. */
  next?: Continuation;
}

/**
 * The Rock Ridge name in a system use area: the NM entries (signature "NM", length at 2, flags at
 * 4, name from 5), concatenated while their CONTINUE flag is set, and the CE entry saying where
 * the entries go on (long names are split there). Entries that do not fit end the walk.
 */
export function suspName(su: Buffer, from: SuspName = { name: '', open: false }): SuspName {
  const out: SuspName = { name: from.name, open: from.open };
  for (let at = 0; at + 4 <= su.length;) {
    const len = su[at + 2];
    if (len < 4 || at + len > su.length) break;
    const sig = su.toString('latin1', at, at + 2);
    if (sig === 'ST') break;
    if (sig === 'NM' && len >= 5) {
      const flags = su[at + 4];
      if (!(flags & 0x06)) {
        out.name += su.toString('utf8', at + 5, at + len);
        out.open = (flags & 0x01) !== 0;
      }
    }
    if (sig === 'CE' && len >= 28)
      out.next = { block: su.readUInt32LE(at + 4), offset: su.readUInt32LE(at + 12), length: su.readUInt32LE(at + 20) };
    at += len;
  }
  return out;
}

export const cleanName = (name: string) => name.replace(/[\0/]/g, '_');

/**
 * Every record of a directory extent, in order. Damage (a record shorter than its fixed part, one
 * running past its sector, an identifier longer than its record) is a warning and the walk goes
 * on at the next sector.
 */
export function parseRecords(buf: Buffer, joliet: boolean, warn: (m: string) => void): DirRecord[] {
  const out: DirRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    const sectorEnd = Math.min((Math.floor(at / SECTOR) + 1) * SECTOR, buf.length);
    const len = buf[at];
    if (len === 0) {
      at = sectorEnd;
      continue;
    }
    if (len < MIN_RECORD || at + len > sectorEnd) {
      warn(
        len < MIN_RECORD
          ? `a directory record at byte ${at} is ${len} bytes long, shorter than its fixed part (${MIN_RECORD})`
          : `a directory record at byte ${at} (${len} bytes) runs past the end of its sector`,
      );
      at = sectorEnd;
      continue;
    }
    const nameLen = buf[at + 32];
    if (33 + nameLen > len) {
      warn(`a directory record at byte ${at} has a ${nameLen}-byte identifier that does not fit its ${len} bytes`);
      at += len;
      continue;
    }
    const raw = buf.subarray(at + 33, at + 33 + nameLen);
    const self = nameLen === 1 && (raw[0] === 0 || raw[0] === 1);
    const suStart = at + 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0);
    const su = suStart < at + len && !self ? suspName(buf.subarray(suStart, at + len)) : undefined;
    out.push({
      at,
      extent: buf.readUInt32LE(at + 2),
      xattrBlocks: buf[at + 1],
      size: buf.readUInt32LE(at + 10),
      flags: buf[at + 25],
      name: self ? (raw[0] === 0 ? '.' : '..') : identifier(raw, joliet),
      rrName: su?.name ? cleanName(su.name) : undefined,
      rrRest: su?.next && (su.open || !su.name) ? su : undefined,
      self,
    });
    at += len;
  }
  return out;
}
