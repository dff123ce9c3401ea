// The request target of an HTTP request (or WebSocket upgrade), read without ever throwing.
// Only origin-form targets ("/path?query") are served: a target is always a path on this
// server, so "//[" is the path "//[" (not a scheme-relative URL with an invalid host, which
// is what made `new URL(req.url, base)` throw), and absolute or "*" targets are refused.

export interface RequestTarget {
  /** The path, still percent-encoded (routes match it as sent). */
  path: string;
  query: URLSearchParams;
}

/** The path and query of a request target, or null when it is not an origin-form path. */
export function parseTarget(raw: string | undefined): RequestTarget | null {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.length > 8192) return null;
  try {
    const url = new URL(`http://target.invalid${raw}`);
    return { path: url.pathname, query: url.searchParams };
  } catch {
    return null;
  }
}

/** decodeURIComponent that answers null instead of throwing on a malformed % escape. */
export function decodePath(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}
