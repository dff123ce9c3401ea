// Time machine benchmarks:
//  - seek: a synthetic one-hour session of five disks and ≥ 10 M requests (sequential runs,
//    random I/O, trims, zeroes, failures, idle gaps) is recorded, reopened, and random
//    instants are sought; p50/p99 of "every disk's state at instant T".
//  - the recording's cost on the fio flood: 4 KiB randwrite QD16 on a written disk with and without --no-record
//    (7 interleaved rounds), and the file size against its --record-limit.
//  - the recorder's own CPU per request, in process (no sockets, no fio): steadier than the
//    flood's IOPS ratio, which moves by more than 5 % from run to run on a shared machine.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Disk } from '../server/disk.ts';
import { DiskStats } from '../server/events/disk-stats.ts';
import { EventBus } from '../server/events/event-bus.ts';
import { Recorder } from '../server/record/recorder.ts';
import { openSession } from '../server/record/session-reader.ts';
import type { Op, RequestEvent } from '../server/shared/types.ts';
import { Player, type PlaybackTarget } from '../server/timeline/player.ts';
import { median } from './stats.ts';

const HOUR_US = 3600e6;

/** A deterministic generator of a busy hour on `disks` disks. */
export async function makeSyntheticSession(path: string, requests: number, diskCount = 5): Promise<Disk[]> {
  const size = 64n << 20n;
  const blocks = Number(size / 4096n);
  const disks = Array.from({ length: diskCount }, (_, i) => Disk.external(i + 1, size, 'attach'));
  const rec = await Recorder.start(disks, {
    path,
    capacity: 0,
    source: 'synthetic',
    t0Us: 0,
    wallStartMs: Date.UTC(2026, 10, 23),
    live: false,
  });
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  // Bursts of 20-2000 requests with quiet gaps between; inside a burst, one pattern per disk.
  const meanGapUs = HOUR_US / requests;
  const pool: RequestEvent[] = [];
  let t = 1000;
  let done = 0;
  const ops: Op[] = ['write', 'read', 'write', 'read', 'trim', 'zero', 'flush'];
  while (done < requests) {
    const burst = Math.min(requests - done, 20 + Math.floor(rand() * 2000));
    const disk = disks[Math.floor(rand() * diskCount)];
    const op = ops[Math.floor(rand() * (rand() < 0.9 ? 4 : ops.length))];
    const sequential = rand() < 0.5;
    let block = Math.floor(rand() * blocks);
    const len = op === 'trim' || op === 'zero' ? 64 : 1 + Math.floor(rand() * 32);
    const step = meanGapUs * 0.5;
    for (let i = 0; i < burst; i++) {
      const ev = pool.pop() ?? ({} as RequestEvent);
      if (!sequential) block = Math.floor(rand() * blocks);
      ev.disk = disk.number;
      ev.connection = 1;
      ev.id = done + 1;
      ev.op = op;
      ev.offset = BigInt(Math.min(block, blocks - len)) * 4096n;
      ev.length = len * 4096;
      ev.flags = 0;
      ev.startUs = t;
      ev.endUs = 0;
      ev.error = null;
      disk.bus.emit('start', ev);
      t += step * rand();
      ev.endUs = t;
      ev.error = rand() < 0.001 ? 'EIO' : null;
      disk.bus.emit('end', ev);
      pool.push(ev);
      block += len;
      done++;
    }
    if (rec.queuedBytes > 32 << 20) await rec.flush();
    t += burst * meanGapUs * 0.5 + rand() * 1000;
  }
  await rec.close();
  return disks;
}

