import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Disk } from '../disk.ts';
import { DiskStats } from '../events/disk-stats.ts';
import { EventBus } from '../events/event-bus.ts';
import { run as runHarness } from '../test/harness.ts';
import { Player, type PlaybackTarget } from '../timeline/player.ts';
import type { Op, RequestEvent } from '../shared/types.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { BlockType } from './format.ts';
import { Recorder } from './recorder.ts';
import { openSession } from './session-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-record-test-'));
after(() => process.env.TM_KEEP || rmSync(dir, { recursive: true, force: true }));

/** A deterministic pseudo-random sequence. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Everything a picture depends on, as comparable plain data. */
function fingerprint(stats: DiskStats) {
  const blocks: number[] = [];
  for (let b = 0; b < stats.geometry.blocks; b++) blocks.push(stats.states.get(b));
  const snap = stats.snapshot();
  const cells = Array.from({ length: stats.geometry.cells }, (_, c) => {
    const i = stats.inspectCell(c);
    return `${i.state}${i.error ? '!' : ''}:${i.reads}:${i.writes}:${i.lastOp ?? '-'}`;
  });
  return { blocks, counters: snap.counters, inFlight: snap.inFlight, counts: snap.blocks, cells };
}

interface Driven {
  disks: Disk[];
  snapshots: Array<{ timeUs: number; prints: ReturnType<typeof fingerprint>[] }>;
  path: string;
}

/** Drive two disks with a random mix of requests (overlapping, failing, clears), recording. */
async function drive(name: string, o: { capacity?: number; requests?: number; size?: bigint } = {}): Promise<Driven> {
  const size = o.size ?? 8n << 20n;
  const disks = [Disk.external(1, size, 'attach'), Disk.external(2, size, 'attach')];
  for (const d of disks) d.stats.wallOffsetMs = 1_000_000;
  const path = join(dir, `${name}.bsrec`);
  const rec = await Recorder.start(disks, {
    path,
    capacity: o.capacity ?? 0,
    source: 'synthetic',
    t0Us: 0,
    wallStartMs: 1_000_000,
    live: false,
    // Many checkpoints in a short run: the time floor (250 ms) would leave two.
    checkpointRequests: 200,
    checkpointMinMs: 0,
  });
  const rand = rng(42);
  const ops: Op[] = ['read', 'write', 'write', 'trim', 'zero', 'flush'];
  const flying: RequestEvent[] = [];
  const snapshots: Driven['snapshots'] = [];
  let t = 10;
  const blocks = Number(size / 4096n);
  const total = o.requests ?? 3000;
  for (let i = 0; i < total; i++) {
    t += Math.floor(rand() * 300);
    const disk = disks[rand() < 0.6 ? 0 : 1];
    const ev: RequestEvent = {
      disk: disk.number,
      connection: 1 + Math.floor(rand() * 2),
      id: i + 1,
      op: ops[Math.floor(rand() * ops.length)],
      offset: BigInt(Math.floor(rand() * blocks)) * 4096n + (rand() < 0.1 ? 512n : 0n),
      length: 4096 * (1 + Math.floor(rand() * 8)),
      flags: rand() < 0.1 ? 1 : 0,
      startUs: t,
      endUs: 0,
      error: null,
    };
    disk.bus.emit('start', ev);
    flying.push(ev);
    // Complete some in-flight requests, out of order.
    while (flying.length > 3 || (flying.length && rand() < 0.5)) {
      const k = Math.floor(rand() * flying.length);
      const done = flying.splice(k, 1)[0];
      t += Math.floor(rand() * 50);
      done.endUs = t;
      done.error = rand() < 0.05 ? 'EIO' : null;
      disks[done.disk - 1].bus.emit('end', done);
    }
    if (i === 1500) disks[1].stats.clear();
    if (i % 250 === 125) {
      rec.mark({ kind: 'caption', timeUs: t, step: i, total, title: `at ${i}`, text: `request ${i}` });
      snapshots.push({ timeUs: t, prints: disks.map((d) => fingerprint(d.stats)) });
    }
  }
  await rec.close();
  return { disks, snapshots, path };
}

function targetsFor(disks: Disk[]): Map<number, PlaybackTarget> {
  const m = new Map<number, PlaybackTarget>();
  for (const d of disks) {
    const bus = new EventBus();
    m.set(d.number, { disk: d.number, bus, stats: new DiskStats(d.number, d.size, bus) });
  }
  return m;
}

