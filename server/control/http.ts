// The control API over HTTP on 127.0.0.1 (REST routes for scripts, tests and monitoring),
// the WebSocket bridge for the UI (/ws), and, with `ui`, the built renderer as static files.

import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Engine } from '../engine.ts';
import { FramePump } from '../events/frame-pump.ts';
import type { PresetOptions } from '../presets.ts';
import { ControlApi } from './api.ts';
import { TOKEN_REQUIRED, createToken, requestToken, tokenMatches } from './auth.ts';
import { allowedHost, allowedOrigin } from './origin.ts';
import { decodePath, parseTarget } from './target.ts';
import { ParamError } from '../filters/params.ts';
import { structureRoute } from './structure-routes.ts';
import { ValidationError } from './validate.ts';
import { attachWebSocket } from './websocket.ts';

export interface ControlServerOptions {
  host?: string;
  port?: number;
  ui?: boolean;
  uiDir?: string;
  presetDefaults?: Partial<PresetOptions>;
  /** The session token (default: a fresh random one). */
  token?: string;
}

export interface ControlServer {
  /** The authorised URL of the UI and API: http://127.0.0.1:PORT/?token=TOKEN (what `serve --ui` prints). */
  url: string;
  /** http://127.0.0.1:PORT, no token. */
  origin: string;
  port: number;
  /** The session token /api/* and /ws require. */
  token: string;
  /** An authorised URL for a path on this server: urlFor('/api/disks') → http://…/api/disks?token=… */
  urlFor(path: string): string;
  /** Headers that authorise a request (for fetch, curl -H): { authorization: 'Bearer …' }. */
  headers: Record<string, string>;
  api: ControlApi;
  pump: FramePump;
  close(): Promise<void>;
}

/** The page's Content-Security-Policy: nothing but our own origin and its WebSocket. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const MAX_BODY = 64 * 1024;
/** An oversize body is read and discarded up to this much (so the 400 arrives instead of a reset), then the connection is cut. */
const MAX_DRAIN = 16 * 1024 * 1024;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

const tooLarge = () => new ValidationError(`request body larger than ${MAX_BODY} bytes`);

/**
 * The JSON body, at most MAX_BODY bytes. A larger body is drained (up to MAX_DRAIN) before the
 * 400 goes out: answering while the client still sends would make the close a reset.
 */
