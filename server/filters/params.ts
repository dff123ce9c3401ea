// Parameter parsers shared by the filters, after nbdkit's (nbdkit_parse_*, parse_delay,
// parse_error_rate). Every message names the key and the raw value.

import type { Errno } from '../shared/types.ts';
import type { ParamSpec } from './filter.ts';

export class ParamError extends Error {}

/** The longest delay, as nbdkit's (milliseconds in an unsigned int): 49.7 days. Longer ones really wait (delay.ts chains timers). */
export const MAX_DELAY_MS = 0xffffffff;

/** `SECS` (whole seconds) or `NNms` → milliseconds (nbdkit's delay syntax: no fractions), 0 to MAX_DELAY_MS. */
export function parseDelay(key: string, value: string): number {
  const m = /^(\d{1,16})(ms)?$/.exec(value.trim());
  if (!m) throw new ParamError(`${key}: could not parse delay '${value}' (use SECS or NNms, e.g. 2 or 40ms)`);
  const ms = m[2] ? Number(m[1]) : Number(m[1]) * 1000;
  if (ms > MAX_DELAY_MS)
    throw new ParamError(
      `${key}: delay '${value}' is too long (at most ${MAX_DELAY_MS}ms or 4294967s, about 49.7 days)`,
    );
  return ms;
}

/** `N%` or a fraction `0..1` (nbdkit 1.32's error-rate syntax). */
export function parseRate(key: string, value: string): number {
  const v = value.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(v);
  const rate = pct ? Number(pct[1]) / 100 : /^\d+(?:\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(rate))
    throw new ParamError(`${key}: could not parse rate '${value}' (use N% or a number from 0 to 1)`);
  if (rate < 0 || rate > 1) throw new ParamError(`${key}: rate '${value}' is out of range (0..1 or 0%..100%)`);
  return rate;
}

export function parseBool(key: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ParamError(`${key}: could not parse boolean '${value}' (use true or false)`);
}

/** The errors the error filter may inject (the ones NBD can carry, as nbdkit restricts them). */
export const INJECTABLE_ERRORS: readonly Errno[] = ['EIO', 'EPERM', 'ENOMEM', 'EINVAL', 'ENOSPC', 'ESHUTDOWN'];

export function parseErrno(key: string, value: string): Errno {
  const v = value.trim().toUpperCase() as Errno;
  if (!INJECTABLE_ERRORS.includes(v)) {
    throw new ParamError(`${key}: unknown error '${value}' (use one of ${INJECTABLE_ERRORS.join(', ')})`);
  }
  return v;
}

/** A whole number from 0 to `max` (default 2^32-1). */
export function parseUint(key: string, value: string, max = 0xffffffff): number {
  const v = value.trim();
  if (!/^\d{1,16}$/.test(v) || Number(v) > max)
    throw new ParamError(`${key}: expected a whole number from 0 to ${max}, got '${value}'`);
  return Number(v);
}

/** Map every name and alias to its canonical ParamSpec name; unknown keys are an error. */
export function canonicalKey(filter: string, specs: readonly ParamSpec[], key: string): string {
  for (const s of specs) if (s.name === key || s.aliases?.includes(key)) return s.name;
  throw new ParamError(`filter ${filter}: unknown parameter '${key}'`);
}

/** Every key (and alias) a filter accepts, for routing bare key=value arguments. */
export function allKeys(specs: readonly ParamSpec[]): string[] {
  return specs.flatMap((s) => [s.name, ...(s.aliases ?? [])]);
}

/** The aligned two-column `key=<TYPE>  text` help block nbdkit prints. */
export function helpText(specs: readonly ParamSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length)) + 2;
  return specs.map((s) => `${s.name.padEnd(width)}${s.help}`).join('\n');
}
