// The time machine against real clients: the live recording follows qemu-io, nbdcopy and fio;
// seeking back shows the earlier state and "live" the present; a saved recording replays; the
// plots' data has the shapes known workloads must give.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { ControlApi } from '../control/api.ts';
import { startControlServer } from '../control/http.ts';
import { Engine } from '../engine.ts';
import type { TimelineSeries, TimelineStatus } from '../shared/types.ts';
import { LiveRecording } from '../timeline/live.ts';
import { openReplay } from '../timeline/replay.ts';
import { eventually, requireBinary, run, startDisks } from './harness.ts';

test('live recording: seek back to an earlier instant, then back to live; a saved copy replays', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const t = await startDisks({ disks: 1 });
  const rec = await LiveRecording.start(t.engine, {
    path: join(t.dir, 'live.bsrec'),
    limit: 0,
    checkpointRequests: 20,
  });
  const api = new ControlApi(t.engine);
  const disk = t.engine.disk(1);
  try {
    const w1 = await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'write -P 1 0 1M']);
    assert.equal(w1.code, 0, w1.stderr);
    await eventually(() => disk.info().blocks.written, 256, 'the first write is on the grid');
    await new Promise((r) => setTimeout(r, 50));
    const mid = ((await api.call('timeline', { action: 'status' })) as TimelineStatus).positionSec;
    await new Promise((r) => setTimeout(r, 50));
    const w2 = await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', 'write -P 2 8M 2M', '-c', 'discard 0 64k']);
    assert.equal(w2.code, 0, w2.stderr);
    await eventually(() => disk.info().blocks.trimmed, 16, 'the discard is on the grid');
    assert.equal(disk.info().blocks.written, 256 + 512 - 16);
    let s = (await api.call('timeline', { action: 'seek', seconds: mid })) as TimelineStatus;
    assert.equal(s.following, false);
    assert.equal(disk.info().blocks.written, 256, 'the grid shows the state after the first write only');
    assert.equal(disk.info().blocks.trimmed, 0);
    assert.equal(disk.shown().inspectCell(0).state, 'written');
    s = (await api.call('timeline', { action: 'live' })) as TimelineStatus;
    assert.equal(s.following, true);
    assert.equal(disk.info().blocks.written, 256 + 512 - 16);
    assert.equal(disk.info().blocks.trimmed, 16);
    // Save, then replay the copy elsewhere: same final state.
    const saved = join(t.dir, 'saved.bsrec');
    await api.call('saveRecording', { path: saved });
    await assert.rejects(api.call('saveRecording', { path: saved }), /EEXIST/);
    await assert.rejects(api.call('saveRecording', { path: 'relative.bsrec' }), /absolute/);
    const other = new Engine();
    const replay = await openReplay(other, saved);
    await replay.act('seek', { seconds: 1e6 });
    assert.deepEqual(other.disk(1).info().blocks, disk.info().blocks);
    await replay.act('seek', { seconds: mid });
    assert.equal(other.disk(1).info().blocks.written, 256);
    await replay.close();
  } finally {
    await rec.close();
    await t.close();
  }
});

/** Fraction of successive points whose offset does not go down. */
function nonDecreasing(xs: number[]): number {
  let ok = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] >= xs[i - 1]) ok++;
  return ok / Math.max(1, xs.length - 1);
}

function writesOf(s: TimelineSeries): Array<{ t: number; offset: number }> {
  const out: Array<{ t: number; offset: number }> = [];
  for (let i = 0; i < s.scatter.t.length; i++)
    if (s.scatter.op[i] === 1) out.push({ t: s.scatter.t[i], offset: s.scatter.offset[i] });
  return out.sort((a, b) => a.t - b.t);
}

