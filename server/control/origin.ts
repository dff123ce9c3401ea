// Who may talk to the control server. It listens on loopback, but a web page in the user's
// browser could still reach it: cross-site requests carry a foreign Origin (CSRF), and DNS
// rebinding carries a foreign Host. Both are refused. Scripts and tests send no Origin.

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The Host header names a loopback address (not a rebound domain). */
export function allowedHost(host: string | undefined): boolean {
  if (!host) return true;
  try {
    return LOOPBACK.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/** No Origin (not a browser), or the page's own origin on loopback. */
export function allowedOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true;
  try {
    const o = new URL(origin);
    return o.host === host && LOOPBACK.has(o.hostname);
  } catch {
    return false;
  }
}
