// The NBD mutation fuzzer (fuzz/nbd-fuzzer.ts) against `blockscope serve` in its own process
// (TLS on, log filter on: every path a client can reach). Quick run in `npm test`; long run:
//   BLOCKSCOPE_FUZZ_CASES=1000000 node --import tsx --test server/test/fuzz.test.ts
// Replay: BLOCKSCOPE_FUZZ_SEED=S BLOCKSCOPE_FUZZ_FROM=I BLOCKSCOPE_FUZZ_CASES=1 (a failure prints S and I).
//
// After every batch: the server is alive, a well-behaved control client reads back exactly what
// it wrote to the region no case may touch, the server's RSS and open descriptors are bounded,
// and the last-resort guard never fired (each case got a reply or a clean disconnect).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CMD } from '../protocol/constants.ts';
import { makeCase, type FuzzCase, type Geometry } from './fuzz/nbd-fuzzer.ts';
import { RawClient } from './raw-client.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

const MiB = 1024 * 1024;
const CASES = Number(process.env.BLOCKSCOPE_FUZZ_CASES ?? 20_000);
const FROM = Number(process.env.BLOCKSCOPE_FUZZ_FROM ?? 0);
const SEED = Number(process.env.BLOCKSCOPE_FUZZ_SEED ?? 20261123);
const BATCH = Math.min(2000, CASES);
const PARALLEL = 12;
/** How long a case waits for more bytes from the server before it hangs up itself. */
const QUIET_MS = 25;

const g: Geometry = { size: 64n * BigInt(MiB), protectedStart: 63n * BigInt(MiB) };
let srv: ServeProcess;
let control: RawClient;
const controlData = randomBytes(MiB);

before(async () => {
  const pskFile = join(tmpdir(), `blockscope-fuzz-${process.pid}.psk`);
  writeFileSync(pskFile, `fuzz:${randomBytes(32).toString('hex')}\n`);
  srv = await startServeProcess([
    '--size',
    '64M',
    '--tls=on',
    `--tls-psk=${pskFile}`,
    '--handshake-timeout',
    '2',
    '--filter=log',
    `logfile=/dev/null`,
  ]);
  control = await RawClient.open(srv.socket());
  await control.hello();
  await control.go();
  control.request(CMD.WRITE, g.protectedStart, MiB, 0, 1);
  control.write(controlData);
  assert.deepEqual(await control.simpleReply(), { error: 0, cookie: 1 });
});
after(async () => {
  await srv?.kill();
  rmSync(join(tmpdir(), `blockscope-fuzz-${process.pid}.psk`), { force: true });
});

/** Send one case; read (and drop) what comes back until the server closes or goes quiet. */
function runCase(c: FuzzCase): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(srv.socket());
    let quiet: NodeJS.Timeout | undefined;
    const hardStop = setTimeout(() => s.destroy(), 5000);
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(hardStop);
      resolve();
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => s.destroy(), QUIET_MS);
    };
    s.on('error', () => {});
    s.on('close', done);
    s.on('data', () => c.then === 'read' && rearm());
    s.on('connect', async () => {
      for (const chunk of c.chunks) {
        if (s.destroyed) return;
        s.write(chunk);
        if (c.chunks.length > 1) await new Promise((r) => setImmediate(r));
      }
      if (c.then === 'close') s.destroy();
      else rearm();
    });
  });
}

async function checkpoint(label: string, baseline: { rss: number; fds: number }): Promise<void> {
  assert.ok(srv.alive(), `${label}: the server died:\n${srv.stderr().slice(-4000)}`);
  const guard = /internal error/.exec(srv.stderr());
  assert.equal(guard, null, `${label}: the last-resort guard fired:\n${srv.stderr().slice(-4000)}`);
  control.request(CMD.READ, g.protectedStart, MiB, 0, 2);
  const r = await control.simpleReply();
  assert.equal(r.error, 0, `${label}: control read failed`);
  assert.ok((await control.read(MiB))?.equals(controlData), `${label}: the control region changed`);
  // Descriptors: every fuzz connection is closed by now (or within a moment).
  let fds = srv.fds();
  for (let i = 0; i < 100 && fds > baseline.fds + 4; i++) {
    await new Promise((res) => setTimeout(res, 20));
    fds = srv.fds();
  }
  assert.ok(fds <= baseline.fds + 4, `${label}: ${fds} open descriptors (baseline ${baseline.fds})`);
  const rss = srv.rss();
  assert.ok(rss < baseline.rss + 768 * MiB, `${label}: RSS ${Math.round(rss / MiB)} MiB`);
}

test(
  `fuzz: ${CASES} cases from seed ${SEED}; server alive, control data intact, RSS and fds bounded`,
  { timeout: 300_000 },
  async () => {
    const baseline = { rss: srv.rss(), fds: srv.fds() };
    const kinds = { handshake: 0, transmission: 0, garbage: 0 };
    const started = performance.now();
    let peakRss = baseline.rss;
    for (let batch = FROM; batch < FROM + CASES; batch += BATCH) {
      const end = Math.min(batch + BATCH, FROM + CASES);
      let next = batch;
      let current = -1;
      const worker = async () => {
        while (next < end) {
          const i = next++;
          current = i;
          const c = makeCase(SEED, i, g);
          kinds[c.kind]++;
          await runCase(c);
        }
      };
      try {
        await Promise.all(Array.from({ length: PARALLEL }, worker));
        await checkpoint(`cases ${batch}..${end - 1}`, baseline);
      } catch (err) {
        console.log(
          `fuzz failure: replay with BLOCKSCOPE_FUZZ_SEED=${SEED} BLOCKSCOPE_FUZZ_FROM=${batch} ` +
            `BLOCKSCOPE_FUZZ_CASES=${end - batch} (last case started: ${current})`,
        );
        throw err;
      }
      peakRss = Math.max(peakRss, srv.rss());
    }
    const s = (performance.now() - started) / 1000;
    console.log(
      `fuzz: ${CASES} cases (${kinds.handshake} handshake, ${kinds.transmission} transmission, ` +
        `${kinds.garbage} garbage) in ${s.toFixed(1)} s; server RSS ${Math.round(baseline.rss / MiB)} → peak ` +
        `${Math.round(peakRss / MiB)} MiB, fds ${baseline.fds} → ${srv.fds()}`,
    );
  },
);
