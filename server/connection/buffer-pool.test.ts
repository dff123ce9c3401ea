import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool, MAX_POOLED_BYTES } from './buffer-pool.ts';

const KiB = 1024;

test('a full pipeline of read replies comes back from the pool, none allocated again', () => {
  // As many 256 KiB replies as the transmission loop may hold at once (nbdcopy's sequential
  // read keeps ~250 queued): every one must be reused on the next pass.
  const n = MAX_POOLED_BYTES / (256 * KiB);
  const pool = new BufferPool();
  const first = Array.from({ length: n }, () => pool.get(256 * KiB));
  for (const b of first) pool.put(b);
  const again = new Set(Array.from({ length: n }, () => pool.get(256 * KiB)));
  assert.equal(again.size, n);
  assert.equal(first.filter((b) => again.has(b)).length, n);
});

test('the pool keeps at most MAX_POOLED_BYTES, and never views or small buffers', () => {
  const pool = new BufferPool();
  const big = new Set<Buffer>(
    Array.from({ length: MAX_POOLED_BYTES / (1024 * KiB) + 4 }, () => Buffer.allocUnsafe(1024 * KiB)),
  );
  for (const b of big) pool.put(b);
  const reused = Array.from({ length: big.size }, () => pool.get(1024 * KiB)).filter((b) => big.has(b));
  assert.equal(reused.length, MAX_POOLED_BYTES / (1024 * KiB));

  const whole = Buffer.allocUnsafe(64 * KiB);
  pool.put(whole.subarray(0, 32 * KiB)); // someone else's memory
  assert.notEqual(pool.get(32 * KiB).buffer, whole.buffer);
  const small = Buffer.allocUnsafe(1024);
  pool.put(small);
  assert.notEqual(pool.get(1024), small);
});