test('plots: sequential nbdcopy gives monotonic offsets, fio randwrite a uniform scatter', async () => {
  requireBinary('nbdcopy', 'libnbd-bin');
  requireBinary('nbdkit', 'nbdkit');
  requireBinary('fio', 'fio');
  const size = 64n << 20n;
  const t = await startDisks({ disks: 2, size });
  const rec = await LiveRecording.start(t.engine, { path: join(t.dir, 'plots.bsrec'), limit: 0 });
  const api = new ControlApi(t.engine);
  try {
    const copy = await run(
      'nbdcopy',
      [
        '--connections=1',
        '--requests=1',
        '--',
        '[',
        'nbdkit',
        '--exit-with-parent',
        'pattern',
        'size=32M',
        ']',
        t.uris[0],
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(copy.code, 0, copy.stderr);
    const fio = await run(
      'fio',
      [
        '--name=plots',
        '--ioengine=nbd',
        `--uri=${t.uris[1]}`,
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=8',
        '--size=64M',
        '--io_size=24M',
      ],
      { timeoutMs: 180_000 },
    );
    assert.equal(fio.code, 0, fio.stderr + fio.stdout);

    const seq = (await api.call('timelineSeries', { disk: 1, bins: 50, points: 100_000 })) as TimelineSeries;
    const seqWrites = writesOf(seq);
    assert.ok(seq.scatterComplete, 'every request of the copy is in the scatter');
    assert.ok(seqWrites.length >= 16, `nbdcopy wrote in ${seqWrites.length} requests`);
    assert.equal(nonDecreasing(seqWrites.map((p) => p.offset)), 1, 'offsets only go up');
    assert.equal(seqWrites[0].offset, 0);
    assert.ok(seq.bytesPerSec.write.some((v) => v > 0) && seq.iops.write.some((v) => v > 0));

    const rnd = (await api.call('timelineSeries', { disk: 2, bins: 50, points: 100_000 })) as TimelineSeries;
    const rndWrites = writesOf(rnd);
    assert.equal(rndWrites.length, (24 << 20) / 4096, 'one point per fio write');
    // Uniform over the disk: 16 equal slices each get their share (±35 %)...
    const slices = new Array<number>(16).fill(0);
    for (const p of rndWrites) slices[Math.floor((p.offset / Number(size)) * 16)]++;
    const mean = rndWrites.length / 16;
    for (const [i, n] of slices.entries())
      assert.ok(n > mean * 0.65 && n < mean * 1.35, `slice ${i}: ${n} points, mean ${mean}`);
    // ...and nothing like a sweep: offsets go down about as often as up, no trend with time.
    const up = nonDecreasing(rndWrites.map((p) => p.offset));
    assert.ok(up > 0.4 && up < 0.6, `random offsets rise ${(up * 100).toFixed(0)} % of the time`);
    const n = rndWrites.length;
    const mt = rndWrites.reduce((a, p) => a + p.t, 0) / n;
    const mo = rndWrites.reduce((a, p) => a + p.offset, 0) / n;
    let cov = 0;
    let vt = 0;
    let vo = 0;
    for (const p of rndWrites) {
      cov += (p.t - mt) * (p.offset - mo);
      vt += (p.t - mt) ** 2;
      vo += (p.offset - mo) ** 2;
    }
    const r = cov / Math.sqrt(vt * vo);
    assert.ok(Math.abs(r) < 0.1, `time/offset correlation ${r.toFixed(3)}`);
    assert.ok(
      rnd.queueDepth.some((q) => q > 1),
      'fio kept several requests in flight',
    );
    assert.ok(rnd.latencyP99Us.some((v) => v > 0));
  } finally {
    await rec.close();
    await t.close();
  }
});

test("a view that connects gets the time machine's status before the disks (its strip is laid out at once)", async () => {
  const t = await startDisks({ disks: 2 });
  try {
    assert.deepEqual(
      t.engine.greeting().map((m) => m.event),
      ['disks'],
      'no recording: no timeline message',
    );
    const rec = await LiveRecording.start(t.engine, { path: join(t.dir, 'greet.bsrec'), limit: 0 });
    try {
      const g = t.engine.greeting();
      assert.deepEqual(
        g.map((m) => m.event),
        ['timeline', 'disks'],
      );
      const first = g[0] as Extract<(typeof g)[number], { event: 'timeline' }>;
      assert.equal(first.status.mode, 'live');
    } finally {
      await rec.close();
    }
  } finally {
    await t.close();
  }
});

test('a timeline call right after a layout change waits for the new recording, never hears "off"', async () => {
  const t = await startDisks({ disks: 1 });
  const rec = await LiveRecording.start(t.engine, { path: join(t.dir, 'layouts.bsrec'), limit: 0 });
  const api = new ControlApi(t.engine);
  try {
    for (const preset of ['raid5', 'single', 'raid1', 'single']) {
      // Not awaited: the status call is in flight while the disk set changes under it.
      const applied = api.call('applyPreset', { preset, size: '16M' });
      const status = api.call('timeline', { action: 'status' });
      await applied;
      const s = (await status) as TimelineStatus;
      assert.equal(s.mode, 'live');
      const after = (await api.call('timeline', { action: 'status' })) as TimelineStatus;
      assert.equal(after.mode, 'live', `after ${preset}`);
    }
  } finally {
    await rec.close();
    await t.close();
  }
});

test('an export that borrows the time machine over a WebSocket gives it back when its page goes away', async () => {
  requireBinary('qemu-io', 'qemu-utils');
  const t = await startDisks({ disks: 1 });
  const rec = await LiveRecording.start(t.engine, { path: join(t.dir, 'borrow.bsrec'), limit: 0 });
  const server = await startControlServer(t.engine, { port: 0 });
  const api = new ControlApi(t.engine);
  const status = async () => (await api.call('timeline', { action: 'status' })) as TimelineStatus;
  const page = async () => {
    const ws = new WebSocket(server.urlFor('/ws').replace('http', 'ws'));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    let id = 0;
    const call = (params: object) =>
      new Promise<void>((resolve) => {
        const mine = ++id;
        const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
          if (isBinary || JSON.parse(data.toString()).id !== mine) return;
          ws.off('message', onMessage);
          resolve();
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id: mine, method: 'timeline', params }));
      });
    return { ws, call };
  };
  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await ok(), what);
  };
  try {
    // Requests over half a second: instants to seek to.
    for (const cmd of ['write 0 64k', 'write 1M 64k', 'write 2M 64k']) {
      assert.equal((await run('qemu-io', ['-f', 'raw', t.uris[0], '-c', cmd])).code, 0);
      await new Promise((r) => setTimeout(r, 250));
    }
    const { startSec, endSec } = await status();
    const at = (f: number) => startSec + f * (endSec - startSec);
    // Live: the export pauses and seeks, then its page closes mid-export.
    let p = await page();
    await p.call({ action: 'pause', borrow: true });
    await p.call({ action: 'seek', seconds: at(0.2), borrow: true });
    assert.equal((await status()).following, false);
    p.ws.close();
    await until('back to live after the borrowing page closed', async () => (await status()).following);
    // Paused in the past by someone: it goes back to that instant, not to live.
    const was = ((await api.call('timeline', { action: 'seek', seconds: at(0.6) })) as TimelineStatus).positionSec;
    p = await page();
    await p.call({ action: 'seek', seconds: at(0.1), borrow: true });
    assert.notEqual((await status()).positionSec, was);
    p.ws.close();
    await until('back where it was', async () => (await status()).positionSec === was);
    assert.equal((await status()).following, false);
    // An unmarked call (the page put it back itself, then the user scrubbed): closing changes nothing.
    await api.call('timeline', { action: 'live' });
    p = await page();
    await p.call({ action: 'seek', seconds: at(0.1), borrow: true });
    await p.call({ action: 'seek', seconds: at(0.3) });
    const scrubbed = (await status()).positionSec;
    p.ws.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await status()).following, false);
    assert.equal((await status()).positionSec, scrubbed);
  } finally {
    await server.close();
    await rec.close();
    await t.close();
  }
});
