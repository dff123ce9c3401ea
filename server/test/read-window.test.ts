// The read window (transmission-loop.ts, MAX_READ_BYTES): a connection keeps at most a few MiB of
// read data in our memory. A client whose 64 reads of 256 KiB all wait in the pipeline used to get
// all 64 started at once (16 MiB of replies queued for the kernel); now reads start only as their
// replies leave, and every reply still arrives, whole and right.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CMD } from '../protocol/constants.ts';
import { startDisks, type TestDisks } from './harness.ts';
import { RawClient } from './raw-client.ts';

const KiB = 1024;
const READ = 256 * KiB;
const READS = 64;

/** A disk of 64 × 256 KiB, a client in transmission, and a count of the reads started on the disk. */
async function setUp(thread: 'inline' | 'worker'): Promise<{ t: TestDisks; c: RawClient; started: () => number }> {
  const t = await startDisks({ unix: true, size: BigInt(READS * READ), thread });
  let started = 0;
  t.engine.disks[0].bus.subscribe((phase, ev) => {
    if (phase === 'start' && ev.op === 'read') started++;
  });
  const c = await RawClient.open(t.unixSockets[0]);
  await c.hello();
  await c.go();
  return { t, c, started: () => started };
}

for (const thread of ['inline', 'worker'] as const) {
  test(`${thread} data path: 64 reads of 256 KiB from a client not reading yet start a few MiB at a time`, async () => {
    const { t, c, started } = await setUp(thread);
    try {
      // Each 256 KiB piece holds its own number, so a reply from the wrong place would show.
      for (let i = 0; i < READS; i++) {
        c.request(CMD.WRITE, BigInt(i * READ), READ, 0, 1000 + i);
        c.write(Buffer.alloc(READ, i));
      }
      for (let i = 0; i < READS; i++) assert.equal((await c.simpleReply()).error, 0);

      c.s.pause(); // read nothing: the replies pile up in the kernel, then in the server
      for (let i = 0; i < READS; i++) c.request(CMD.READ, BigInt(i * READ), READ, 0, i);
      await new Promise((r) => setTimeout(r, 500));
      const startedWhilePaused = started();
      console.log(`${thread}: ${startedWhilePaused} of ${READS} reads started while the client read nothing`);
      // At most the window (16 reads of 256 KiB in our memory) plus the replies the kernel took
      // (its send buffer: 4 MiB here, 416 KiB on a default system). How many the kernel takes
      // before the client reads depends on how replies were batched: Node calls a write back
      // only once all of it is in the kernel, so one writev of 16 replies never finishes while
      // the client reads nothing (16 started), while replies written over several turns
      // (turn-budget.ts) free the window one by one (22–30 started).
      assert.ok(
        startedWhilePaused <= 32,
        `${startedWhilePaused} of ${READS} reads of 256 KiB started while the client read nothing (window 4 MiB + send buffer 4 MiB)`,
      );

      c.s.resume();
      const seen = new Set<number>();
      for (let i = 0; i < READS; i++) {
        const r = await c.simpleReply();
        assert.equal(r.error, 0);
        const data = (await c.read(READ))!;
        assert.ok(
          data.every((b) => b === r.cookie),
          `read ${r.cookie} returned another piece's bytes`,
        );
        seen.add(r.cookie);
      }
      assert.equal(seen.size, READS);
      // A worker's events reach the bus in batches, a few ms after its replies.
      for (let ms = 0; started() < READS && ms < 2000; ms += 20) await new Promise((r) => setTimeout(r, 20));
      assert.equal(started(), READS);
      c.close();
    } finally {
      await t.close();
    }
  });
}

test('reads still waiting for the window when their client goes away are dropped, not run', async () => {
  const { t, c, started } = await setUp('inline');
  try {
    c.s.pause();
    for (let i = 0; i < READS; i++) c.request(CMD.READ, BigInt(i * READ), READ, 0, i);
    for (let ms = 0; started() === 0 && ms < 5000; ms += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const before = started();
    assert.ok(before < READS, `all ${READS} reads started at once`);
    c.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(started(), before, 'reads that were waiting ran after their client had gone');

    // The disk serves the next client as usual.
    const d = await RawClient.open(t.unixSockets[0]);
    await d.hello();
    await d.go();
    d.request(CMD.READ, 0n, 4096, 0, 1);
    assert.deepEqual(await d.simpleReply(), { error: 0, cookie: 1 });
    assert.equal((await d.read(4096))?.length, 4096);
    d.close();
  } finally {
    await t.close();
  }
});
