// TLS credentials for tests, made the way nbdkit-tls(1) tells users to make them: a PSK file in
// psktool's format and an X.509 directory (CA, server and client certificates) from certtool.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, run } from './harness.ts';

export interface TlsFixtures {
  /** `alice:<hex>` (psktool format), named keys.psk so qemu's tls-creds-psk dir= finds it. */
  pskFile: string;
  pskDir: string;
  username: string;
  /** ca-cert.pem, server-cert.pem, server-key.pem (for the server). */
  serverDir: string;
  /** ca-cert.pem, client-cert.pem, client-key.pem (what libnbd and qemu read on the client side). */
  clientDir: string;
  /** A self-signed client certificate the CA never signed (for --tls-verify-peer). */
  strangerDir: string;
}

async function certtool(args: string[], input?: string): Promise<string> {
  const r = await run('certtool', args, { input });
  if (r.code !== 0) throw new Error(`certtool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function key(path: string): Promise<void> {
  writeFileSync(path, await certtool(['--generate-privkey', '--key-type=ecdsa']), { mode: 0o600 });
}

export async function makeTlsFixtures(dir: string): Promise<TlsFixtures> {
  requireBinary('certtool', 'gnutls-bin');
  const username = 'alice';
  const pskDir = join(dir, 'psk');
  const serverDir = join(dir, 'server');
  const clientDir = join(dir, 'client');
  const strangerDir = join(dir, 'stranger');
  for (const d of [pskDir, serverDir, clientDir, strangerDir]) mkdirSync(d, { recursive: true });
  const pskFile = join(pskDir, 'keys.psk');
  writeFileSync(pskFile, `${username}:${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });

  const tpl = (name: string, lines: string[]) => {
    const p = join(dir, `${name}.info`);
    writeFileSync(p, lines.join('\n') + '\n');
    return p;
  };
  const caKey = join(dir, 'ca-key.pem');
  const caCert = join(serverDir, 'ca-cert.pem');
  await key(caKey);
  await certtool([
    '--generate-self-signed',
    '--load-privkey',
    caKey,
    '--template',
    tpl('ca', ['cn = Blockscope test CA', 'ca', 'cert_signing_key']),
    '--outfile',
    caCert,
  ]);
  const signed = async (outDir: string, name: string, lines: string[]) => {
    await key(join(outDir, `${name}-key.pem`));
    await certtool([
      '--generate-certificate',
      '--load-privkey',
      join(outDir, `${name}-key.pem`),
      '--load-ca-certificate',
      caCert,
      '--load-ca-privkey',
      caKey,
      '--template',
      tpl(name, lines),
      '--outfile',
      join(outDir, `${name}-cert.pem`),
    ]);
  };
  await signed(serverDir, 'server', [
    'organization = Blockscope test',
    'cn = localhost',
    'dns_name = localhost',
    'ip_address = 127.0.0.1',
    'tls_www_server',
    'encryption_key',
    'signing_key',
  ]);
  await signed(clientDir, 'client', [
    'country = GB',
    'cn = client.test',
    'tls_www_client',
    'encryption_key',
    'signing_key',
  ]);
  copyFileSync(caCert, join(clientDir, 'ca-cert.pem'));
  // A client certificate the CA never signed.
  await key(join(strangerDir, 'client-key.pem'));
  await certtool([
    '--generate-self-signed',
    '--load-privkey',
    join(strangerDir, 'client-key.pem'),
    '--template',
    tpl('stranger', ['cn = stranger', 'tls_www_client', 'encryption_key', 'signing_key']),
    '--outfile',
    join(strangerDir, 'client-cert.pem'),
  ]);
  copyFileSync(caCert, join(strangerDir, 'ca-cert.pem'));
  return { pskFile, pskDir, username, serverDir, clientDir, strangerDir };
}
