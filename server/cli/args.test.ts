// parseArgs: an option that takes a value never takes the next option as it (`serve --size --port 0`
// used to report "unexpected argument '0'", and `--run --no-record` ran "--no-record" in a shell).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from './args.ts';

const SPEC = { values: ['--size', '--port', '--run'], flags: ['--no-record'] };

test('an option that needs a value does not take the next --option as it', () => {
  assert.throws(() => parseArgs(['--size', '--port', '0'], SPEC), /option --size needs a value/);
  assert.throws(() => parseArgs(['--run', '--no-record'], SPEC), /option --run needs a value/);
  assert.throws(() => parseArgs(['--port'], SPEC), /option --port needs a value/);
  // Written as --opt=VALUE, a value may start with --; and a single dash is an ordinary value.
  assert.equal(parseArgs(['--run=--no-record'], SPEC).values.get('--run')?.[0], '--no-record');
  assert.equal(parseArgs(['--port', '-1'], SPEC).values.get('--port')?.[0], '-1');
  assert.equal(parseArgs(['--run', 'exit 3', '--no-record'], SPEC).values.get('--run')?.[0], 'exit 3');
});
