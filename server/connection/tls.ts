// TLS for the NBD server, as nbdkit's --tls / --tls-psk / --tls-certificates / --tls-verify-peer:
// the settings are loaded (and checked) once at start; each NBD_OPT_STARTTLS then upgrades that
// client's existing socket in place. The upgrade goes through a tls.Server that never listens:
// injecting the socket as a 'connection' gives Node's own server-side handling (PSK callback,
// client certificate verification) with public API only.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { createSecureContext, createServer, DEFAULT_CIPHERS, type TLSSocket, type TlsOptions } from 'node:tls';

/** nbdkit's --tls: off (NOTLS), on (client's choice), require (FORCEDTLS). */
export const TLS_MODES = ['off', 'on', 'require'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** What the command line (or a preset) asks for. */
export interface TlsSettings {
  mode: TlsMode;
  /** psktool's `username:hexkey` file; when given, PSK is used instead of certificates (as nbdkit). */
  pskFile?: string;
  /** Directory with server-cert.pem, server-key.pem and (for verify-peer) ca-cert.pem. */
  certificatesDir?: string;
  /** Require and check a client certificate signed by ca-cert.pem (X.509 only). */
  verifyPeer?: boolean;
}

/** Loaded credentials, shared by every connection of a disk. */
export interface TlsServerConfig {
  readonly mode: Exclude<TlsMode, 'off'>;
  readonly kind: 'psk' | 'x509';
  /** Upgrade a plaintext socket (right after NBD_REP_ACK to STARTTLS); rejects if the TLS handshake fails. */
  upgrade(raw: Socket): Promise<TLSSocket>;
}

/** PSK suites for TLS 1.2 clients; TLS 1.3 PSK uses the default suites. GnuTLS (libnbd, qemu) offers these. */
const PSK_CIPHERS = [
  'ECDHE-PSK-AES256-CBC-SHA384',
  'ECDHE-PSK-AES128-CBC-SHA256',
  'ECDHE-PSK-CHACHA20-POLY1305',
  'DHE-PSK-AES256-GCM-SHA384',
  'DHE-PSK-AES128-GCM-SHA256',
  'PSK-AES256-GCM-SHA384',
  'PSK-AES128-GCM-SHA256',
].join(':');

/** Parse a psktool keys file: one `username:hexkey` per line. Throws naming the bad line. */
export function parsePskFile(text: string, name = 'PSK file'): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.lastIndexOf(':');
    const user = line.slice(0, colon);
    const hex = line.slice(colon + 1);
    if (colon <= 0 || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new Error(`${name}: line ${i + 1}: expected username:hexkey (as written by psktool)`);
    }
    keys.set(user, Buffer.from(hex, 'hex'));
  });
  if (!keys.size) throw new Error(`${name}: no keys`);
  return keys;
}

function readOrThrow(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

/** Load and check the credentials; null for --tls=off. Throws a clear Error on missing or bad files. */
export function loadTls(s: TlsSettings): TlsServerConfig | null {
  if (s.mode === 'off') return null;
  let options: TlsOptions;
  let kind: TlsServerConfig['kind'];
  if (s.pskFile) {
    const keys = parsePskFile(readOrThrow(s.pskFile, '--tls-psk:'), `--tls-psk: ${s.pskFile}`);
    kind = 'psk';
    options = {
      ciphers: `${DEFAULT_CIPHERS}:${PSK_CIPHERS}`,
      // An unknown identity fails the handshake (null), as nbdkit.
      pskCallback: (_socket, identity) => keys.get(identity) ?? null,
    };
  } else if (s.certificatesDir) {
    const dir = s.certificatesDir;
    const what = '--tls-certificates:';
    kind = 'x509';
    options = {
      cert: readOrThrow(join(dir, 'server-cert.pem'), what),
      key: readOrThrow(join(dir, 'server-key.pem'), what),
    };
    if (s.verifyPeer) {
      options.ca = readOrThrow(join(dir, 'ca-cert.pem'), `${what} --tls-verify-peer needs`);
      options.requestCert = true;
      options.rejectUnauthorized = true;
    }
  } else {
    throw new Error(`--tls=${s.mode} needs --tls-psk=FILE or --tls-certificates=DIR`);
  }
  // Fail now, not at the first client, if the files do not make a usable context.
  createSecureContext(options);
  const mode = s.mode;
  return {
    mode,
    kind,
    upgrade(raw) {
      return new Promise<TLSSocket>((resolve, reject) => {
        const server = createServer(options);
        server.once('secureConnection', (socket: TLSSocket) => resolve(socket));
        server.once('tlsClientError', (err: Error) => reject(err));
        server.emit('connection', raw);
      });
    },
  };
}
