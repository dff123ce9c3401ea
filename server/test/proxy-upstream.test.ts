// The nbd backend against real upstream servers: errors passed through with their errno, the
// grid the same as with the memory backend, TLS (PSK and X.509) to nbdkit, and an upstream
// that is killed and restarted while clients stay connected.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NBDSH_ENV, requireBinary, run, startDisks } from './harness.ts';
import { startNbdkit, startQemuNbd, type UpstreamServer } from './upstreams.ts';

let dir: string;
before(() => {
  requireBinary('nbdsh', 'python3-libnbd');
  requireBinary('qemu-io', 'qemu-utils');
  dir = mkdtempSync(join(tmpdir(), 'blockscope-upstream-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const nbdsh = (uri: string, script: string, timeoutMs = 120_000) =>
  run('nbdsh', ['--base-allocation', '-u', uri, '-c', script], { env: NBDSH_ENV, timeoutMs });

async function withProxy<T>(
  upstreamUri: string,
  fn: (uri: string, t: Awaited<ReturnType<typeof startDisks>>) => Promise<T>,
  params: Record<string, string> = {},
) {
  const t = await startDisks({
    backend: 'nbd',
    size: 0n,
    unix: true,
    backendParams: () => ({ uri: upstreamUri, ...params }),
  });
  try {
    return await fn(t.uris[0], t);
  } finally {
    await t.close();
  }
}

const waitFor = async (what: string, cond: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('upstream errors reach the client with the same errno as going direct', async () => {
  const up = await startNbdkit(dir, 'errors', [
    '--filter=error',
    'memory',
    'size=16M',
    'error-pread=EPERM',
    'error-pread-rate=1',
    'error-pwrite=ENOSPC',
    'error-pwrite-rate=1',
    'error-trim=ESHUTDOWN',
    'error-trim-rate=1',
    'error-zero=ENOMEM',
    'error-zero-rate=1',
    'error-extents=EIO',
    'error-extents-rate=1',
  ]);
  const script = `
for name, op in (("read", lambda: h.pread(4096, 0)), ("write", lambda: h.pwrite(bytearray(4096), 0)),
                 ("trim", lambda: h.trim(4096, 0)), ("zero", lambda: h.zero(4096, 0)),
                 ("extents", lambda: h.block_status(4096, 0, lambda *a: 0))):
    try:
        op()
        print(name, "ok")
    except nbd.Error as e:
        print(name, e.errnum)
`;
  try {
    const direct = await nbdsh(up.uri, script);
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stdout, /read 1\nwrite 28\ntrim 108\nzero 12\nextents 5/, direct.stdout);
    await withProxy(up.uri, async (uri, t) => {
      const proxied = await nbdsh(uri, script);
      assert.equal(proxied.code, 0, proxied.stderr);
      assert.equal(proxied.stdout, direct.stdout);
      // The failures are on the grid as errors, like injected ones.
      assert.ok(t.events[0].filter((e) => e.error).length >= 5);
    });
  } finally {
    await up.stop();
  }
});

test('the grid shows the same block states through the proxy as with the memory backend', async () => {
  const up = await startNbdkit(dir, 'grid', ['memory', 'size=64M']);
  const mem = await startDisks({ size: 64n << 20n, unix: true });
  const workload = [
    'write -P 1 0 1M',
    'write -P 2 3000 5000',
    'discard 256k 128k',
    'write -z 512k 64k',
    'write -z -u 640k 64k',
    'write -P 3 40M 4k',
    'read 0 2M',
  ];
  const qemuIo = (uri: string) => run('qemu-io', ['-f', 'raw', uri, ...workload.flatMap((c) => ['-c', c])]);
  try {
    await withProxy(up.uri, async (uri, proxied) => {
      for (const u of [mem.uris[0], uri]) {
        const r = await qemuIo(u);
        assert.equal(r.code, 0, r.stderr);
      }
      const a = mem.engine.disk(1);
      const b = proxied.engine.disk(1);
      assert.deepEqual(b.info().blocks, a.info().blocks);
      assert.deepEqual(b.info().grid, a.info().grid);
      assert.ok(Buffer.from(b.stats.fullFrame().full!).equals(Buffer.from(a.stats.fullFrame().full!)), 'cells differ');
      assert.ok(a.info().blocks.written > 0 && a.info().blocks.trimmed > 0 && a.info().blocks.zeroed > 0);
    });
  } finally {
    await mem.close();
    await up.stop();
  }
});

/** openssl: a CA, a server certificate and a client certificate, in nbdkit's and qemu's file names. */
function makeCertificates(base: string): { server: string; client: string; otherCa: string } {
  const server = join(base, 'server');
  const client = join(base, 'client');
  const otherCa = join(base, 'other');
  for (const d of [server, client, otherCa]) mkdirSync(d, { recursive: true });
  const ossl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: base });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ca = (dir: string) => {
    ossl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=test CA',
      '-keyout',
      join(dir, 'ca-key.pem'),
      '-out',
      join(dir, 'ca-cert.pem'),
    );
  };
  ca(server);
  ca(otherCa);
  const leaf = (name: string, outDir: string) => {
    ossl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      join(outDir, `${name}-key.pem`),
      '-out',
      join(base, `${name}.csr`),
    );
    writeFileSync(join(base, `${name}.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ossl(
      'x509',
      '-req',
      '-in',
      join(base, `${name}.csr`),
      '-CA',
      join(server, 'ca-cert.pem'),
      '-CAkey',
      join(server, 'ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      join(base, `${name}.ext`),
      '-out',
      join(outDir, `${name}-cert.pem`),
    );
  };
  leaf('server', server);
  leaf('client', client);
  spawnSync('cp', [join(server, 'ca-cert.pem'), join(client, 'ca-cert.pem')]);
  return { server, client, otherCa };
}

test('TLS to nbdkit --tls=require: PSK and X.509; plaintext and a wrong CA are refused clearly', async () => {
  requireBinary('openssl', 'openssl');
  const psk = join(dir, 'keys.psk');
  writeFileSync(psk, `other:${randomBytes(32).toString('hex')}\nalice:${randomBytes(32).toString('hex')}\n`, {
    mode: 0o600,
  });
  const certs = makeCertificates(join(dir, 'pki'));
  const pskUp = await startNbdkit(dir, 'tls-psk', ['--tls=require', `--tls-psk=${psk}`, 'memory', 'size=16M']);
  const x509Up = await startNbdkit(dir, 'tls-x509', [
    '--tls=require',
    `--tls-certificates=${certs.server}`,
    'memory',
    'size=16M',
  ]);
  const io = ['-c', 'write -P 0x5c 0 64k', '-c', 'read -P 0x5c 0 64k'];
  try {
    await withProxy(
      pskUp.uri.replace('nbd+unix', 'nbds+unix'),
      async (uri, t) => {
        const r = await run('qemu-io', ['-f', 'raw', uri, ...io]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /verification failed/);
        assert.equal(t.engine.disk(1).info().upstream?.tls, true);
      },
      { 'tls-psk': psk, 'tls-username': 'alice' },
    );
    await withProxy(
      x509Up.uri,
      async (uri) => {
        const r = await run('qemu-io', ['-f', 'raw', uri, ...io]);
        assert.equal(r.code, 0, r.stderr);
      },
      { 'tls-certificates': certs.client },
    );
    await assert.rejects(
      withProxy(pskUp.uri, async () => {}),
      /TLS required/,
    );
    await assert.rejects(
      withProxy(x509Up.uri, async () => {}, { 'tls-certificates': certs.otherCa }),
      /TLS handshake with the upstream server failed/,
    );
    await assert.rejects(
      withProxy(pskUp.uri, async () => {}, { tls: 'require' }),
      /TLS needs tls-psk=FILE/,
    );
  } finally {
    await pskUp.stop();
    await x509Up.stop();
  }
});

test('upstream killed and restarted: clean errors, clients stay connected, data kept, status shown', async () => {
  const file = join(dir, 'restart.raw');
  writeFileSync(file, Buffer.alloc(16 << 20));
  const up = await startQemuNbd(dir, 'restart', file, 'raw');
  const step = (name: string) => join(dir, `restart.${name}`);
  // One nbdsh session for the whole story, paced by marker files.
  const script = `
import os, time, errno
def wait(name):
    while not os.path.exists("${dir}/restart." + name):
        time.sleep(0.05)
h.pwrite(bytearray([0xaa]) * 65536, 0, nbd.CMD_FLAG_FUA)
h.pwrite(bytearray([0xbb]) * 65536, 65536)
open("${dir}/restart.written", "w").close()
wait("killed")
try:
    h.pread(4096, 0)
    print("read while down: ok")
except nbd.Error as e:
    print("read while down:", errno.errorcode[e.errnum])
open("${dir}/restart.checked", "w").close()
wait("restarted")
deadline = time.time() + 60
while True:
    try:
        data = h.pread(65536, 0)
        break
    except nbd.Error as e:
        if time.time() > deadline: raise
        time.sleep(0.1)
print("recovered, data kept:", data == bytearray([0xaa]) * 65536)
try:
    h.flush()
    print("first flush: ok")
except nbd.Error as e:
    print("first flush:", errno.errorcode[e.errnum])
h.flush()
print("second flush: ok")
h.pwrite(bytearray([0xcc]) * 4096, 1 << 20)
print("after:", h.pread(4096, 1 << 20) == bytearray([0xcc]) * 4096)
`;
  try {
    await withProxy(up.uri, async (uri, t) => {
      const disk = t.engine.disk(1);
      const client = nbdsh(uri, script, 180_000);
      const { existsSync } = await import('node:fs');
      await waitFor('the writes', () => existsSync(step('written')));
      assert.equal(disk.info().upstream?.state, 'connected');
      await up.stop('SIGKILL');
      await waitFor('the status to say reconnecting', () => disk.info().upstream?.state === 'reconnecting');
      assert.ok(disk.info().upstream?.message, 'a reason is given');
      writeFileSync(step('killed'), '');
      await waitFor('the client to see the error', () => existsSync(step('checked')));
      await up.restart();
      writeFileSync(step('restarted'), '');
      await waitFor('the status to say connected', () => disk.info().upstream?.state === 'connected');
      const r = await client;
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /read while down: (ESHUTDOWN|EIO)/);
      assert.match(r.stdout, /recovered, data kept: True/);
      // The unflushed 0xbb write went through a connection that broke: the flush must not claim it.
      assert.match(r.stdout, /first flush: EIO/);
      assert.match(r.stdout, /second flush: ok/);
      assert.match(r.stdout, /after: True/);
      assert.ok(disk.info().upstream!.reconnects >= 1);
    });
  } finally {
    await up.stop();
  }
});

test('a request in flight when upstream dies fails with EIO; new ones fail fast until it is back', async () => {
  let up: UpstreamServer | null = await startNbdkit(dir, 'inflight', [
    '--filter=delay',
    'memory',
    'size=16M',
    'rdelay=3',
  ]);
  const script = `
import errno, time
buf = nbd.Buffer(4096)
c = h.aio_pread(buf, 0)
open("${dir}/inflight.sent", "w").close()
try:
    while not h.aio_command_completed(c):
        h.poll(-1)
    print("in flight: ok")
except nbd.Error as e:
    print("in flight:", errno.errorcode[e.errnum])
t = time.time()
try:
    h.pwrite(bytearray(4096), 0)
    print("next: ok")
except nbd.Error as e:
    print("next:", errno.errorcode[e.errnum], "fast" if time.time() - t < 2 else "slow")
`;
  try {
    await withProxy(up.uri, async (uri) => {
      const { existsSync } = await import('node:fs');
      const client = nbdsh(uri, script);
      await waitFor('the read to be sent', () => existsSync(join(dir, 'inflight.sent')));
      await new Promise((r) => setTimeout(r, 300));
      await up!.stop('SIGKILL');
      const r = await client;
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /in flight: EIO/);
      assert.match(r.stdout, /next: (ESHUTDOWN|EIO) fast/);
    });
  } finally {
    await up?.stop();
    up = null;
  }
});
