// How real clients reach a TLS disk: the credentials spelled the way libnbd (nbdinfo, nbdcopy,
// nbdsh) and qemu (qemu-io, qemu-img) take them. Used for the Commands panel's lines, and by the
// tests, which run exactly these lines against the server.

import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { TlsSettings } from './connection/tls.ts';

/** The first username in a psktool file (what the client must present), or null. */
export function pskUsername(pskFile: string): string | null {
  try {
    const line = readFileSync(pskFile, 'utf8')
      .split('\n')
      .find((l) => l.includes(':') && !l.startsWith('#'));
    return line ? line.slice(0, line.lastIndexOf(':')).trim() : null;
  } catch {
    return null;
  }
}

/**
 * A libnbd URI with the credentials in it: `nbds://alice@host:port/?tls-psk-file=F` (PSK: the
 * username goes in the authority) or `…/?tls-certificates=DIR` (X.509: libnbd reads ca-cert.pem,
 * and client-cert.pem/client-key.pem if present, from DIR). Plain URIs pass through.
 */
export function libnbdUri(uri: string, tls: TlsSettings | undefined, clientCertificatesDir?: string): string {
  if (!tls || tls.mode === 'off' || !uri.startsWith('nbds')) return uri;
  let out = uri;
  let query: string;
  if (tls.pskFile) {
    const user = pskUsername(tls.pskFile);
    if (user) out = out.replace('://', `://${encodeURIComponent(user)}@`);
    query = `tls-psk-file=${tls.pskFile}`;
  } else {
    query = `tls-certificates=${clientCertificatesDir ?? tls.certificatesDir}`;
  }
  if (out.includes('?')) return `${out}&${query}`;
  // nbds://host:port → nbds://host:port/?…: the query needs a path before it.
  return /^[a-z+]+:\/\/[^/]*$/.test(out) ? `${out}/?${query}` : `${out}?${query}`;
}

/** qemu's `--object tls-creds-…` for a TLS disk (empty for plain disks). */
export function qemuTlsObject(tls: TlsSettings | undefined, clientCertificatesDir?: string): string[] {
  if (!tls || tls.mode === 'off') return [];
  if (tls.pskFile) {
    // qemu reads DIR/keys.psk: the file must have that name.
    const user = pskUsername(tls.pskFile) ?? 'qemu';
    return ['--object', `tls-creds-psk,id=tls0,endpoint=client,dir=${dirname(tls.pskFile)},username=${user}`];
  }
  return ['--object', `tls-creds-x509,id=tls0,endpoint=client,dir=${clientCertificatesDir ?? tls.certificatesDir}`];
}

/** Whether qemu can use this PSK file as it is (qemu only reads a file named keys.psk). */
export function qemuCanReadPsk(tls: TlsSettings | undefined): boolean {
  return !tls?.pskFile || basename(tls.pskFile) === 'keys.psk';
}

/**
 * qemu-io/qemu-img's image for a disk: the URI itself when plain, else `--image-opts` with the
 * NBD server spelled out and `tls-creds=tls0` (qemu has no nbds:// scheme).
 */
export function qemuImage(uri: string, tls: TlsSettings | undefined): string[] {
  if (!tls || tls.mode === 'off' || !uri.startsWith('nbds')) return ['-f', 'raw', uri];
  const u = new URL(uri.replace(/^nbds/, 'http'));
  const socket = u.searchParams.get('socket');
  const exportName = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const where = socket
    ? `server.type=unix,server.path=${socket}`
    : `server.type=inet,server.host=${u.hostname.replace(/^\[|\]$/g, '')},server.port=${u.port}`;
  const exp = exportName ? `,export=${exportName}` : '';
  // X.509 over a Unix socket: qemu checks the certificate against this name.
  const host = socket && tls.certificatesDir && !tls.pskFile ? ',tls-hostname=localhost' : '';
  return ['--image-opts', `driver=nbd,${where}${exp},tls-creds=tls0${host}`];
}
