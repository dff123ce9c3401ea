// `blockscope serve`: start N disks with the embedded NBD server, like a set of nbdkit servers:
//   blockscope serve --disks 5 --size 64M --filter=error --filter=log --filter=delay \
//       rdelay=40ms wdelay=40ms logfile=/tmp/log%d error-rate=100% error-file=/tmp/error%d
// Long because most of it is the help text and the option table (nbdkit-compatible filters,
// TLS, recording, structure, UI settings): the parsing itself is small and shared (args.ts).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BACKEND_PARAMS, BACKENDS, SIZED_BY_SOURCE, type BackendName } from '../backends/index.ts';
import { TLS_MODES, type TlsMode, type TlsSettings } from '../connection/tls.ts';
import { DATA_PATH_THREADS, type DataPathThread } from '../data-path/data-path.ts';
import type { DiskSpec, FilterSpec } from '../disk.ts';
import { Engine } from '../engine.ts';
import { FILTERS, filterParamNames } from '../filters/index.ts';
import { socketPathTooLong } from '../nbd-server.ts';
import { isPreset, presetSpecs, PRESETS, type PresetOptions } from '../presets.ts';
import {
  CliError,
  UI_OPTIONS,
  UI_OPTIONS_HELP,
  uiQuery,
  apiPortOption,
  recordOption,
  startRecording,
  type RecordChoice,
  intOption,
  one,
  parseArgs,
  sizeOption,
  untilSignal,
  type ParsedArgs,
} from './args.ts';
import { startCliControl } from './control.ts';

export const SERVE_HELP = `usage: blockscope serve [options] [--filter=NAME …] [key=value …] [IMAGE …]

Disks:
  --disks N            number of disks (1-16, default 1)
  --size SIZE          disk size: bytes or 64M, 1G, 7E … (default 64M)
  --backend NAME       memory (default); file (file=PATH, raw image, %d = disk number);
                       nbd (proxy: uri=nbd://HOST:PORT/EXPORT | nbd+unix:///EXPORT?socket=PATH
                       | nbds://… | socket=PATH | hostname=H port=P; export=, tls=on|require,
                       tls-psk=FILE, tls-username=, tls-certificates=DIR, tls-verify=false);
                       image (file=PATH [format=F]: served by qemu-nbd, then proxied)
  IMAGE …              disk images (qcow2, vmdk, vdi, vhdx, raw …, format detected): one disk
                       each, through qemu-nbd; read-only unless --writable
  --writable           let clients write to IMAGE files
  -r, --readonly       read-only exports
  --export NAME        export name (default "")
  --preset NAME        single | raid1 | raid5 | raid6 | raid10: disks with error+log+delay
  --delay MS           preset delay for reads and writes (default 40)
Listening (127.0.0.1 only unless told otherwise):
  --port P             first TCP port; disk i listens on P+i-1 (default 10809; 0 = any)
  --host ADDR          TCP address (default 127.0.0.1)
  --unix DIR           also a Unix socket per disk: DIR/disk%d.sock (mode 0600);
                       without --port, Unix sockets only
  --handshake-timeout S  drop clients still negotiating after S seconds (default 30; 0 = never)
  --no-sr              refuse structured replies (as nbdkit's testing switch)
  --data-path=auto|worker|inline  where NBD requests are served: a worker thread per disk, or
                       the thread that also serves the UI (one thread, e.g. for --cpu-prof);
                       auto (default): workers with 4 or more cores ($BLOCKSCOPE_DATA_PATH wins)
TLS (as nbdkit; URIs become nbds://):
  --tls=off|on|require   off (default); on: clients may STARTTLS; require: only TLS clients
  --tls-psk=FILE       pre-shared keys, psktool's username:hexkey lines (overrides certificates)
  --tls-certificates=DIR  ca-cert.pem, server-cert.pem, server-key.pem
  --tls-verify-peer    X.509: require a client certificate signed by ca-cert.pem
Filters (first = nearest the client, as nbdkit's --filter):
  --filter=NAME        log | error | delay; parameters as bare key=value
  --disk N:key=value   a parameter for disk N only
  key=value            %d in a value expands to the disk number
Control:
  --api PORT           HTTP control API on 127.0.0.1:PORT (0 = any)
  --ui                 also serve the UI (implies --api 0 unless given); prints its URL
                       (builds the UI first if it is missing)
  --run 'CMD'          captive mode: run CMD with $uri $nbd $port $unixsocket ($uri1..$uriN),
                       then stop and exit with its status
Recording (the time machine; on by default, into a temporary file):
  --record FILE        record every request into FILE (.bsrec; kept at exit)
  --record-limit SIZE  size limit of the recording: a ring, the oldest data is dropped (default 256M; 0 = none)
  --no-record          do not record
Structure:
  --no-structure       do not decode what the blocks are (partitions, filesystems, RAID roles)

UI (in the printed URL; the page remembers them):
${UI_OPTIONS_HELP}

Filter parameters:
${Object.entries(FILTERS)
  .map(([name, f]) => `  ${name}: ${f.params.map((p) => [p.name, ...(p.aliases ?? [])].join('|')).join(', ')}`)
  .join('\n')}
`;