export interface SeekResult {
  requests: number;
  seconds: number;
  fileMiB: number;
  generateS: number;
  openMs: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * A recorded flood: one 256 MiB disk, 4 KiB random writes at 80,000 requests a second, 16 in
 * flight (what fio gives here). The recorder checkpoints it at most 4 times a second, so a seek
 * replays up to ~20,000 events instead of 8192: the seek bound where recording costs most.
 */
export async function makeFloodSession(path: string, requests: number): Promise<Disk[]> {
  const size = 256n << 20n;
  const blocks = Number(size / 4096n);
  const disk = Disk.external(1, size, 'attach');
  const rec = await Recorder.start([disk], {
    ...{ path, capacity: 0, source: 'synthetic', t0Us: 0, wallStartMs: Date.UTC(2026, 10, 23), live: false },
  });
  let seed = 4242;
  const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const stepUs = 1e6 / 80_000;
  const flying: RequestEvent[] = [];
  for (let i = 0; i < requests; i++) {
    const ev: RequestEvent = {
      ...{ disk: 1, connection: 1, id: i + 1, op: 'write', length: 4096, flags: 0, endUs: 0, error: null },
      ...{ offset: BigInt(Math.floor(rand() * blocks)) * 4096n, startUs: 1000 + i * stepUs, recordStart: -1 },
    };
    disk.bus.emit('start', ev);
    flying.push(ev);
    if (flying.length === 16) {
      const done = flying.shift()!;
      done.endUs = ev.startUs + stepUs / 2;
      disk.bus.emit('end', done);
    }
    if (rec.queuedBytes > 32 << 20) await rec.flush();
  }
  await rec.close();
  return [disk];
}

export async function seekBenchmark(
  requests: number,
  seeks: number,
  make: (path: string, requests: number) => Promise<Disk[]> = makeSyntheticSession,
): Promise<SeekResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-seek-'));
  try {
    const path = join(dir, 'synthetic.bsrec');
    const g0 = performance.now();
    const disks = await make(path, requests);
    const generateS = (performance.now() - g0) / 1000;
    const o0 = performance.now();
    const s = await openSession(path);
    const openMs = performance.now() - o0;
    const targets = new Map<number, PlaybackTarget>();
    for (const d of disks) {
      const bus = new EventBus();
      targets.set(d.number, { disk: d.number, bus, stats: new DiskStats(d.number, d.size, bus) });
    }
    const player = new Player(s.index, s.header, targets);
    const times: number[] = [];
    let seed = 99;
    const span = player.endUs - player.startUs;
    for (let i = 0; i < seeks; i++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      const at = player.startUs + (seed / 2 ** 32) * span;
      const t0 = performance.now();
      await player.seek(at);
      // Every disk's picture is what a seek must deliver: cut the frames too.
      for (const tgt of targets.values()) tgt.stats.cutFrame(undefined, true);
      times.push(performance.now() - t0);
    }
    await s.close();
    times.sort((a, b) => a - b);
    const requestsRecorded = s.index.entries.reduce((n, e) => n + e.requests, 0);
    return {
      requests: requestsRecorded,
      seconds: span / 1e6,
      fileMiB: statSync(path).size / 2 ** 20,
      generateS,
      openMs,
      p50Ms: median(times),
      p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of this process's main thread in µs (Linux /proc; elsewhere the whole process's). */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // clock ticks of 10 ms
  } catch {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
}

export interface RecorderCost {
  /** Engine-thread CPU per request with the disk's stats only, and with a live recorder too. */
  offUs: number;
  onUs: number;
}

/**
 * The recorder's cost per request where nothing else moves: one 256 MiB disk's events (4 KiB
 * random writes, 16 in flight, turns of 256 requests with the event loop in between, as socket
 * reads come) into DiskStats, with and without a live Recorder (its timers, checkpoints, async
 * deflate and file writes included). Medians of interleaved rounds.
 */
export async function recorderCost(requests: number, rounds: number): Promise<RecorderCost> {
  const size = 256n << 20n;
  const blocks = Number(size / 4096n);
  const dir = mkdtempSync(join(tmpdir(), 'bench-rec-'));
  const once = async (record: boolean): Promise<number> => {
    const disk = Disk.external(1, size, 'attach');
    const rec = record
      ? await Recorder.start([disk], {
          path: join(dir, 'cost.bsrec'),
          capacity: 256 << 20,
          source: 'synthetic',
          t0Us: performance.now() * 1000,
          wallStartMs: Date.now(),
          live: true,
        })
      : null;
    let seed = 7;
    const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const flying: RequestEvent[] = [];
    const cpu0 = mainThreadCpuUs();
    for (let done = 0; done < requests;) {
      for (let turn = 0; turn < 16 && done < requests; turn++, done += 16) {
        for (let j = 0; j < 16; j++) {
          const ev: RequestEvent = {
            disk: 1,
            connection: 1,
            id: done + j + 1,
            op: 'write',
            offset: BigInt(Math.floor(rand() * blocks)) * 4096n,
            length: 4096,
            flags: 0,
            startUs: performance.now() * 1000,
            endUs: 0,
            error: null,
            recordStart: -1,
          };
          flying[j] = ev;
          disk.bus.emit('start', ev);
        }
        for (const ev of flying) {
          ev.endUs = performance.now() * 1000;
          disk.bus.emit('end', ev);
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    const us = (mainThreadCpuUs() - cpu0) / requests;
    await rec?.close();
    return us;
  };
  try {
    // Warm-up (JIT, the recorder's first whole checkpoint): not measured.
    await once(false);
    await once(true);
    const off: number[] = [];
    const on: number[] = [];
    for (let r = 0; r < rounds; r++) {
      off.push(await once(false));
      on.push(await once(true));
    }
    return { offUs: median(off), onUs: median(on) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
