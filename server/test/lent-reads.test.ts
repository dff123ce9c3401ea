// Reads of a memory disk send its pages themselves (sparse-array.ts lend()). A reply waiting in our
// memory for a client that reads slowly must still hold the bytes of the moment its read ran, even
// when another client overwrites them meanwhile (copy on write), exactly as a copied reply would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SparseMemoryBackend } from '../backends/memory.ts';
import type { InlineDataPath } from '../data-path/inline.ts';
import { CMD } from '../protocol/constants.ts';
import { startDisks } from './harness.ts';
import { RawClient } from './raw-client.ts';

const KiB = 1024;
const READ = 256 * KiB;
const READS = 64;
/** The byte piece i holds before and after the overwrite. */
const OLD = (i: number) => i;
const NEW = (i: number) => 128 + i;

async function client(where: string): Promise<RawClient> {
  const c = await RawClient.open(where);
  await c.hello();
  await c.go();
  return c;
}

async function fill(c: RawClient, value: (i: number) => number): Promise<void> {
  for (let i = 0; i < READS; i++) {
    c.request(CMD.WRITE, BigInt(i * READ), READ, 0, 1000 + i);
    c.write(Buffer.alloc(READ, value(i)));
  }
  for (let i = 0; i < READS; i++) assert.equal((await c.simpleReply()).error, 0);
}

for (const thread of ['inline', 'worker'] as const) {
  test(`${thread} data path: a reply still queued keeps its data while another client overwrites it`, async () => {
    const t = await startDisks({ unix: true, size: BigInt(READS * READ), thread });
    let started = 0;
    t.engine.disks[0].bus.subscribe((phase, ev) => {
      if (phase === 'start' && ev.op === 'read') started++;
    });
    try {
      const reader = await client(t.unixSockets[0]);
      const writer = await client(t.unixSockets[0]);
      await fill(reader, OLD);

      reader.s.pause(); // reads run until the window is full; their replies wait, in the kernel and in our memory
      for (let i = 0; i < READS; i++) reader.request(CMD.READ, BigInt(i * READ), READ, 0, i);
      // Until no read has started for 300 ms (a worker's events come in batches).
      for (let last = -1; started !== last;) {
        last = started;
        await new Promise((r) => setTimeout(r, 300));
      }
      const ranBefore = started;
      assert.ok(ranBefore > 0 && ranBefore < READS, `${ranBefore} reads ran before the overwrite`);

      await fill(writer, NEW);

      reader.s.resume();
      let old = 0;
      for (let i = 0; i < READS; i++) {
        const r = await reader.simpleReply();
        assert.equal(r.error, 0);
        const data = (await reader.read(READ))!;
        const first = data[0];
        assert.ok(first === OLD(r.cookie) || first === NEW(r.cookie), `read ${r.cookie} got another piece's bytes`);
        assert.ok(
          data.every((b) => b === first),
          `read ${r.cookie} mixes bytes from before and after the overwrite`,
        );
        if (first === OLD(r.cookie)) old++;
      }
      console.log(`${thread}: ${ranBefore} reads ran before the overwrite, ${old} replies hold the old bytes`);
      // Every read that ran before the overwrite answers what was there then, and none after it.
      assert.equal(
        old,
        ranBefore,
        'a reply queued before the overwrite changed with it (or a later read did not see it)',
      );
      reader.close();
      writer.close();
    } finally {
      await t.close();
    }
  });
}

test('lent pages come back once each reply has been sent, and when a client goes away with replies queued', async () => {
  const t = await startDisks({ unix: true, size: 8n << 20n, thread: 'inline' });
  try {
    const c = await client(t.unixSockets[0]);
    c.request(CMD.WRITE, 0n, 1 << 20, 0, 1);
    c.write(Buffer.alloc(1 << 20, 7));
    assert.equal((await c.simpleReply()).error, 0);
    for (let i = 0; i < 8; i++) c.request(CMD.READ, BigInt(i) << 20n, 1 << 20, 0, 10 + i);
    for (let i = 0; i < 8; i++) {
      const r = await c.simpleReply();
      const data = (await c.read(1 << 20))!;
      assert.ok(
        data.every((b) => b === (r.cookie === 10 ? 7 : 0)),
        `read ${r.cookie} is wrong`,
      );
    }
    const backend = (t.engine.disks[0].path as InlineDataPath).backend as SparseMemoryBackend;
    const handedBack = async () => {
      for (let ms = 0; backend.lentPages > 0 && ms < 1000; ms += 20) await new Promise((r) => setTimeout(r, 20));
      return backend.lentPages === 0;
    };
    assert.ok(await handedBack(), 'pages still lent after every reply was sent');

    // A client that reads none of its replies and hangs up: what was lent to them comes back too.
    const quitter = await client(t.unixSockets[0]);
    quitter.s.pause();
    for (let i = 0; i < 64; i++) quitter.request(CMD.READ, 0n, 1 << 20, 0, i);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(backend.lentPages > 0, 'replies waiting for the client hold no lent pages');
    quitter.close();
    assert.ok(await handedBack(), `${backend.lentPages} pages still lent after their client went away`);

    // The disk is whole for the next client.
    c.request(CMD.READ, 0n, 1 << 20, 0, 99);
    assert.equal((await c.simpleReply()).error, 0);
    assert.ok((await c.read(1 << 20))!.every((b) => b === 7));
    c.close();
  } finally {
    await t.close();
  }
});
