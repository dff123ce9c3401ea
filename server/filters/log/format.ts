// nbdkit's log file format (filters/log/log.c and output.c, nbdkit ≥ 1.24 as in 1.32):
//   TIMESTAMP SP [connection=N SP] ["..."]ACT [SP id=N] [SP ARGS] [SP "..." if ENTER] LF
// Pure functions, tested against golden lines taken from a real nbdkit 1.32 log.

import type { Extent } from '../../backends/backend.ts';
import { EXTENT_HOLE, EXTENT_ZERO } from '../../backends/backend.ts';
import type { Errno } from '../../shared/types.ts';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The last second formatted, `2026-11-23 04:32:45.`: lines come thousands per second. */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `2026-11-23 04:32:45.144445` (UTC, microseconds) from epoch microseconds. */
export function formatTimestamp(epochUs: number): string {
  const whole = Math.floor(epochUs);
  const second = Math.floor(whole / 1_000_000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    cachedPrefix =
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.`;
    cachedSecond = second;
  }
  return cachedPrefix + pad(whole - second * 1_000_000, 6);
}

/** Wall clock in epoch microseconds (performance's origin keeps sub-millisecond precision). */
export function nowEpochUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

const SAFE = /^[A-Za-z0-9.\-_=,:/]+$/;

/** nbdkit's shell_quote (common/utils/quote.c): bare when safe and non-empty, else "…" with escapes. */
export function shellQuote(s: string): string {
  if (s.length === 0) return '""';
  if (SAFE.test(s)) return s;
  return `"${s.replace(/[$`\\"]/g, (c) => `\\${c}`)}"`;
}

export const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** Assemble one line. `conn` null for server-wide actions (Ready, Preconnect, ListExports). */
export function line(
  epochUs: number,
  conn: number | null,
  kind: 'print' | 'enter' | 'leave',
  act: string,
  id: number | null,
  args: string,
): string {
  let s = formatTimestamp(epochUs);
  if (conn !== null) s += ` connection=${conn}`;
  s += kind === 'leave' ? ` ...${act}` : ` ${act}`;
  if (id !== null) s += ` id=${id}`;
  if (args) s += ` ${args}`;
  if (kind === 'enter') s += ' ...';
  return s + '\n';
}

/** LEAVE result of a simple call (output.c:leave_simple). */
export function result(errno: Errno | null): string {
  return errno === null ? 'return=0' : `return=-1 error=${errno}`;
}

/** Map anything thrown by a layer to the errno the log shows (unknown → EINVAL, as nbd_errno). */
export function errnoOf(err: unknown): Errno {
  const e = (err as { errno?: unknown })?.errno;
  return typeof e === 'string' && /^E[A-Z]+$/.test(e) ? (e as Errno) : 'EIO';
}

function extentType(type: number): string {
  const parts: string[] = [];
  if (type & EXTENT_HOLE) parts.push('hole');
  if (type & EXTENT_ZERO) parts.push('zero');
  return `"${parts.join(',')}"`;
}

/**
 * `extents=(0x0 0x10000 "" 0x10000 0x3ff0000 "hole,zero")`: offsets from the request start,
 * clipped to the request and merged like nbdkit's extents list; one entry with req_one.
 */
export function formatExtents(offset: bigint, count: number, extents: Extent[], reqOne: boolean): string {
  const end = offset + BigInt(count);
  const out: Array<{ off: bigint; len: bigint; type: number }> = [];
  let pos = offset;
  for (const e of extents) {
    if (pos >= end) break;
    let len = e.length;
    if (pos + len > end) len = end - pos;
    if (len <= 0n) continue;
    const last = out[out.length - 1];
    if (last && last.type === e.type) last.len += len;
    else out.push({ off: pos, len, type: e.type });
    pos += len;
  }
  const list = reqOne ? out.slice(0, 1) : out;
  return `extents=(${list.map((e) => `${hex(e.off)} ${hex(e.len)} ${extentType(e.type)}`).join(' ')})`;
}
