// The control API over HTTP on 127.0.0.1 (REST routes for scripts, tests and monitoring),
// the WebSocket bridge for the UI (/ws), and, with `ui`, the built renderer as static files.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Engine } from '../engine.ts';
import { FramePump } from '../events/frame-pump.ts';
import type { PresetOptions } from '../presets.ts';
import { ControlApi } from './api.ts';
import { allowedHost, allowedOrigin } from './origin.ts';
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
}

export interface ControlServer {
  url: string;
  port: number;
  api: ControlApi;
  pump: FramePump;
  close(): Promise<void>;
}

/** The page's Content-Security-Policy: nothing but our own origin and its WebSocket. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const MAX_BODY = 64 * 1024;
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ValidationError(`request body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
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
async function route(
  api: ControlApi,
  method: string,
  path: string,
  req: IncomingMessage,
  query: URLSearchParams,
): Promise<{ call: string; params: unknown } | null> {
  let m: RegExpExecArray | null;
  if (method === 'GET' && path === '/api/disks') return { call: 'listDisks', params: {} };
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
  if (path === '/api/replay') return { call: 'replay', params: b };
  void api;
  return null;
}

function serveStatic(uiDir: string, path: string, res: ServerResponse): void {
  const index = join(uiDir, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The UI is not built: run `npm run build` first.\n');
    return;
  }
  const rel = normalize(decodeURIComponent(path === '/' ? '/index.html' : path)).replace(/^([/\\])+/, '');
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
    'cache-control': 'no-cache',
  });
  res.end(readFileSync(file));
}

export async function startControlServer(engine: Engine, o: ControlServerOptions = {}): Promise<ControlServer> {
  const host = o.host ?? '127.0.0.1';
  const uiDir = resolve(o.uiDir ?? join(import.meta.dirname, '..', '..', 'out', 'renderer'));
  const api = new ControlApi(engine, o.presetDefaults);
  const pump = new FramePump(engine);

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (!allowedHost(req.headers.host) || !allowedOrigin(req.headers.origin, req.headers.host)) {
      return sendJson(res, 403, { error: 'forbidden: requests must come from this machine (Host/Origin)' });
    }
    try {
      if (path.startsWith('/api/')) {
        const r = await route(api, req.method ?? 'GET', path, req, url.searchParams);
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
      const status =
        err instanceof ValidationError || err instanceof ParamError
          ? 400
          : /^no disk/.test((err as Error).message)
            ? 404
            : 409;
      sendJson(res, status, { error: (err as Error).message });
    }
  });
  const ws = attachWebSocket(server, engine, api, pump);

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
  return {
    url: `http://${host}:${port}/`,
    port,
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