const SPEC = {
  values: [
    '--disks',
    '--size',
    '--backend',
    '--export',
    '--port',
    '--host',
    '--unix',
    '--filter',
    '--disk',
    '--api',
    '--run',
    '--preset',
    '--delay',
    '--record',
    '--record-limit',
    '--handshake-timeout',
    '--tls',
    '--tls-psk',
    '--tls-certificates',
    '--data-path',
    ...UI_OPTIONS.values,
  ],
  flags: [
    '--readonly',
    '--writable',
    '--ui',
    '--help',
    '--no-record',
    '--no-structure',
    '--tls-verify-peer',
    '--no-sr',
    ...UI_OPTIONS.flags,
  ],
  aliases: { '-r': '--readonly', '-h': '--help' },
  repeat: ['--filter', '--disk'],
};

function dataPathOption(args: ParsedArgs): DataPathThread | undefined {
  const v = one(args, '--data-path') ?? 'auto';
  if (v === 'auto') return undefined;
  if (!(DATA_PATH_THREADS as readonly string[]).includes(v))
    throw new CliError(`--data-path: '${v}' is not one of auto, ${DATA_PATH_THREADS.join(', ')}`);
  return v as DataPathThread;
}

const expand = (value: string, disk: number) => value.replace(/%d/g, String(disk));

interface ServeOptions {
  specs: DiskSpec[];
  /** What presets applied later from the UI use. */
  presetDefaults: Partial<PresetOptions>;
  api: number | null;
  ui: boolean;
  run: string | null;
  preset: string | null;
  record: RecordChoice;
  /** Decode what the blocks are (off with --no-structure). */
  structure: boolean;
  /** UI settings for the printed URL (`?present=1`). */
  query: string;
}

/** --tls and its companions, checked for consistency; the files are read when the disks start. */
function tlsOption(args: ParsedArgs): TlsSettings | undefined {
  const mode = one(args, '--tls') ?? 'off';
  if (!(TLS_MODES as readonly string[]).includes(mode))
    throw new CliError(`--tls: expected off, on or require, got '${mode}'`);
  const pskFile = one(args, '--tls-psk');
  const certificatesDir = one(args, '--tls-certificates');
  const verifyPeer = args.flags.has('--tls-verify-peer');
  if (mode === 'off') {
    if (pskFile || certificatesDir || verifyPeer)
      throw new CliError('--tls-psk, --tls-certificates and --tls-verify-peer need --tls=on or --tls=require');
    return undefined;
  }
  if (!pskFile && !certificatesDir) throw new CliError(`--tls=${mode} needs --tls-psk=FILE or --tls-certificates=DIR`);
  return {
    mode: mode as TlsMode,
    pskFile: pskFile ? resolve(pskFile) : undefined,
    certificatesDir: certificatesDir ? resolve(certificatesDir) : undefined,
    verifyPeer,
  };
}

/** Route every key=value to the filter (or backend) that declares it. */
function routeParams(args: ParsedArgs, params: string[], filters: string[], backend: string, disks: number) {
  const perDisk = Array.from({ length: disks }, () => ({
    filters: filters.map((name) => ({ name, params: {} as Record<string, string> })),
    backend: {} as Record<string, string>,
  }));
  const owner = (key: string): { kind: 'filter'; index: number } | { kind: 'backend' } => {
    const index = filters.findIndex((f) => filterParamNames(f).includes(key));
    if (index >= 0) return { kind: 'filter', index };
    if ((BACKEND_PARAMS[backend as BackendName] ?? []).includes(key)) return { kind: 'backend' };
    const hint = Object.keys(FILTERS).find((f) => filterParamNames(f).includes(key));
    throw new CliError(
      `parameter '${key}' belongs to no filter or backend in use${hint ? ` (add --filter=${hint})` : ''}`,
    );
  };
  const put = (disk: number, key: string, value: string) => {
    const o = owner(key);
    const target = o.kind === 'filter' ? perDisk[disk - 1].filters[o.index].params : perDisk[disk - 1].backend;
    target[key] = expand(value, disk);
  };
  for (const p of params) {
    const eq = p.indexOf('=');
    for (let d = 1; d <= disks; d++) put(d, p.slice(0, eq), p.slice(eq + 1));
  }
  for (const item of args.values.get('--disk') ?? []) {
    const m = /^(\d+):([^=]+)=(.*)$/.exec(item);
    if (!m) throw new CliError(`--disk: expected N:key=value, got '${item}'`);
    const d = Number(m[1]);
    if (d < 1 || d > disks) throw new CliError(`--disk: disk ${d} does not exist (disks 1..${disks})`);
    put(d, m[2], m[3]);
  }
  return perDisk;
}

