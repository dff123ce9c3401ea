// Issue 16, findings 3 and 4, reproduced against `blockscope serve` in its own process: a client
// that never reads its replies, and handshake garbage. Before: RSS grew past 6 GiB, other clients
// timed out and SIGTERM was ignored for 36 s; 1 GiB sent before NBD_OPT_GO was all kept.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CMD, OPT, REP } from '../protocol/constants.ts';
import { RawClient } from './raw-client.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

const MiB = 1024 * 1024;
let srv: ServeProcess;
before(async () => {
  srv = await startServeProcess(['--size', '1G']);
});
after(() => srv?.kill());

async function transmission(): Promise<RawClient> {
  const c = await RawClient.open(srv.socket());
  await c.hello();
  await c.go();
  return c;
}

test(
  'a client that never reads its replies: bounded memory, others served fast, SIGTERM still quick',
  { timeout: 300_000 },
  async () => {
    const baseline = srv.rss();
    // The hostile client: 2,000 reads of 32 MiB (62.5 GiB of replies) and never a byte read back.
    const hog = await transmission();
    hog.s.pause();
    for (let i = 0; i < 2000; i++) hog.request(CMD.READ, BigInt(i % 32) * 32n * BigInt(MiB), 32 * MiB, 0, i);

    const other = await transmission();
    const latencies: number[] = [];
    let peak = baseline;
    const until = Date.now() + 8000;
    let cookie = 0;
    while (Date.now() < until) {
      const start = performance.now();
      other.request(CMD.READ, 512n * BigInt(MiB), 64 * 1024, 0, ++cookie);
      const r = await other.simpleReply();
      assert.equal(r.error, 0);
      assert.equal((await other.read(64 * 1024))?.length, 64 * 1024);
      latencies.push(performance.now() - start);
      peak = Math.max(peak, srv.rss());
      await new Promise((res) => setTimeout(res, 100));
    }
    latencies.sort((a, b) => a - b);
    const worst = latencies[latencies.length - 1];
    console.log(
      `never-reading client: RSS ${Math.round(baseline / MiB)} → peak ${Math.round(peak / MiB)} MiB; ` +
        `other client's 64 KiB reads: ${latencies.length}, median ${latencies[latencies.length >> 1].toFixed(1)} ms, worst ${worst.toFixed(1)} ms`,
    );
    assert.ok(peak - baseline < 1024 * MiB, `RSS grew by ${Math.round((peak - baseline) / MiB)} MiB`);
    assert.ok(worst < 1000, `another client's 64 KiB read took ${worst.toFixed(0)} ms`);
    assert.ok(srv.alive());

    // Handshake garbage on the same server meanwhile: 1 GiB offered before GO is not kept.
    const garbage = await RawClient.open(srv.socket());
    await garbage.hello();
    const before = srv.rss();
    const chunk = Buffer.alloc(8 * MiB, 0x5a);
    garbage.option(OPT.GO, Buffer.alloc(0)); // a malformed GO: ERR_INVALID, negotiation goes on
    assert.equal((await garbage.reply()).type, REP.ERR_INVALID);
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(0x49484156454f5054n, 0);
    header.writeUInt32BE(OPT.GO, 8);
    header.writeUInt32BE(0xffffffff, 12); // "4 GiB of option data follow"
    garbage.write(header);
    for (let i = 0; i < 128 && !garbage.closed; i++) {
      garbage.write(chunk);
      await new Promise((res) => setImmediate(res));
    }
    assert.ok(await garbage.waitClosed(20_000), 'a 4 GiB option is dropped once past the handshake byte cap');
    const grown = srv.rss() - before;
    assert.ok(grown < 256 * MiB, `handshake garbage grew RSS by ${Math.round(grown / MiB)} MiB`);

    const ms = await srv.terminate(10_000);
    console.log(`SIGTERM with the never-reading client still connected: exit after ${ms.toFixed(0)} ms`);
    assert.ok(ms < 3000, `SIGTERM took ${ms.toFixed(0)} ms`);
    hog.close();
    other.close();
  },
);
