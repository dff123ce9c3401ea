// NBD_CMD_BLOCK_STATUS over 1 GiB of written zeroes, Blockscope and nbdkit's memory plugin side
// by side, driven by nbdsh: the same extents, answered fast, and another client's 512-byte read
// is not held up meanwhile. (It used to take 1.5 s and stall every other client for as long:
// the extents were found by scanning the bytes on the event loop.)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NBDSH_ENV, requireBinary, run, startDisks } from './harness.ts';

interface Measured {
  /** [length, type] pairs nbdsh got for the whole GiB. */
  entries: number[];
  statusMs: number[];
  readMs: number[];
}

/** Write 1 GiB of zero bytes (NBD_CMD_WRITE, not WRITE_ZEROES), then time block status and a concurrent read. */
const SCRIPT = `
import json, time, statistics
GiB = 1 << 30
buf = bytearray(32 << 20)
for off in range(0, GiB, len(buf)):
    h.pwrite(buf, off)
other = nbd.NBD()
other.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
other.connect_uri(URI)
seen = []
def cb(ctx, off, entries, err):
    seen.append(list(entries))
    return 0
status = []
for i in range(7):
    t = time.monotonic()
    h.block_status(GiB, 0, cb)
    status.append((time.monotonic() - t) * 1000)
reads = []
for i in range(7):
    c = h.aio_block_status(GiB, 0, lambda *a: 0)
    time.sleep(0.005)  # the block status reaches the server first
    t = time.monotonic()
    other.pread(512, 4096)
    reads.append((time.monotonic() - t) * 1000)
    while not h.aio_command_completed(c):
        h.poll(-1)
print(json.dumps({"entries": seen[0], "statusMs": status, "readMs": reads}))
`;

async function measure(uri: string): Promise<Measured> {
  const r = await run('nbdsh', ['--base-allocation', '-u', uri, '-c', `URI = ${JSON.stringify(uri)}\n${SCRIPT}`], {
    env: NBDSH_ENV,
    timeoutMs: 250_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test(
  'block status over 1 GiB of written zeroes: nbdkit’s extents, < 100 ms, and another client’s read is not held up',
  { timeout: 540_000 },
  async (ctx) => {
    requireBinary('nbdsh', 'python3-libnbd');
    requireBinary('nbdkit', 'nbdkit');
    // nbdkit first (then stopped: 1 GiB each is enough memory on a shared machine).
    const dir = mkdtempSync(join(tmpdir(), 'block-status-'));
    const sock = join(dir, 'nbdkit.sock');
    const nbdkit = spawn('nbdkit', ['-f', '-U', sock, 'memory', 'size=2G'], { stdio: 'ignore' });
    let reference: Measured;
    try {
      for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      reference = await measure(`nbd+unix:///?socket=${sock}`);
    } finally {
      nbdkit.kill();
      rmSync(dir, { recursive: true, force: true });
    }
    const t = await startDisks({ size: 2n << 30n });
    let ours: Measured;
    try {
      ours = await measure(t.uris[0]);
    } finally {
      await t.close();
    }
    const figures = `Blockscope status ${ours.statusMs.map((x) => x.toFixed(1)).join('/')} ms, read ${ours.readMs.map((x) => x.toFixed(1)).join('/')} ms; nbdkit status ${reference.statusMs.map((x) => x.toFixed(1)).join('/')} ms, read ${reference.readMs.map((x) => x.toFixed(1)).join('/')} ms`;
    assert.deepEqual(ours.entries, reference.entries, 'extents differ from nbdkit’s');
    assert.deepEqual(ours.entries, [1 << 30, 2], 'one allocated zero extent');
    ctx.diagnostic(figures);
    // < 100 ms as the issue asks; on a machine so loaded that nbdkit itself is slower than that,
    // no slower than nbdkit in the same run (before: 1.5-2.3 s against nbdkit's 0.05-0.25 s).
    assert.ok(median(ours.statusMs) < Math.max(100, median(reference.statusMs)), figures);
    assert.ok(median(ours.readMs) < Math.max(100, median(reference.readMs)), figures);
  },
);