/** Before anything is created: the kernel would bind a longer path cut short, somewhere else. */
function refuseLongSocketPaths(specs: DiskSpec[]): void {
  for (const s of specs) {
    const tooLong = s.unixSocket ? socketPathTooLong(s.unixSocket) : null;
    if (tooLong) throw new CliError(`--unix: ${tooLong}`);
  }
}

/**
 * The --unix directory: created (0700) when missing, but only its last level, since a typo in a
 * parent would otherwise leave a tree of directories behind. True when we created it (and so
 * remove it at exit).
 */
function makeUnixDir(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return false;
    if (code === 'EEXIST') throw new CliError(`--unix: ${dir} is not a directory`);
    if (code === 'ENOENT') throw new CliError(`--unix: ${dirname(dir)}: no such directory`);
    throw new CliError(`--unix: ${(err as Error).message}`);
  }
}

export function parseServeArgs(argv: string[]): ServeOptions | 'help' {
  const args = parseArgs(argv, SPEC);
  if (args.flags.has('--help')) return 'help';
  const record = recordOption(args);
  // Bare words are image files; key=value words are parameters.
  const params = args.positional.filter((p) => p.indexOf('=') > 0);
  const images = args.positional.filter((p) => p.indexOf('=') <= 0);
  for (const img of images) {
    if (!existsSync(img))
      throw new CliError(`unexpected argument '${img}' (parameters are key=value; images must exist)`);
  }
  let backend = one(args, '--backend') ?? (images.length ? 'image' : 'memory');
  if (!(BACKENDS as readonly string[]).includes(backend))
    throw new CliError(`--backend: unknown backend '${backend}' (${BACKENDS.join(', ')})`);
  if (images.length && backend !== 'image')
    throw new CliError(`image files are served by the image backend, not --backend ${backend}`);
  const writable = args.flags.has('--writable');
  if (writable && args.flags.has('--readonly')) throw new CliError('--writable and --readonly contradict each other');
  if (writable && backend !== 'image')
    throw new CliError('--writable is for image files (other disks are writable unless -r)');
  const sizedBySource = SIZED_BY_SOURCE.includes(backend as BackendName);
  if (sizedBySource && args.values.has('--size'))
    throw new CliError(`--size: a ${backend} disk has the size of what it serves`);
  const size = sizedBySource ? 0n : (sizeOption(args, '--size') ?? 64n << 20n);
  if (size === 0n && backend === 'memory') throw new CliError('--size: a memory disk needs a size above 0');
  backend = backend as BackendName;
  const host = one(args, '--host') ?? '127.0.0.1';
  const unixDir = one(args, '--unix') ?? null;
  const portGiven = args.values.has('--port');
  let port: number | null = intOption(args, '--port', 0, 65535) ?? (unixDir ? null : 10809);
  if (!portGiven && unixDir) port = null;
  const ui = args.flags.has('--ui');
  const api = apiPortOption(args);
  const run = one(args, '--run') ?? null;
  const preset = one(args, '--preset') ?? null;
  const tls = tlsOption(args);
  const thread = dataPathOption(args);
  const handshakeTimeout = intOption(args, '--handshake-timeout', 0, 86400);
  const connection = {
    ...(tls ? { tls } : {}),
    ...(handshakeTimeout !== undefined ? { handshakeTimeoutMs: handshakeTimeout * 1000 } : {}),
    ...(args.flags.has('--no-sr') ? { noStructuredReplies: true } : {}),
    ...(thread ? { thread } : {}),
  };
  const query = uiQuery(args);

  if (preset) {
    if (!isPreset(preset) || preset === 'custom') {
      throw new CliError(
        `--preset: unknown preset '${preset}' (${Object.keys(PRESETS)
          .filter((p) => p !== 'custom')
          .join(', ')})`,
      );
    }
    if (args.values.has('--filter') || args.positional.length)
      throw new CliError('--preset sets the filters itself; drop --filter and key=value');
    const delayMs = intOption(args, '--delay', 0, 600000) ?? 40;
    const logDir = mkdtempSync(join(tmpdir(), 'blockscope-logs-'));
    const presetDefaults = {
      size,
      delayMs,
      logDir,
      host,
      port,
      unixDir: unixDir ? resolve(unixDir) : null,
      ...connection,
    };
    const specs = presetSpecs(preset, presetDefaults);
    refuseLongSocketPaths(specs);
    return { specs, api, ui, run, preset, presetDefaults, query, record, structure: !args.flags.has('--no-structure') };
  }

  if (images.length > 16) throw new CliError('at most 16 images (one disk each)');
  const disks = intOption(args, '--disks', 1, 16) ?? (images.length || 1);
  if (images.length && disks !== images.length)
    throw new CliError(`--disks ${disks} but ${images.length} image(s): one disk per image`);
  const filterNames = args.values.get('--filter') ?? [];
  for (const f of filterNames)
    if (!FILTERS[f]) throw new CliError(`--filter: unknown filter '${f}' (${Object.keys(FILTERS).join(', ')})`);
  const routed = routeParams(args, params, filterNames, backend, disks);
  const specs: DiskSpec[] = routed.map((r, i) => {
    const d = i + 1;
    if (images.length) r.backend.file = resolve(images[i]);
    if ((backend === 'file' || backend === 'image') && !r.backend.file)
      throw new CliError(`--backend ${backend} needs file=PATH (use %d for one image per disk)`);
    if (backend === 'nbd' && !r.backend.uri && !r.backend.socket && !r.backend.hostname)
      throw new CliError('--backend nbd needs uri=NBD_URI (or socket=PATH, or hostname=HOST port=PORT)');
    return {
      number: d,
      size,
      backend: backend as BackendName,
      backendParams: r.backend,
      readonly: args.flags.has('--readonly') || (backend === 'image' && !writable),
      exportName: one(args, '--export') ?? '',
      filters: r.filters as FilterSpec[],
      tcp: port === null ? undefined : { host, port: port === 0 ? 0 : port + i },
      unixSocket: unixDir ? resolve(unixDir, `disk${d}.sock`) : undefined,
      ...connection,
    };
  });
  if (port !== null && port !== 0 && port + disks - 1 > 65535)
    throw new CliError('--port: not enough ports above it for every disk');
  refuseLongSocketPaths(specs);
  const presetDefaults = { size, host, port, unixDir: unixDir ? resolve(unixDir) : null, ...connection };
  return { specs, api, ui, run, preset, presetDefaults, query, record, structure: !args.flags.has('--no-structure') };
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseServeArgs(argv);
  if (opts === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const signalled = untilSignal();
  const unixDir = opts.presetDefaults.unixDir ?? null;
  const madeUnixDir = unixDir !== null && makeUnixDir(unixDir);
  const removeUnixDir = () => {
    try {
      if (madeUnixDir && unixDir) rmdirSync(unixDir);
    } catch {
      // not empty: what someone else put there is not ours to remove
    }
  };
  const engine = new Engine({ structure: opts.structure });
  try {
    await engine.serve(opts.specs);
  } catch (err) {
    removeUnixDir();
    throw new CliError((err as Error).message);
  }
  engine.preset = opts.preset;
  for (const d of engine.disks) console.log(`disk${d.number} ${d.path!.uris.join(' ')}`);

  const recording = await startRecording(engine, opts.record, 'serve');
  const control = await startCliControl(engine, {
    port: opts.api,
    ui: opts.ui,
    presetDefaults: opts.presetDefaults,
    query: opts.query,
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await control?.close();
    await recording?.close();
    await engine.closeAll();
    removeUnixDir();
  };

  if (opts.run) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    engine.disks.forEach((d, i) => {
      const uris = d.path!.uris;
      env[`uri${i + 1}`] = uris[0];
      if (i === 0) {
        env.uri = uris[0];
        env.nbd = uris[0];
        env.port = d.port?.toString() ?? '';
        env.unixsocket = d.spec?.unixSocket ?? '';
      }
    });
    const code = await new Promise<number>((resolveCode) => {
      const child = spawn('sh', ['-c', opts.run!], { stdio: 'inherit', env });
      child.on('exit', (c, sig) => resolveCode(c ?? (sig ? 128 : 1)));
      child.on('error', () => resolveCode(127));
      // Stopped while the command runs: stop it too, as nbdkit --run does.
      void signalled.then(() => child.kill('SIGTERM'));
    });
    await stop();
    return code;
  }

  await signalled;
  await stop();
  return 0;
}
