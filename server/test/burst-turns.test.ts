// A connection that sends a big burst of pipelined requests is served a few ms per event-loop
// turn (connection/turn-budget.ts) and loses nothing: every request runs once, in order, with its
// payload, across the pauses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { turnBudget } from '../connection/turn-budget.ts';
import { CMD, REQUEST_MAGIC } from '../protocol/constants.ts';
import { startDisks } from './harness.ts';
import { RawClient } from './raw-client.ts';

const WRITES = 20_000;
const PIECE = 512;

test('a burst of 20,000 pipelined writes is spread over turns, and every write lands', async () => {
  // Inline: the budget counted here is this thread's (a worker disk has its own, out of sight).
  const t = await startDisks({ unix: true, size: 64n << 20n, thread: 'inline' });
  let turns = 0;
  let counting = true;
  const count = () => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  try {
    const c = await RawClient.open(t.unixSockets[0]);
    await c.hello();
    await c.go();
    const deferralsBefore = turnBudget.deferrals;
    const turnsBefore = turns;
    // One write of 10 MiB: each piece holds its own number.
    const burst: Buffer[] = [];
    for (let i = 0; i < WRITES; i++) {
      const h = Buffer.alloc(28);
      h.writeUInt32BE(REQUEST_MAGIC, 0);
      h.writeUInt16BE(CMD.WRITE, 6);
      h.writeUInt32BE(i, 12);
      h.writeBigUInt64BE(BigInt(i * PIECE), 16);
      h.writeUInt32BE(PIECE, 24);
      const data = Buffer.alloc(PIECE);
      data.writeUInt32BE(i, 0);
      data.fill(i % 251, 4);
      burst.push(h, data);
    }
    c.write(Buffer.concat(burst));
    for (let i = 0; i < WRITES; i++) {
      const r = await c.simpleReply();
      assert.equal(r.error, 0);
      assert.equal(r.cookie, i, 'replies of a memory disk come in request order');
    }
    const deferrals = turnBudget.deferrals - deferralsBefore;
    console.log(`${WRITES} writes served over ${turns - turnsBefore} turns, put off ${deferrals} times`);
    assert.ok(deferrals > 0, 'the burst never waited for a later turn');

    c.request(CMD.READ, 0n, WRITES * PIECE, 0, 99);
    assert.equal((await c.simpleReply()).error, 0);
    const back = (await c.read(WRITES * PIECE))!;
    for (let i = 0; i < WRITES; i++) {
      const piece = back.subarray(i * PIECE, (i + 1) * PIECE);
      assert.equal(piece.readUInt32BE(0), i, `piece ${i} holds another write`);
      assert.ok(
        piece.subarray(4).every((b) => b === i % 251),
        `piece ${i} is torn`,
      );
    }
    c.close();
  } finally {
    counting = false;
    await t.close();
  }
});
