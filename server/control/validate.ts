// Validation of every control message, whoever sends it (HTTP, WebSocket, Electron IPC).
// Each check throws a ValidationError naming the field and what was expected.

export class ValidationError extends Error {}

export function obj(v: unknown, what = 'params'): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

export function int(p: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(`${key} must be an integer from ${min} to ${max}`);
  }
  return v;
}

export function optInt(p: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  return p[key] === undefined ? undefined : int(p, key, min, max);
}

export function bool(p: Record<string, unknown>, key: string): boolean {
  if (typeof p[key] !== 'boolean') throw new ValidationError(`${key} must be true or false`);
  return p[key] as boolean;
}

export function str(p: Record<string, unknown>, key: string, maxLen = 4096): string {
  const v = p[key];
  if (typeof v !== 'string' || v.length > maxLen)
    throw new ValidationError(`${key} must be a string (at most ${maxLen} characters)`);
  return v;
}

export function optStr(p: Record<string, unknown>, key: string, maxLen = 4096): string | undefined {
  return p[key] === undefined ? undefined : str(p, key, maxLen);
}

/** A flat map of string → string (filter parameters), at most 64 entries. */
export function stringMap(p: Record<string, unknown>, key: string): Record<string, string> {
  const m = obj(p[key], key);
  const entries = Object.entries(m);
  if (entries.length > 64) throw new ValidationError(`${key} has too many entries`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ValidationError(`${key}.${k} must be a string`);
    }
    if (k.length > 64) throw new ValidationError(`${key}: parameter name too long`);
    out[k] = String(v);
  }
  return out;
}

export function num(p: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new ValidationError(`${key} must be a number from ${min} to ${max}`);
  return v;
}
