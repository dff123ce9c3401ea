// Where an upstream NBD server is: parsed from an NBD URI (the NBD URI spec, as libnbd and
// qemu read it) or from nbdkit nbd-plugin style parameters (socket=, hostname=, port=,
// export=, tls=…). Pure: no I/O here.
//
//   nbd://HOST[:PORT][/EXPORT]              TCP, default port 10809
//   nbd+unix:///EXPORT?socket=PATH          Unix socket
//   nbds://…, nbds+unix://…                 the same, TLS required
//   query keys: socket, tls-psk-file, tls-certificates, tls-username, tls-verify

export type TlsMode = 'off' | 'on' | 'require';

export interface UpstreamTarget {
  transport: 'tcp' | 'unix';
  host: string;
  port: number;
  socketPath: string;
  exportName: string;
  /** off: never STARTTLS; on: try it, fall back to plaintext if refused; require: fail without TLS. */
  tls: TlsMode;
  /** psktool key file (`user:hexkey` lines). */
  tlsPsk: string | null;
  /** Identity to look up in the PSK file (default: the first one, like libnbd's default user). */
  tlsUsername: string | null;
  /** Directory with ca-cert.pem [, client-cert.pem, client-key.pem] (qemu/nbdkit layout). */
  tlsCertificates: string | null;
  /** Verify the server certificate (chain, and host name on TCP). */
  tlsVerify: boolean;
}

export class TargetError extends Error {}

const DEFAULT_PORT = 10809;

function bool(key: string, v: string): boolean {
  if (/^(1|true|on|yes)$/i.test(v)) return true;
  if (/^(0|false|off|no)$/i.test(v)) return false;
  throw new TargetError(`${key}: expected true or false, got '${v}'`);
}

function tlsMode(v: string): TlsMode {
  if (/^(require|required|force)$/i.test(v)) return 'require';
  if (/^(1|true|on|yes)$/i.test(v)) return 'on';
  if (/^(0|false|off|no)$/i.test(v)) return 'off';
  throw new TargetError(`tls: expected off, on or require, got '${v}'`);
}

/** Parse an NBD URI. */
export function parseNbdUri(uri: string): UpstreamTarget {
  const m = /^(nbds?)(\+unix|\+tcp)?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(uri);
  if (!m)
    throw new TargetError(
      `not an NBD URI: '${uri}' (expected nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH)`,
    );
  const [, scheme, kind, authority, path, query] = m;
  const target: UpstreamTarget = {
    transport: kind === '+unix' ? 'unix' : 'tcp',
    host: '',
    port: DEFAULT_PORT,
    socketPath: '',
    exportName: path ? decodeURIComponent(path.slice(1)) : '',
    tls: scheme === 'nbds' ? 'require' : 'off',
    tlsPsk: null,
    tlsUsername: null,
    tlsCertificates: null,
    tlsVerify: true,
  };
  if (target.transport === 'tcp') {
    const hp = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(authority);
    if (!hp) throw new TargetError(`${uri}: missing or bad host`);
    target.host = hp[1] ?? hp[2];
    if (hp[3] !== undefined) {
      const port = Number(hp[3]);
      if (port < 1 || port > 65535) throw new TargetError(`${uri}: port out of range`);
      target.port = port;
    }
  } else if (authority) {
    throw new TargetError(`${uri}: a Unix-socket URI has no host (nbd+unix:///EXPORT?socket=PATH)`);
  }
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    switch (key) {
      case 'socket':
        target.socketPath = value;
        break;
      case 'tls-psk-file':
        target.tlsPsk = value;
        break;
      case 'tls-certificates':
        target.tlsCertificates = value;
        break;
      case 'tls-username':
        target.tlsUsername = value;
        break;
      case 'tls-verify':
      case 'tls-verify-peer':
        target.tlsVerify = bool(key, value);
        break;
      default:
        throw new TargetError(`${uri}: unknown query parameter '${key}'`);
    }
  }
  if (target.transport === 'unix' && !target.socketPath) throw new TargetError(`${uri}: needs ?socket=PATH`);
  return target;
}

/** nbd backend parameters, named as nbdkit's nbd plugin names them. */
export const TARGET_PARAMS = [
  'uri',
  'socket',
  'hostname',
  'port',
  'export',
  'tls',
  'tls-psk',
  'tls-username',
  'tls-certificates',
  'tls-verify',
] as const;

/** Build a target from key=value parameters: uri= or socket= or hostname=[port=], then overrides. */
export function targetFromParams(p: Record<string, string>): UpstreamTarget {
  const where = ['uri', 'socket', 'hostname'].filter((k) => p[k] !== undefined);
  if (where.length !== 1)
    throw new TargetError('nbd backend: give exactly one of uri=NBD_URI, socket=PATH or hostname=HOST [port=N]');
  let t: UpstreamTarget;
  if (p.uri !== undefined) t = parseNbdUri(p.uri);
  else if (p.socket !== undefined) t = parseNbdUri(`nbd+unix:///?socket=${encodeURIComponent(p.socket)}`);
  else {
    const host = p.hostname.includes(':') ? `[${p.hostname}]` : p.hostname;
    t = parseNbdUri(`nbd://${host}${p.port !== undefined ? `:${p.port}` : ''}`);
  }
  if (p.port !== undefined && p.hostname === undefined) throw new TargetError('nbd backend: port= goes with hostname=');
  if (p.export !== undefined) t.exportName = p.export;
  if (p.tls !== undefined) t.tls = tlsMode(p.tls);
  if (p['tls-psk'] !== undefined) t.tlsPsk = p['tls-psk'];
  if (p['tls-username'] !== undefined) t.tlsUsername = p['tls-username'];
  if (p['tls-certificates'] !== undefined) t.tlsCertificates = p['tls-certificates'];
  if (p['tls-verify'] !== undefined) t.tlsVerify = bool('tls-verify', p['tls-verify']);
  // Credentials without an explicit mode mean TLS is wanted (as with nbds://).
  if ((t.tlsPsk || t.tlsCertificates) && p.tls === undefined && t.tls === 'off') t.tls = 'require';
  if (t.tls !== 'off' && !t.tlsPsk && !t.tlsCertificates)
    throw new TargetError('nbd backend: TLS needs tls-psk=FILE or tls-certificates=DIR');
  return t;
}

/** The target as an NBD URI for display (no credentials). */
export function describeTarget(t: UpstreamTarget): string {
  const scheme = t.tls === 'require' ? 'nbds' : 'nbd';
  const exp = encodeURIComponent(t.exportName);
  if (t.transport === 'unix') return `${scheme}+unix:///${exp}?socket=${t.socketPath}`;
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${scheme}://${host}:${t.port}/${exp}`;
}
