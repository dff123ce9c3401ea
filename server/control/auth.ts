// The control API's per-session token. Listening on loopback keeps other machines out, and the
// Host/Origin checks (origin.ts) keep web pages out, but any local process (another user's
// included) can still reach 127.0.0.1: the token is what makes a request come from someone
// Blockscope told. It is random per start, printed in the URL `serve --ui` shows, and required
// on /api/* and /ws — as `Authorization: Bearer TOKEN`, `X-Blockscope-Token: TOKEN` (scripts),
// or `?token=TOKEN` (the page, whose WebSocket cannot set headers).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** 192 random bits, URL-safe. */
export function createToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token a request carries (header first, then the query), or null. */
export function requestToken(headers: IncomingHttpHeaders, query: URLSearchParams): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const custom = headers['x-blockscope-token'];
  if (typeof custom === 'string' && custom) return custom.trim();
  return query.get('token');
}

/** Constant-time comparison (a local attacker may time the answers). */
export function tokenMatches(expected: string, given: string | null): boolean {
  if (given === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What a refused request is told: how to get in, never the token. */
export const TOKEN_REQUIRED =
  'missing or wrong token: use the URL blockscope printed (…?token=…), or send Authorization: Bearer TOKEN (see docs/api.md)';