function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_DRAIN) {
        reject(tooLarge());
        req.destroy();
      } else if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return reject(tooLarge());
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolveBody({});
      try {
        resolveBody(JSON.parse(text));
      } catch {
        reject(new ValidationError('request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** Map a REST route to a control call; null when no route matches. */
/** Query parameters as numbers where they look like numbers (?disk=1&bins=200). */
function numbers(q: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of q) out[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  return out;
}

async function route(
  api: ControlApi,
  method: string,
  path: string,
  req: IncomingMessage,
  query: URLSearchParams,
): Promise<{ call: string; params: unknown } | null> {
  let m: RegExpExecArray | null;
  if (method === 'GET' && path === '/api/disks') return { call: 'listDisks', params: {} };
  if (method === 'GET' && path === '/api/health') return { call: 'health', params: {} };
  if (method === 'GET' && (m = /^\/api\/disks\/(\d+)$/.exec(path)))
    return { call: 'disk', params: { disk: Number(m[1]) } };
  if (method === 'GET' && (m = /^\/api\/disks\/(\d+)\/cells\/(\d+)$/.exec(path))) {
    const count = query.get('count');
    return {
      call: 'inspectCell',
      params: { disk: Number(m[1]), cell: Number(m[2]), ...(count !== null ? { count: Number(count) } : {}) },
    };
  }
  if (method === 'GET' && path === '/api/presets/commands') return { call: 'presetCommands', params: {} };
  if (method === 'GET' && path === '/api/timeline') return { call: 'timeline', params: { action: 'status' } };
  if (method === 'GET' && path === '/api/timeline/overview')
    return { call: 'timelineOverview', params: numbers(query) };
  if (method === 'GET' && path === '/api/timeline/series') return { call: 'timelineSeries', params: numbers(query) };
  const structure = structureRoute(method, path, query);
  if (structure) return structure;
  if (method !== 'POST') return null;
  const body = await readBody(req);
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if ((m = /^\/api\/disks\/(\d+)\/errors$/.exec(path)))
    return { call: 'setErrors', params: { disk: Number(m[1]), on: b.on } };
  if ((m = /^\/api\/disks\/(\d+)\/filters\/([a-z]+)$/.exec(path))) {
    return { call: 'setFilterParams', params: { disk: Number(m[1]), filter: m[2], params: b } };
  }
  if ((m = /^\/api\/disks\/(\d+)\/clear$/.exec(path))) return { call: 'clearPicture', params: { disk: Number(m[1]) } };
  if ((m = /^\/api\/disks\/(\d+)\/reset$/.exec(path))) return { call: 'resetDisk', params: { disk: Number(m[1]) } };
  if (path === '/api/preset') return { call: 'applyPreset', params: b };
  if (path === '/api/hold') return { call: 'setHold', params: b };
  if (path === '/api/demo') return { call: 'demo', params: b };
  if (path === '/api/replay') return { call: 'replay', params: b };
  if (path === '/api/timeline') return { call: 'timeline', params: b };
  if (path === '/api/recording/save') return { call: 'saveRecording', params: b };
  void api;
  return null;
}

function serveStatic(uiDir: string, path: string, res: ServerResponse): void {
  const decoded = decodePath(path === '/' ? '/index.html' : path);
  if (decoded === null) throw new ValidationError('malformed % escape in the path');
  const index = join(uiDir, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`The UI is not built (${index} is missing): run \`npm run build\` in Blockscope's folder, then reload.\n`);
    return;
  }
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  const file = resolve(uiDir, rel);
  if (!file.startsWith(resolve(uiDir) + sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    // The page's URL carries the session token: never hand it to another site.
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  res.end(readFileSync(file));
}

/** GET /api/recording: the recording so far as a file download (a plain, unwrapped copy). */
async function downloadRecording(engine: Engine, res: ServerResponse): Promise<void> {
  await engine.timelineSettled;
  const t = engine.timeline;
  if (!t) return sendJson(res, 409, { error: 'no recording: the time machine is off' });
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-save-'));
  try {
    const file = join(dir, 'session.bsrec');
    await t.save(file);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="blockscope-${stamp}.bsrec"`,
      'content-length': statSync(file).size,
      'cache-control': 'no-store',
    });
    await pipeline(createReadStream(file), res);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The HTTP status for an error thrown while answering: bad input 400, unknown disk 404, refused 409. */
function statusOf(err: unknown): number {
  if (err instanceof ValidationError || err instanceof ParamError) return 400;
  if (err instanceof Error && /^no disk/.test(err.message)) return 404;
  return err instanceof Error ? 409 : 400;
}

export async function startControlServer(engine: Engine, o: ControlServerOptions = {}): Promise<ControlServer> {
  const host = o.host ?? '127.0.0.1';
  const uiDir = resolve(o.uiDir ?? join(import.meta.dirname, '..', '..', 'out', 'renderer'));
  const token = o.token ?? createToken();
  const api = new ControlApi(engine, o.presetDefaults);
  const pump = new FramePump(engine);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHost(req.headers.host) || !allowedOrigin(req.headers.origin, req.headers.host)) {
      return sendJson(res, 403, { error: 'forbidden: requests must come from this machine (Host/Origin)' });
    }
    const target = parseTarget(req.url);
    if (!target) return sendJson(res, 400, { error: 'bad request target: expected a path starting with /' });
    const { path, query } = target;
    if (decodePath(path) === null) return sendJson(res, 400, { error: 'malformed % escape in the path' });
    try {
      if (path.startsWith('/api/')) {
        if (!tokenMatches(token, requestToken(req.headers, query))) {
          return sendJson(res, 401, { error: TOKEN_REQUIRED }, { 'www-authenticate': 'Bearer realm="blockscope"' });
        }
        if (req.method === 'GET' && path === '/api/recording') return await downloadRecording(engine, res);
        const r = await route(api, req.method ?? 'GET', path, req, query);
        if (!r) return sendJson(res, 404, { error: `no route ${req.method} ${path} (see docs/api.md)` });
        if (r.call === 'disk') {
          const p = r.params as { disk: number };
          const all = (await api.call('listDisks', {})) as Array<{ number: number }>;
          const d = all.find((x) => x.number === p.disk);
          return d ? sendJson(res, 200, d) : sendJson(res, 404, { error: `no disk ${p.disk}` });
        }
        return sendJson(res, 200, await api.call(r.call, r.params));
      }
      if (o.ui && (req.method === 'GET' || req.method === 'HEAD')) return serveStatic(uiDir, path, res);
      sendJson(res, 404, { error: 'not found' });
    } catch (err) {
      sendJson(res, statusOf(err), { error: (err as Error)?.message ?? String(err) });
    }
  }

  /** Last resort: whatever went wrong with one request, only that request fails. */
  function guard(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    console.error(`blockscope: control request failed: ${(err as Error)?.message ?? err}`);
    if (!res.headersSent) {
      try {
        return sendJson(res, 400, { error: 'bad request' }, { connection: 'close' });
      } catch {
        // fall through: cut the connection
      }
    }
    res.destroy();
    req.destroy();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => guard(req, res, err));
  });
  // A client that announces a body over the limit (Expect: 100-continue) is told before it sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length']) > MAX_BODY) {
      return sendJson(res, 400, { error: tooLarge().message }, { connection: 'close' });
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  // Slow or idle peers do not hold connections for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 256;
  const ws = attachWebSocket(server, engine, api, pump, token);

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  // After listen, errors (EMFILE on accept…) are reported, never fatal.
  server.on('error', (err) => console.error(`blockscope: control server: ${err.message}`));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
  const origin = `http://${host}:${port}`;
  const urlFor = (path: string) => {
    const u = new URL(path, origin);
    u.searchParams.set('token', token);
    return u.toString();
  };
  return {
    url: urlFor('/'),
    origin,
    port,
    token,
    urlFor,
    headers: { authorization: `Bearer ${token}` },
    api,
    pump,
    async close() {
      ws.close();
      pump.close();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
