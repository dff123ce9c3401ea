// Parser for nbdkit log filter lines, both eras:
//   ≥ 1.24: `… connection=1 ...Read id=2 return=-1 error=EIO`
//   1.8–1.22: `… connection=1 ...Read id=2 return=-1 (EIO)`, `return=0 (Success)`,
//             `(EROFS=>EPERM)`, and 1.16–1.22's `fast=0...` (no space before the ellipsis).
// Lines it cannot read are reported as null (readLine says why); the caller counts them.
// Never throws, and runs in time linear in the line's length (lines are capped by lines.ts).
// Numbers are validated where they are read: offset u64, count u32, id and connection safe
// integers, a Connect line's size 1..2^63-1 — a malformed number makes the line unreadable.

import { ERRNOS, type Errno } from '../shared/types.ts';

export type LineKind = 'enter' | 'leave' | 'print';

export interface LogLine {
  /** Epoch microseconds, or null for `Time unknown`. */
  timeUs: number | null;
  connection: number | null;
  kind: LineKind;
  act: string;
  id: number | null;
  fields: Record<string, string>;
  /** LEAVE lines: null on success, else the error (unknown names map to EINVAL). */
  error: Errno | null;
  /** `offset=` (0..2^64-1), when the line has one. */
  offset: bigint | null;
  /** `count=` (0..2^32-1), when the line has one. */
  count: number | null;
  /** A Connect line's `size=` (1..2^63-1). */
  size: bigint | null;
}

/** A line, or why it cannot be read (with the request name when it got that far). */
export type ReadResult = { line: LogLine; why?: undefined } | { line: null; why: string; act?: string };

const MAX_U64 = (1n << 64n) - 1n;
const MAX_DISK = (1n << 63n) - 1n;

/** A decimal or 0x-hex integer as nbdkit prints them, or null (1e5, 0x1g, -1, "" are not numbers). */
export function parseLogNumber(text: string): bigint | null {
  const hex = /^0[xX]0*([0-9a-fA-F]{1,16})$/.exec(text);
  if (hex) return BigInt(`0x${hex[1]}`);
  const dec = /^0*(\d{1,20})$/.exec(text);
  return dec ? BigInt(dec[1]) : null;
}

const LINE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) (.*)$|^Time unknown (.*)$/;
const HEAD = /^(?:connection=(\d+) )?(\.\.\.)?([A-Z][A-Za-z]*)(?: id=(\d+))?(?: (.*))?$/;

const isKeyChar = (c: number) => (c >= 97 && c <= 122) || c === 95; // a-z _

/** key=value pairs; values bare, "double-quoted" (with \ escapes), or (…)/[…] lists. Linear time. */
export function parseFields(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    let j = i;
    while (j < n && isKeyChar(text.charCodeAt(j))) j++;
    if (j === i || j >= n || text[j] !== '=') {
      // Not key=value (e.g. "(Success)" from the old era): skip the word.
      const sp = text.indexOf(' ', i);
      i = sp < 0 ? n : sp + 1;
      continue;
    }
    const key = text.slice(i, j);
    i = j + 1;
    let value: string;
    const c = text[i];
    if (c === '"') {
      i++;
      const parts: string[] = [];
      let from = i;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) {
          parts.push(text.slice(from, i));
          i++;
          from = i;
        }
        i++;
      }
      parts.push(text.slice(from, i));
      value = parts.join('');
      i++;
    } else if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      let depth = 0;
      const start = i;
      let inQuote = false;
      for (; i < n; i++) {
        const ch = text[i];
        if (ch === '"' && text[i - 1] !== '\\') inQuote = !inQuote;
        if (inQuote) continue;
        if (ch === c) depth++;
        else if (ch === close && --depth === 0) {
          i++;
          break;
        }
      }
      value = text.slice(start, i);
    } else {
      const sp = text.indexOf(' ', i);
      value = text.slice(i, sp < 0 ? n : sp);
      i = sp < 0 ? n : sp;
    }
    out[key] = value;
  }
  return out;
}

