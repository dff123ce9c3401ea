// attach's bad input: a log path that exists but is no regular file is refused at once, in one
// line with exit status 2. A FIFO used to block open(2), and with it the event loop, so that only
// SIGKILL could stop attach; a directory gave a stack trace (or, with --size, an endless error).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../test/harness.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');

test('attach to a directory or a FIFO: one line, exit 2, never blocking', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attach-special-'));
  try {
    mkdirSync(join(dir, 'dir.log'));
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    for (const [name, why] of [
      ['dir.log', 'is a directory'],
      ['fifo.log', 'not a regular file'],
    ]) {
      for (const extra of [[], ['--size', '1G']]) {
        const r = await run(process.execPath, [cli, 'attach', join(dir, name), ...extra, '--no-record'], {
          timeoutMs: 30_000,
        });
        assert.equal(r.code, 2, `${name} ${extra.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, `blockscope: ${join(dir, name)}: ${why}\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
