import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseServeArgs } from '../cli/serve.ts';
import { loadTls, parsePskFile } from './tls.ts';

test('psktool files: username:hexkey lines; bad lines are named', () => {
  const keys = parsePskFile('alice:00ff\n\n# comment\nbob:0a0b0c\n');
  assert.deepEqual([...keys.keys()], ['alice', 'bob']);
  assert.deepEqual([...keys.get('bob')!], [10, 11, 12]);
  assert.throws(() => parsePskFile('alice:xyz\n'), /line 1: expected username:hexkey/);
  assert.throws(() => parsePskFile('nocolon\n'), /line 1/);
  assert.throws(() => parsePskFile('\n'), /no keys/);
});

test('loadTls: off is null; missing or unusable files are clear errors at start', () => {
  assert.equal(loadTls({ mode: 'off' }), null);
  assert.throws(() => loadTls({ mode: 'on' }), /needs --tls-psk=FILE or --tls-certificates=DIR/);
  assert.throws(
    () => loadTls({ mode: 'on', pskFile: '/nonexistent/keys.psk' }),
    /--tls-psk: \/nonexistent\/keys.psk: ENOENT/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'blockscope-tlsunit-'));
  try {
    assert.throws(() => loadTls({ mode: 'require', certificatesDir: dir }), /server-cert.pem: ENOENT/);
    writeFileSync(join(dir, 'server-cert.pem'), 'not a certificate');
    writeFileSync(join(dir, 'server-key.pem'), 'not a key');
    assert.throws(() => loadTls({ mode: 'require', certificatesDir: dir }));
    writeFileSync(join(dir, 'keys.psk'), 'alice:0123456789abcdef\n');
    const t = loadTls({ mode: 'require', pskFile: join(dir, 'keys.psk'), certificatesDir: dir });
    assert.equal(t?.kind, 'psk', 'PSK overrides certificates, as in nbdkit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve: --tls options are checked together; --handshake-timeout in seconds', () => {
  assert.throws(() => parseServeArgs(['--tls=maybe']), /expected off, on or require/);
  assert.throws(() => parseServeArgs(['--tls=require']), /needs --tls-psk/);
  assert.throws(() => parseServeArgs(['--tls-psk=/x']), /need --tls=on or --tls=require/);
  const o = parseServeArgs(['--tls=on', '--tls-psk=keys.psk', '--handshake-timeout', '5', '--disks', '2']);
  assert.ok(o !== 'help');
  assert.equal(o.specs[1].tls?.mode, 'on');
  assert.match(o.specs[1].tls?.pskFile ?? '', /^\/.*keys\.psk$/, 'made absolute');
  assert.equal(o.specs[0].handshakeTimeoutMs, 5000);
  const p = parseServeArgs(['--preset', 'raid1', '--tls=require', '--tls-certificates=/etc/pki/nbd']);
  assert.ok(p !== 'help');
  assert.deepEqual(
    p.specs.map((s) => s.tls?.certificatesDir),
    ['/etc/pki/nbd', '/etc/pki/nbd'],
  );
});
