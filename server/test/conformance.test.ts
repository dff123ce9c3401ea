// Conformance against suites nobody on this project wrote (docs/conformance.md): the reference
// implementation's nbd-tester-client traces and a set of libnbd's tests/ and interop/ programs,
// built from Debian source packages by .ci/conformance/build.sh (cached after the first build)
// and run by .ci/conformance/run.sh. Every check must give what expected-blockscope.tsv says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireBinary, run } from './harness.ts';

const dir = join(import.meta.dirname, '..', '..', '.ci', 'conformance');

const parse = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'))
      .map(([suite, check, result, note]) => [`${suite} / ${check}`, { result, note: note ?? '' }]),
  );

test(
  'reference suites (nbd-tester-client, libnbd tests and interop) give the recorded results',
  { timeout: 90 * 60_000 },
  async () => {
    for (const [bin, pkg] of [
      ['nbdkit', 'nbdkit'],
      ['nbdcopy', 'libnbd-bin'],
      ['socat', 'socat'],
      ['certtool', 'gnutls-bin'],
      ['psktool', 'gnutls-bin'],
      ['gcc', 'build-essential'],
      ['dpkg-source', 'dpkg-dev'],
    ])
      requireBinary(bin, pkg);
    const r = await run('bash', [join(dir, 'run.sh'), 'blockscope'], { timeoutMs: 90 * 60_000 });
    assert.equal(r.code, 0, `run.sh failed: ${r.stderr.slice(-3000)}`);
    const actual = parse(r.stdout);
    const expected = parse(readFileSync(join(dir, 'expected-blockscope.tsv'), 'utf8'));
    console.log(r.stdout.trim());
    const wrong: string[] = [];
    for (const [check, want] of expected) {
      const got = actual.get(check);
      if (got?.result !== want.result)
        wrong.push(`${check}: expected ${want.result}, got ${got?.result ?? 'nothing'} ${got?.note ?? ''}`);
    }
    for (const check of actual.keys()) if (!expected.has(check)) wrong.push(`${check}: not in expected-blockscope.tsv`);
    assert.deepEqual(wrong, [], `logs: ~/.cache/blockscope-conformance/logs/blockscope/\n${wrong.join('\n')}`);
  },
);
