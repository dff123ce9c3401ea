// Parser for nbdkit log filter lines, both eras:
//   ≥ 1.24: `… connection=1 ...Read id=2 return=-1 error=EIO`
//   1.8–1.22: `… connection=1 ...Read id=2 return=-1 (EIO)`, `return=0 (Success)`,
//             `(EROFS=>EPERM)`, and 1.16–1.22's `fast=0...` (no space before the ellipsis).
// Lines it cannot read are reported as null; the caller counts them. Never throws.

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
}

const LINE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) (.*)$|^Time unknown (.*)$/;
const HEAD = /^(?:connection=(\d+) )?(\.\.\.)?([A-Z][A-Za-z]*)(?: id=(\d+))?(?: (.*))?$/;

/** key=value pairs; values bare, "double-quoted" (with \ escapes), or (…)/[…] lists. */
export function parseFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    const eq = text.indexOf('=', i);
    if (eq < 0) break;
    const key = text.slice(i, eq);
    if (!/^[a-z_]+$/.test(key)) {
      // Something like "(Success)" from the old era: skip the word.
      const sp = text.indexOf(' ', i);
      i = sp < 0 ? n : sp + 1;
      continue;
    }
    i = eq + 1;
    let value = '';
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        value += text[i++];
      }
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

export function parseLine(line: string): LogLine | null {
  const m = LINE.exec(line.trimEnd());
  if (!m) return null;
  let timeUs: number | null = null;
  let rest: string;
  if (m[1]) {
    if (+m[2] < 1 || +m[2] > 12 || +m[3] < 1 || +m[3] > 31 || +m[4] > 23 || +m[5] > 59 || +m[6] > 60) return null;
    const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    timeUs = ms * 1000 + Number(m[7]);
    rest = m[8];
  } else rest = m[9];

  let kind: LineKind = 'print';
  // ENTER lines end in " ..." — or "..." glued to the last value (1.16–1.22's fast=0...).
  if (rest.endsWith('...')) {
    kind = 'enter';
    rest = rest.slice(0, -3).trimEnd();
  }
  const h = HEAD.exec(rest);
  if (!h) return null;
  if (h[2]) kind = 'leave';
  const fields = parseFields(h[5] ?? '');
  let error: Errno | null = null;
  if (kind === 'leave') {
    const ret = fields.return;
    if (ret === undefined) return null;
    if (ret !== '0') {
      const old = /\((E[A-Z]+(?:=>E[A-Z]+)?|Other=>E[A-Z]+)\)/.exec(h[5] ?? '');
      error = errnoOf(fields.error ?? old?.[1] ?? 'EIO');
    }
  }
  return {
    timeUs,
    connection: h[1] ? Number(h[1]) : null,
    kind,
    act: h[3],
    id: h[4] ? Number(h[4]) : null,
    fields,
    error,
  };
}
