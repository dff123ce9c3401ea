// TLS as nbdkit offers it (--tls=on|require, --tls-psk, --tls-certificates, --tls-verify-peer),
// driven by real clients over nbds:// — nbdinfo, nbdcopy (libnbd) and qemu-io (qemu's
// tls-creds objects) — with PSK and with X.509, in both modes. The client lines are built by
// the same helpers as the UI's Commands panel.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TlsMode, TlsSettings } from '../connection/tls.ts';
import { CMD, NBD_ERR, OPT, REP } from '../protocol/constants.ts';
import { presetCommands } from '../presets.ts';
import { libnbdUri, qemuImage, qemuTlsObject } from '../tls-client-args.ts';
import { requireBinary, run, startDisks, type TestDisks } from './harness.ts';
import { RawClient } from './raw-client.ts';
import { makeTlsFixtures, type TlsFixtures } from './tls-fixtures.ts';

let dir: string;
let fx: TlsFixtures;
before(async () => {
  for (const [b, p] of [
    ['nbdinfo', 'libnbd-bin'],
    ['nbdcopy', 'libnbd-bin'],
    ['qemu-io', 'qemu-utils'],
  ])
    requireBinary(b, p);
  dir = mkdtempSync(join(tmpdir(), 'blockscope-tls-'));
  fx = await makeTlsFixtures(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const kinds = {
  psk: (mode: TlsMode): TlsSettings => ({ mode, pskFile: fx.pskFile }),
  x509: (mode: TlsMode): TlsSettings => ({ mode, certificatesDir: fx.serverDir, verifyPeer: true }),
};

for (const kind of ['psk', 'x509'] as const) {
  for (const mode of ['on', 'require'] as const) {
    describe(`TLS ${kind}, --tls=${mode}`, () => {
      let t: TestDisks;
      let tls: TlsSettings;
      before(async () => {
        tls = kinds[kind](mode);
        t = await startDisks({
          size: 32n << 20n,
          tls,
          filters: (_d, d) => [{ name: 'log', params: { logfile: join(d, 'log') } }],
        });
      });
      after(() => t?.close());
      const uri = () => libnbdUri(t.uris[0], tls, fx.clientDir);

      test('the disk URI is nbds:// and nbdinfo negotiates TLS', async () => {
        assert.match(t.uris[0], /^nbds:\/\/127\.0\.0\.1:\d+$/);
        const r = await run('nbdinfo', [uri()]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /with TLS/);
        // The log filter prints what the connection negotiated, as nbdkit's.
        let log = '';
        for (let i = 0; i < 50 && !/Connect /.test(log); i++) {
          await new Promise((res) => setTimeout(res, 100));
          log = readFileSync(join(t.dir, 'log'), 'utf8');
        }
        assert.match(log, /Connect export="" tls=1 /);
      });

      test('nbdcopy copies 8 MiB in and back out byte-identical', async () => {
        const src = join(dir, `src-${kind}-${mode}.img`);
        const back = join(dir, `back-${kind}-${mode}.img`);
        writeFileSync(src, randomBytes(8 << 20));
        const up = await run('nbdcopy', [src, uri()]);
        assert.equal(up.code, 0, up.stderr);
        const down = await run('nbdcopy', [uri(), back]);
        assert.equal(down.code, 0, down.stderr);
        assert.ok(
          readFileSync(back)
            .subarray(0, 8 << 20)
            .equals(readFileSync(src)),
        );
      });

      test('qemu-io with tls-creds writes and reads back a pattern', async () => {
        const r = await run('qemu-io', [
          ...qemuTlsObject(tls, fx.clientDir),
          ...qemuImage(t.uris[0], tls),
          '-c',
          'write -P 0x5c 1M 64k',
          '-c',
          'read -P 0x5c 1M 64k',
        ]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.doesNotMatch(r.stdout, /Pattern verification failed/);
      });

      if (mode === 'require') {
        test('a plaintext client is refused cleanly (TLS_REQD), and the server goes on', async () => {
          const plain = await run('nbdinfo', [t.uris[0].replace(/^nbds/, 'nbd')]);
          assert.notEqual(plain.code, 0);
          const c = await RawClient.open({ host: '127.0.0.1', port: t.engine.disks[0].port! });
          await c.hello();
          for (const opt of [OPT.INFO, OPT.GO, OPT.LIST, OPT.STRUCTURED_REPLY, 99]) {
            c.option(opt);
            assert.equal((await c.reply()).type, REP.ERR_TLS_REQD, `option ${opt}`);
          }
          c.option(OPT.EXPORT_NAME); // cannot be answered with an error: the session ends
          assert.ok(await c.waitClosed());
          const again = await run('nbdinfo', ['--size', uri()]);
          assert.equal(again.stdout.trim(), String(32 << 20), again.stderr);
        });
      } else {
        test('a plaintext client is still served (--tls=on)', async () => {
          const r = await run('nbdinfo', [t.uris[0].replace(/^nbds/, 'nbd')]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /without TLS/);
        });
      }
    });
  }
}

describe('TLS failures end only that client', () => {
  let t: TestDisks;
  before(async () => {
    t = await startDisks({ size: 16n << 20n, tls: kinds.x509('require') });
  });
  after(() => t?.close());

  test('--tls-verify-peer refuses a client certificate the CA did not sign', async () => {
    const r = await run('nbdinfo', ['--size', libnbdUri(t.uris[0], kinds.x509('require'), fx.strangerDir)]);
    assert.notEqual(r.code, 0, 'a stranger certificate must not get in');
    const ok = await run('nbdinfo', ['--size', libnbdUri(t.uris[0], kinds.x509('require'), fx.clientDir)]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('garbage instead of a TLS ClientHello drops that client; STARTTLS twice is ERR_INVALID', async () => {
    const port = t.engine.disks[0].port!;
    const c = await RawClient.open({ host: '127.0.0.1', port });
    await c.hello();
    c.option(OPT.STARTTLS, Buffer.from('x'));
    assert.equal((await c.reply()).type, REP.ERR_INVALID, 'STARTTLS with data');
    c.option(OPT.STARTTLS);
    assert.equal((await c.reply()).type, REP.ACK);
    c.write(Buffer.alloc(512, 0x17));
    assert.ok(await c.waitClosed(5000));
    const ok = await run('nbdinfo', ['--size', libnbdUri(t.uris[0], kinds.x509('require'), fx.clientDir)]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('a wrong PSK is refused; the right one works on the same server', async () => {
    const p = await startDisks({ size: 16n << 20n, tls: kinds.psk('require') });
    try {
      const wrong = join(dir, 'wrong.psk');
      writeFileSync(wrong, `alice:${randomBytes(32).toString('hex')}\n`);
      const bad = await run('nbdinfo', ['--size', libnbdUri(p.uris[0], { mode: 'require', pskFile: wrong })]);
      assert.notEqual(bad.code, 0);
      const good = await run('nbdinfo', ['--size', libnbdUri(p.uris[0], kinds.psk('require'))]);
      assert.equal(good.code, 0, good.stderr);
    } finally {
      await p.close();
    }
  });
});

test('plain transmission after a refused STARTTLS (--tls=off): ERR_POLICY, then reads work', async () => {
  const t = await startDisks({ unix: true });
  try {
    const c = await RawClient.open(t.unixSockets[0]);
    await c.hello();
    c.option(OPT.STARTTLS);
    assert.equal((await c.reply()).type, REP.ERR_POLICY);
    await c.go();
    c.request(CMD.READ, 0n, 512, 0, 1);
    assert.deepEqual(await c.simpleReply(), { error: 0, cookie: 1 });
    assert.equal((await c.read(512))?.length, 512);
    c.request(CMD.READ, 1n << 40n, 512, 0, 2);
    assert.deepEqual(await c.simpleReply(), { error: NBD_ERR.EINVAL, cookie: 2 });
    c.close();
  } finally {
    await t.close();
  }
});

test('Commands panel: qemu-io and nbdinfo lines carry the TLS arguments', () => {
  const tls = kinds.psk('require');
  const cmds = presetCommands('raid1', ['nbds://127.0.0.1:10809', 'nbds://127.0.0.1:10810'], tls).join('\n');
  assert.match(cmds, /qemu-io --object tls-creds-psk,id=tls0,endpoint=client,dir=\S+,username=alice/);
  assert.match(cmds, /driver=nbd,server\.type=inet,server\.host=127\.0\.0\.1,server\.port=10810,tls-creds=tls0/);
  assert.match(cmds, /nbdinfo --map 'nbds:\/\/alice@127\.0\.0\.1:10809\/\?tls-psk-file=\S+keys\.psk'/);
  const plain = presetCommands('single', ['nbd://127.0.0.1:10809']).join('\n');
  assert.doesNotMatch(plain, /tls/);
});

test('a client that shuts its side during the TLS handshake is closed at once, not at the handshake timeout', async () => {
  const t = await startDisks({ unix: true, tls: kinds.psk('on'), handshakeTimeoutMs: 20_000 });
  try {
    for (const partialHello of [false, true]) {
      const c = await RawClient.open(t.unixSockets[0]);
      await c.hello();
      c.option(OPT.STARTTLS);
      assert.equal((await c.reply()).type, REP.ACK);
      if (partialHello) c.write(Buffer.from([0x16, 3, 1, 0, 50])); // a ClientHello's record header only
      const from = performance.now();
      c.s.end();
      assert.ok(await c.waitClosed(5000), 'still open 5 s after the half-close');
      assert.ok(performance.now() - from < 2000, `closed after ${Math.round(performance.now() - from)} ms`);
    }
  } finally {
    await t.close();
  }
});