function errnoOf(name: string): Errno {
  // Old era mapped forms: "EROFS=>EPERM", "Other=>EINVAL".
  const mapped = name.includes('=>') ? name.split('=>')[1] : name;
  return (ERRNOS as readonly string[]).includes(mapped)
    ? (mapped as Errno)
    : mapped === 'EOPNOTSUPP'
      ? 'ENOTSUP'
      : 'EINVAL';
}

/** One line, or why it cannot be read. Never throws. */
export function readLine(line: string): ReadResult {
  try {
    return readLineUnguarded(line);
  } catch (err) {
    // Nothing above is expected to throw; a line that finds a way is still only one bad line.
    return { line: null, why: `unreadable (${(err as Error)?.message ?? err})` };
  }
}

export function parseLine(line: string): LogLine | null {
  return readLine(line).line;
}

const bad = (why: string, act?: string): ReadResult => ({ line: null, why, act });

function readLineUnguarded(line: string): ReadResult {
  const m = LINE.exec(line.trimEnd());
  if (!m) return bad('not an nbdkit log line (no timestamp)');
  let timeUs: number | null = null;
  let rest: string;
  if (m[1]) {
    if (+m[2] < 1 || +m[2] > 12 || +m[3] < 1 || +m[3] > 31 || +m[4] > 23 || +m[5] > 59 || +m[6] > 60)
      return bad('impossible timestamp');
    const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    timeUs = ms * 1000 + Number(m[7]);
  }
  rest = m[1] ? m[8] : m[9];

  let kind: LineKind = 'print';
  // ENTER lines end in " ..." — or "..." glued to the last value (1.16–1.22's fast=0...).
  if (rest.endsWith('...')) {
    kind = 'enter';
    rest = rest.slice(0, -3).trimEnd();
  }
  const h = HEAD.exec(rest);
  if (!h) return bad('no request name');
  if (h[2]) kind = 'leave';
  const connection = h[1] ? Number(h[1]) : null;
  const id = h[4] ? Number(h[4]) : null;
  if ((connection !== null && !Number.isSafeInteger(connection)) || (id !== null && !Number.isSafeInteger(id)))
    return bad('connection or id too large');
  const fields = parseFields(h[5] ?? '');

  let offset: bigint | null = null;
  if (fields.offset !== undefined) {
    offset = parseLogNumber(fields.offset);
    if (offset === null || offset > MAX_U64) return bad(`offset=${clip(fields.offset)} is not a 64-bit offset`, h[3]);
  }
  let count: number | null = null;
  if (fields.count !== undefined) {
    const c = parseLogNumber(fields.count);
    if (c === null || c > 0xffffffffn) return bad(`count=${clip(fields.count)} is not a 32-bit count`, h[3]);
    count = Number(c);
  }
  let size: bigint | null = null;
  if (h[3] === 'Connect' && fields.size !== undefined) {
    size = parseLogNumber(fields.size);
    if (size === null || size < 1n || size > MAX_DISK)
      return bad(`size=${clip(fields.size)} is not a disk size (1 to 2^63-1 bytes)`, h[3]);
  }

  let error: Errno | null = null;
  if (kind === 'leave') {
    const ret = fields.return;
    if (ret === undefined) return bad('a request end without return=');
    if (ret !== '0') {
      const old = /\((E[A-Z]+(?:=>E[A-Z]+)?|Other=>E[A-Z]+)\)/.exec(h[5] ?? '');
      error = errnoOf(fields.error ?? old?.[1] ?? 'EIO');
    }
  }
  return { line: { timeUs, connection, kind, act: h[3], id, fields, error, offset, count, size } };
}

/** A value quoted in a message, cut short. */
function clip(v: string): string {
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}

/** What a log says about its disk's size: the first Connect line's size, or why that line is unusable. */
export type SizeFinding = { size: bigint } | { error: string };

/** Look at one line while searching for the size; null to keep looking. */
export function sizeFinding(text: string, lineNo: number): SizeFinding | null {
  const r = readLine(text);
  if (r.line) return r.line.act === 'Connect' && r.line.size !== null ? { size: r.line.size } : null;
  return r.act === 'Connect' ? { error: `line ${lineNo}: ${r.why}` } : null;
}
