// The harness's own promise: a client that hangs becomes a failure with a reason, never a hang
// of the whole test file, even when it forked children that hold its output open (fio does).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from './harness.ts';

test('run(): a command that outlives its timeout is killed with what it forked, and says so', async () => {
  const started = performance.now();
  // The background sleep holds stdout like a forked fio job; the shell waits for it.
  const r = await run('sh', ['-c', 'sleep 60 & echo started; wait'], { timeoutMs: 300 });
  const took = performance.now() - started;
  assert.ok(took < 5000, `resolved after ${took} ms`);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /started/);
  assert.match(r.stderr, /killed after 300 ms/);
  const ok = await run('sh', ['-c', 'echo fine']);
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, 'fine\n', '']);
});