describe('varints', () => {
  test('numbers and 64-bit bigints round-trip exactly', () => {
    const w = new ByteWriter(4);
    const nums = [0, 1, 127, 128, 2 ** 31, 2 ** 32 + 5, 2 ** 52 - 1];
    const bigs = [0n, (1n << 63n) - 1n, 7n << 60n, (1n << 64n) - 1n];
    for (const n of nums) {
      w.uv(n);
      w.sv(-n);
    }
    for (const b of bigs) w.uvBig(b);
    w.svBig(-(1n << 62n));
    const r = new ByteReader(w.view());
    for (const n of nums) {
      assert.equal(r.uv(), n);
      assert.equal(r.sv(), -n || 0);
    }
    for (const b of bigs) assert.equal(r.uvBig(), b);
    assert.equal(r.svBig(), -(1n << 62n));
    assert.ok(r.done);
    assert.throws(() => r.uv(), /truncated/);
  });
});

describe('recording and playback', () => {
  /** Seek to every snapshot (out of order) and to the end: each must be what the live disks had. */
  async function assertExactPlayback(run: Driven): Promise<void> {
    const s = await openSession(run.path);
    try {
      assert.equal(s.header.meta.disks.length, 2);
      assert.ok(s.index.marks.length >= 10, 'captions were recorded as marks');
      const targets = targetsFor(run.disks);
      const player = new Player(s.index, s.header, targets);
      // Out of order on purpose: backwards seeks restore from a checkpoint, forwards play on.
      const order = process.env.TM_INORDER
        ? run.snapshots.map((_, i) => i)
        : run.snapshots.map((_, i) => i).sort((a, b) => ((a * 7) % 5) - ((b * 7) % 5));
      for (const i of order) {
        const snap = run.snapshots[i];
        await player.seek(snap.timeUs);
        for (const [k, d] of run.disks.entries())
          assert.deepEqual(
            fingerprint(targets.get(d.number)!.stats),
            snap.prints[k],
            `disk ${d.number} at ${snap.timeUs} µs`,
          );
      }
      // The end of the recording is the final live state.
      await player.seek(Infinity);
      for (const d of run.disks) assert.deepEqual(fingerprint(targets.get(d.number)!.stats), fingerprint(d.stats));
    } finally {
      await s.close();
    }
  }

  test('seeking anywhere rebuilds the exact state the live disks had', async () => {
    await assertExactPlayback(await drive('exact'));
  });

  test('delta checkpoints: most are deltas, every 8th is whole, and they rebuild exactly (2 blocks a cell)', async () => {
    // 2 GiB: two blocks per cell, and the 512-byte-shifted requests leave cells half written.
    const run = await drive('delta', { size: 2n << 30n });
    const s = await openSession(run.path);
    const kinds = s.index.entries
      .filter((e) => e.h.type === BlockType.CHECKPOINT || e.h.type === BlockType.DELTA)
      .map((e) => (e.h.type === BlockType.CHECKPOINT ? 'W' : 'd'))
      .join('');
    await s.close();
    assert.match(kinds, /^W/, 'the first checkpoint is whole');
    assert.ok(kinds.split('d').length - 1 >= 5, `deltas were written: ${kinds}`);
    for (const run of kinds.split('W')) assert.ok(run.length <= 7, `at most 7 deltas in a row: ${kinds}`);
    await assertExactPlayback(run);
  });

  test('live: a checkpoint every checkpointMs of activity, not more often', async () => {
    const disk = Disk.external(1, 8n << 20n, 'attach');
    const path = join(dir, 'live-cadence.bsrec');
    const t0Us = performance.now() * 1000;
    const rec = await Recorder.start([disk], {
      ...{ path, capacity: 0, source: 'synthetic', t0Us, wallStartMs: Date.now() },
      ...{ live: true, flushMs: 20, checkpointMs: 400 },
    });
    const started = performance.now();
    for (let i = 1; performance.now() - started < 1000; i++) {
      const ev: RequestEvent = {
        ...{ disk: 1, connection: 1, id: i, op: 'write', offset: BigInt(i % 2048) * 4096n, length: 4096, flags: 0 },
        ...{ startUs: performance.now() * 1000, endUs: 0, error: null },
      };
      disk.bus.emit('start', ev);
      ev.endUs = performance.now() * 1000;
      disk.bus.emit('end', ev);
      await new Promise((r) => setTimeout(r, 5));
    }
    await rec.close();
    const s = await openSession(path);
    const checkpoints = s.index.entries.filter((e) => e.checkpoint !== null).length;
    await s.close();
    // The first at the start, then one per 400 ms of activity: 3 in a second (2 when slow).
    assert.ok(checkpoints >= 2 && checkpoints <= 3, `${checkpoints} checkpoints in 1 s at checkpointMs 400`);
  });

  test('a flood makes a checkpoint per 8192 requests, at most 4 a second unless 32768 came; whole ones when they are cheaper', async () => {
    /**
     * Requests and ms between successive checkpoints of 4 KiB random writes at `perSecond` into the
     * first `cells` of a 64 MiB disk's 16384 cells, and whether each checkpoint is whole.
     */
    const gaps = async (perSecond: number, requests: number, cells = 16384) => {
      const disk = Disk.external(1, 64n << 20n, 'attach');
      const path = join(dir, `flood-${perSecond}.bsrec`);
      const rec = await Recorder.start([disk], {
        ...{ path, capacity: 0, source: 'synthetic', t0Us: 0, wallStartMs: 0, live: false },
      });
      const rand = rng(perSecond);
      const ev = {} as RequestEvent;
      for (let i = 0; i < requests; i++) {
        const t = (i * 1e6) / perSecond;
        Object.assign(ev, { disk: 1, connection: 1, id: i + 1, op: 'write', length: 4096, flags: 0, error: null });
        Object.assign(ev, {
          offset: BigInt(Math.floor(rand() * cells)) * 4096n,
          startUs: t,
          endUs: 0,
          recordStart: -1,
        });
        disk.bus.emit('start', ev);
        ev.endUs = t + 10;
        disk.bus.emit('end', ev);
        if (rec.queuedBytes > 8 << 20) await rec.flush();
      }
      await rec.close();
      const s = await openSession(path);
      const cps = s.index.entries.filter((e) => e.checkpoint);
      await s.close();
      // Two records (START and END) per request.
      return cps.slice(1).map((e, i) => ({
        requests: (e.checkpoint![0].nextRecord - cps[i].checkpoint![0].nextRecord) / 2,
        ms: (e.h.firstUs - cps[i].h.firstUs) / 1000,
        whole: e.h.type === BlockType.CHECKPOINT,
      }));
    };
    // Slow: every 8192 requests. 80,000 a second: every 250 ms. A million a second: every 32768.
    for (const [perSecond, expect] of [
      [2_000, 8192],
      [80_000, 20_000],
      [1_000_000, 32_768],
    ]) {
      const g = await gaps(perSecond, 200_000);
      assert.ok(g.length >= 4, `${perSecond}/s: ${g.length} checkpoints`);
      for (const { requests, ms, whole } of g) {
        assert.ok(
          requests >= 8192 && (ms >= 250 || requests >= 32768),
          `${perSecond}/s: ${requests} requests, ${ms} ms`,
        );
        assert.ok(Math.abs(requests - expect) <= 1, `${perSecond}/s: ${requests} requests apart, expected ${expect}`);
        // Each interval names over an eighth of the cells: a delta would cost more than a whole one.
        assert.ok(whole, `${perSecond}/s: a delta naming most cells`);
      }
    }
    // Writes confined to 1024 cells (a sixteenth): deltas, and a whole one every 8th.
    const kinds = (await gaps(2_000, 100_000, 1024)).map((x) => (x.whole ? 'W' : 'd')).join('');
    assert.match(kinds, /^d{7}Wd{4}$/, kinds);
  });

  test('only a whole keyframe follows a clear, and deltas carry what changed since the last one', () => {
    const bus = new EventBus();
    const stats = new DiskStats(1, 8n << 20n, bus);
    assert.equal(stats.takeChangedCells(), null, 'no keyframe yet');
    stats.markKeyframe();
    const ev: RequestEvent = {
      ...{ disk: 1, connection: 1, id: 1, op: 'write', offset: 40960n, length: 8192, flags: 0 },
      ...{ startUs: 1, endUs: 0, error: null },
    };
    bus.emit('start', ev);
    ev.endUs = 2;
    bus.emit('end', ev);
    assert.deepEqual([...stats.takeChangedCells()!], [10, 11]);
    assert.deepEqual([...stats.takeChangedCells()!], [], 'each delta is relative to the one before');
    stats.clear();
    assert.equal(stats.takeChangedCells(), null, 'after a clear');
  });

  /**
   * A live checkpoint written a slice per turn while requests go on changing the cells it names:
   * seeking to its instant must give the disk as it was then, not as the turns after left it.
   */
  async function checkpointOverTurns(name: string, wholeEvery: number): Promise<void> {
    // 2 GiB: 262,144 cells of 2 blocks (half-written cells have mixed states), 8 block-map pages.
    const disk = Disk.external(1, 2n << 30n, 'attach');
    disk.stats.wallOffsetMs = 1_000_000;
    const path = join(dir, `${name}.bsrec`);
    const base = Math.floor(performance.now() * 1000);
    const rec = await Recorder.start([disk], {
      ...{ path, capacity: 0, source: 'synthetic', t0Us: base, wallStartMs: 1_000_000, live: true, wholeEvery },
      // One slice a turn (256 cells of a delta, 4096 of a whole keyframe), checkpoints by hand only.
      ...{ checkpointSliceMs: 0, checkpointRequests: 1e9, checkpointMs: 1e9 },
    });
    await rec.flush();
    const rand = rng(7);
    const ops: Op[] = ['read', 'write', 'write', 'write', 'trim', 'zero'];
    let id = 0;
    const request = (t: number, block: number) => {
      const ev: RequestEvent = {
        ...{ disk: 1, connection: 1, id: ++id, op: ops[Math.floor(rand() * ops.length)], flags: 0 },
        ...{ offset: BigInt(block) * 4096n, length: 4096 * (1 + Math.floor(rand() * 3)) },
        ...{ startUs: base + t, endUs: 0, error: null },
      };
      disk.bus.emit('start', ev);
      ev.endUs = base + t + 5;
      ev.error = rand() < 0.05 ? 'EIO' : null;
      disk.bus.emit('end', ev);
    };
    // Before the checkpoint: 3,000 requests in the first 16,384 cells (a delta names ~2,500).
    const span = 2 * 16_384;
    for (let i = 0; i < 3000; i++) request(1_000_000 + i * 10, Math.floor(rand() * span));
    const instant = 2_000_000;
    rec.checkpoint(instant);
    const atInstant = fingerprint(disk.stats);
    // After it, in this turn and the next ones: requests over the same cells until it is written.
    let turns = 0;
    for (let t = instant + 1000; rec.writingCheckpoint; turns++) {
      for (let i = 0; i < 100; i++, t += 10) request(t, Math.floor(rand() * span));
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(turns >= 5, `the checkpoint took ${turns} turns to write`);
    await rec.close();
    const s = await openSession(path);
    try {
      const cp = s.index.entries.filter((e) => e.checkpoint && e.h.firstUs === instant);
      assert.equal(cp.length, 1);
      assert.equal(cp[0].h.type, wholeEvery === 1 ? BlockType.CHECKPOINT : BlockType.DELTA);
      const targets = targetsFor([disk]);
      const player = new Player(s.index, s.header, targets);
      await player.seek(instant);
      assert.deepEqual(fingerprint(targets.get(1)!.stats), atInstant, 'the state at the checkpoint instant');
      await player.seek(Infinity);
      assert.deepEqual(fingerprint(targets.get(1)!.stats), fingerprint(disk.stats), 'the state at the end');
    } finally {
      await s.close();
    }
  }

  test('a delta checkpoint written over several turns while writes go on seeks to its instant exactly', async () => {
    await checkpointOverTurns('delta-turns', 8);
  });

  test('a whole checkpoint written over several turns while writes go on seeks to its instant exactly', async () => {
    await checkpointOverTurns('whole-turns', 1);
  });

  test('a 7 EiB disk keeps its offsets exact', async () => {
    const size = 7n << 60n;
    const disk = Disk.external(1, size, 'attach');
    const path = join(dir, 'huge.bsrec');
    const rec = await Recorder.start([disk], {
      path,
      capacity: 0,
      source: 'synthetic',
      t0Us: 0,
      wallStartMs: 0,
      live: false,
    });
    const last = size - 4096n;
    const ev = (id: number, offset: bigint, t: number): RequestEvent => ({
      disk: 1,
      connection: 1,
      id,
      op: 'write',
      offset,
      length: 4096,
      flags: 0,
      startUs: t,
      endUs: 0,
      error: null,
    });
    for (const [i, off] of [0n, last, (1n << 53n) + 4096n, 4096n].entries()) {
      const e = ev(i + 1, off, 100 * (i + 1));
      disk.bus.emit('start', e);
      e.endUs = e.startUs + 10;
      disk.bus.emit('end', e);
    }
    await rec.close();
    const s = await openSession(path);
    const targets = targetsFor([disk]);
    const player = new Player(s.index, s.header, targets);
    await player.seek(Infinity);
    const st = targets.get(1)!.stats;
    assert.equal(st.states.get(Number(last / 4096n)), 3);
    assert.equal(st.states.get(Number(((1n << 53n) + 4096n) / 4096n)), 3);
    assert.equal(st.snapshot().blocks.written, 4);
    await s.close();
  });

  test('with a size limit the file stays bounded and the oldest data is dropped', async () => {
    const run = await drive('ring', { capacity: 1 << 20, requests: 40_000 });
    const size = statSync(run.path).size;
    assert.ok(size <= 1 << 20, `file is ${size} bytes, limit 1 MiB`);
    const s = await openSession(run.path);
    try {
      assert.ok(s.header.droppedBytes > 0, 'the ring dropped something');
      assert.ok(s.index.startUs > 0, 'the timeline starts later than the session did');
      const targets = targetsFor(run.disks);
      const player = new Player(s.index, s.header, targets);
      await player.seek(Infinity);
      for (const d of run.disks) assert.deepEqual(fingerprint(targets.get(d.number)!.stats), fingerprint(d.stats));
    } finally {
      await s.close();
    }
  });

  test('bad files give clear errors', async () => {
    const junk = join(dir, 'junk.bsrec');
    writeFileSync(junk, 'hello, not a recording');
    await assert.rejects(openSession(junk), /not a Blockscope recording/);
    await assert.rejects(openSession(join(dir, 'missing.bsrec')), /cannot open the recording \(ENOENT\)/);
    // Damage one byte inside the last events block: seeking there names the block.
    const run = await drive('damaged', { requests: 500 });
    const s0 = await openSession(run.path);
    const last = s0.index.entries.filter((e) => e.h.type === 1).pop()!;
    await s0.close();
    const bytes = readFileSync(run.path);
    bytes[last.offset + 48 + last.h.prefixLength + 2] ^= 0xff;
    writeFileSync(run.path, bytes);
    const s = await openSession(run.path);
    const player = new Player(s.index, s.header, targetsFor(run.disks));
    await assert.rejects(player.seek(Infinity), new RegExp(`block at byte ${last.offset} is damaged`));
    await s.close();
    // Version 1 files (before DELTA blocks) still open; a newer version is refused by name.
    const v = join(dir, 'version.bsrec');
    const good = readFileSync((await drive('version', { requests: 300 })).path);
    good.writeUInt32LE(1, 8);
    writeFileSync(v, good);
    await (await openSession(v)).close();
    good.writeUInt32LE(3, 8);
    writeFileSync(v, good);
    await assert.rejects(openSession(v), /unsupported recording version 3 \(this Blockscope reads 1 to 2\)/);
  });
});

describe('write errors', () => {
  const server = join(import.meta.dirname, '..');
  /**
   * The start of a child script: the engine's modules, and writes to the file at `path` that
   * fail past `room` bytes as on a full disk (a write across it is short, the next fails).
   */
  const childPrelude = (path: string, room: number) => `
      import { open } from 'node:fs/promises';
      const { Disk } = await import(${JSON.stringify(join(server, 'disk.ts'))});
      const { Engine } = await import(${JSON.stringify(join(server, 'engine.ts'))});
      const { LiveRecording } = await import(${JSON.stringify(join(server, 'timeline/live.ts'))});
      const probe = await open(${JSON.stringify(path)}, 'w');
      const proto = Object.getPrototypeOf(probe);
      await probe.close();
      const write = proto.write;
      proto.write = function (buf, off, len, pos) {
        if (pos >= ${room}) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
        return write.call(this, buf, off, Math.min(len, ${room} - pos), pos);
      };`;
  // In a child process: the bug this guards against spun the event loop in microtasks (flush()
  // awaiting a stale, settled drain), so no timer in this process could have caught it.
  test('a failing write (disk full) stops the recording, is reported once (stderr and the UI), and close() finishes', async () => {
    const path = join(dir, 'full.bsrec');
    // Every write past the file header fails as on a full disk.
    const child = `
      ${childPrelude(path, 4096)}
      const engine = new Engine();
      engine.addExternal([Disk.external(1, 8n << 20n, 'attach')]);
      const ui = [];
      engine.onPush((m) => m.event === 'status' && ui.push(m.message));
      const rec = await LiveRecording.start(engine, { path: ${JSON.stringify(path)}, limit: 0 });
      await new Promise((r) => setTimeout(r, 100));
      // More blocks after the failure (each used to leave the writer's drain stale).
      engine.timeline.recorder.checkpoint(1000);
      engine.timeline.recorder.checkpoint(2000);
      await rec.close();
      console.log(JSON.stringify({ ui }));
    `;
    const r = await runHarness(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.deepEqual(lines, [`blockscope: recording stopped: ${path}: no space left on device (ENOSPC)`]);
    assert.deepEqual(JSON.parse(r.stdout).ui, [`recording stopped: ${path}: no space left on device (ENOSPC)`]);
  });

  // Also in a child (the write patch is process-wide). The disk fills up part-way through a
  // session; requests go on after it. What the running time machine offers must be what the
  // file holds: `blockscope replay --summary` of it is compared with the live seek to its end.
  test('after a write error the time machine ends where the file ends (seeking past is refused) and replay of the file agrees', async () => {
    const path = join(dir, 'full-midway.bsrec');
    // A file system with room for 24 KiB of this file.
    const child = `
      ${childPrelude(path, 24 * 1024)}
      const { monotonicUs } = await import(${JSON.stringify(join(server, 'events/event-bus.ts'))});
      const engine = new Engine();
      const disk = Disk.external(1, 64n << 20n, 'attach');
      engine.addExternal([disk]);
      const rec = await LiveRecording.start(engine, { path: ${JSON.stringify(path)}, limit: 0, onStopped: () => {} });
      const t = engine.timeline;
      // 4 KiB writes to new blocks, 50 a round, a block sealed after each round, until well past the failure.
      let id = 0;
      let stoppedAtRound = -1;
      for (let round = 0; round < 200 && (stoppedAtRound < 0 || round < stoppedAtRound + 5); round++) {
        for (let k = 0; k < 50; k++, id++) {
          const ev = { disk: 1, connection: 1, id, op: 'write', offset: BigInt(id) * 4096n, length: 4096, flags: 0, startUs: monotonicUs(), endUs: 0, error: null };
          disk.bus.emit('start', ev);
          ev.endUs = monotonicUs();
          disk.bus.emit('end', ev);
        }
        t.recorder.seal();
        await new Promise((r) => setTimeout(r, 5));
        if (stoppedAtRound < 0 && t.status().recording.error) stoppedAtRound = round;
      }
      const s = t.status();
      const live = disk.info().blocks.written;
      let refused = null;
      try {
        await t.act('seek', { seconds: (s.endSec + t.recorder.nowUs() / 1e6) / 2 });
      } catch (err) {
        refused = err.message;
      }
      await t.act('seek', { seconds: s.endSec });
      const atEnd = disk.info();
      await rec.close();
      console.log(JSON.stringify({ status: s, requests: id, live, refused, atEnd }));
    `;
    const r = await runHarness(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const rec = out.status.recording;
    assert.match(rec.error, /ENOSPC/);
    assert.equal(typeof rec.stoppedAtSec, 'number', 'the status says where the recording stopped');
    assert.equal(out.status.endSec, rec.stoppedAtSec, 'the time machine ends where the recording stopped');
    assert.ok(rec.bytes <= 24 * 1024, `status shows the file's bytes, got ${rec.bytes}`);
    assert.equal(out.live, out.requests, 'the disk itself saw every request');
    assert.ok(out.atEnd.blocks.written < out.requests, 'requests came after the recording stopped');
    assert.match(
      out.refused,
      /^seek: the recording stopped at \d+\.\d{3} s \(no space left on device \(ENOSPC\)\); what came after is not in the file/,
    );
    const file = await openSession(path);
    try {
      assert.equal(file.index.endUs / 1e6, rec.stoppedAtSec, 'the file ends where the time machine ended');
    } finally {
      await file.close();
    }
    const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');
    const summary = await runHarness(process.execPath, [cli, 'replay', path, '--summary'], { timeoutMs: 30_000 });
    assert.equal(summary.code, 0, summary.stderr);
    const [replayed] = JSON.parse(summary.stdout);
    assert.deepEqual(replayed.blocks, out.atEnd.blocks, 'replay --summary of the file = the live seek to its end');
    assert.deepEqual(replayed.counters, out.atEnd.counters);
  });
});
