// TLS on the client side of the proxy (NBD_OPT_STARTTLS upgrades the plain socket): PSK keys in
// psktool's file format, or X.509 with the qemu/nbdkit certificate directory layout.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { UpstreamTarget } from './target.ts';

/** Read a psktool key file (`identity:hexkey` per line); pick `username` or the first entry. */
export function readPskFile(path: string, username: string | null): { identity: string; key: Buffer } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`tls-psk: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):([0-9a-fA-F]+)\s*$/.exec(line);
    if (!m) continue;
    if (username !== null && m[1] !== username) continue;
    if (m[2].length % 2) throw new Error(`tls-psk: key of '${m[1]}' in ${path} has an odd number of hex digits`);
    return { identity: m[1], key: Buffer.from(m[2], 'hex') };
  }
  throw new Error(
    username !== null
      ? `tls-psk: no key for '${username}' in ${path}`
      : `tls-psk: ${path} has no 'identity:hexkey' line (make one with: psktool -u NAME -p ${path})`,
  );
}

function readOptional(dir: string, name: string): Buffer | undefined {
  try {
    return readFileSync(join(dir, name));
  } catch {
    return undefined;
  }
}

/** tls.connect options for the target's credentials. */
export function tlsOptions(t: UpstreamTarget): ConnectionOptions {
  if (t.tlsPsk) {
    const { identity, key } = readPskFile(t.tlsPsk, t.tlsUsername);
    return {
      pskCallback: () => ({ identity, psk: key }),
      // PSK suites only: there is no certificate to check.
      ciphers: 'PSK:ECDHE-PSK:DHE-PSK:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
      checkServerIdentity: () => undefined,
    };
  }
  const dir = t.tlsCertificates!;
  const ca = readOptional(dir, 'ca-cert.pem');
  if (!ca && t.tlsVerify) throw new Error(`tls-certificates: ${dir}/ca-cert.pem is missing (or set tls-verify=false)`);
  return {
    ca,
    cert: readOptional(dir, 'client-cert.pem'),
    key: readOptional(dir, 'client-key.pem'),
    rejectUnauthorized: t.tlsVerify,
    // A Unix socket has no host name to match; the CA check still applies.
    ...(t.transport === 'unix' || !t.tlsVerify
      ? { checkServerIdentity: () => undefined }
      : { host: t.host, ...(isIP(t.host) ? {} : { servername: t.host }) }),
  };
}

/** Upgrade a plain socket after the server acknowledged NBD_OPT_STARTTLS. */
export function startTls(socket: Socket, t: UpstreamTarget): Promise<TLSSocket> {
  const options = tlsOptions(t);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ ...options, socket });
    const fail = (err: Error) => {
      s.destroy();
      reject(new Error(`TLS handshake with the upstream server failed: ${err.message}`));
    };
    s.once('error', fail);
    s.once('secureConnect', () => {
      s.off('error', fail);
      resolve(s);
    });
  });
}
