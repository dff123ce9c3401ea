// The engine thread's turns while a live recorder checkpoints a disk under a 4 KiB random-write
// flood, in process: no sockets, no fio, no RAM disk, so what is long is the recorder's (and
// the garbage collector's). Requests complete in batches every 2 ms at a set rate, as a
// server's turns complete them under the flood; a setImmediate chain times every turn.
//
//   node --import tsx bench/checkpoint-turns.ts [CHECKOUT=.] [SECONDS=6] [SIZE=16G] [RATE=30000]
//
// CHECKOUT: the working tree whose Disk and Recorder are measured (a frozen `git worktree` for
// an A/B). Prints one JSON line: turns over 2 / 5 / 10 ms, the longest turns, p99 and p99.9 of
// all turns, and the checkpoints written (whole / delta). On a shared machine the turns are
// mostly other processes' preemptions, so it also times the checkpoints' own work, piece by
// piece, in CPU time of the process (getrusage: a preemption does not count): `checkpoint()` (all of it before keyframe-export.ts; the instant and a first slice
// after), each later slice (`step()`), and the append of the compressed block (`append`):
// per kind (W whole, d delta), the median and the largest of each checkpoint's longest piece.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as DiskModule from '../server/disk.ts';
import type * as FormatModule from '../server/record/format.ts';
import type * as RecorderModule from '../server/record/recorder.ts';
import type * as ReaderModule from '../server/record/session-reader.ts';
import type * as WriterModule from '../server/record/session-writer.ts';
import { parseSize } from '../server/size.ts';

const [checkout = '.', seconds = '6', size = '16G', rate = '30000'] = process.argv.slice(2);
const root = resolve(checkout);
const from = async <T>(path: string): Promise<T> => (await import(join(root, path))) as T;
const { Disk } = await from<typeof DiskModule>('server/disk.ts');
const { Recorder } = await from<typeof RecorderModule>('server/record/recorder.ts');
const { openSession } = await from<typeof ReaderModule>('server/record/session-reader.ts');
const { BlockType } = await from<typeof FormatModule>('server/record/format.ts');
const { SessionWriter } = await from<typeof WriterModule>('server/record/session-writer.ts');
const exportsModule = await import(join(root, 'server/record/keyframe-export.ts')).catch(() => null);

/** Each checkpoint's pieces of work on this thread, ms, in order (the kind known at its append). */
const pieces: Array<{ kind: string; ms: number[]; what: string[] }> = [];
let inCheckpoint = false;
/** The process's CPU time in ms (a preemption by another process does not count). */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const timed = <T extends object>(proto: T, name: keyof T, piece: (ms: number, args: unknown[]) => void) => {
  const orig = proto[name] as (...a: unknown[]) => unknown;
  (proto as Record<keyof T, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    const t0 = cpuMs();
    const r = orig.apply(this, args);
    piece(cpuMs() - t0, args);
    return r;
  };
};
const origCheckpoint = Recorder.prototype.checkpoint;
Recorder.prototype.checkpoint = function (this: RecorderModule.Recorder, timeUs: number) {
  const t0 = cpuMs();
  inCheckpoint = true;
  try {
    origCheckpoint.call(this, timeUs);
  } finally {
    inCheckpoint = false;
  }
  pieces.push({ kind: '?', ms: [cpuMs() - t0], what: ['checkpoint'] });
};
for (const cls of exportsModule ? [exportsModule.WholeExport, exportsModule.DeltaExport] : [])
  timed(cls.prototype, 'step', (ms) => {
    if (inCheckpoint) return;
    pieces.at(-1)?.ms.push(ms);
    pieces.at(-1)?.what.push('step');
  });
timed(SessionWriter.prototype, 'append', (ms, [b]) => {
  const type = (b as { type: number }).type;
  const last = pieces.at(-1);
  if (last && (type === BlockType.CHECKPOINT || type === BlockType.DELTA)) {
    last.kind = type === BlockType.CHECKPOINT ? 'W' : 'd';
    last.ms.push(ms);
    last.what.push('append');
  }
});

const bytes = parseSize(size);
const blocks = Number(bytes / 4096n);
const perSecond = Number(rate);
const dir = mkdtempSync(join(tmpdir(), 'bench-cp-turns-'));
const disk = Disk.external(1, bytes, 'attach');
const rec = await Recorder.start([disk], {
  path: join(dir, 'turns.bsrec'),
  capacity: 256 << 20,
  source: 'synthetic',
  t0Us: performance.now() * 1000,
  wallStartMs: Date.now(),
  live: true,
});
await rec.flush();

let seed = 7;
const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
let id = 0;
const complete = (n: number) => {
  for (let i = 0; i < n; i++) {
    const ev = {
      ...{ disk: 1, connection: 1, id: ++id, op: 'write' as const, length: 4096, flags: 0, error: null },
      ...{ offset: BigInt(Math.floor(rand() * blocks)) * 4096n, startUs: performance.now() * 1000, endUs: 0 },
      recordStart: -1,
    };
    disk.bus.emit('start', ev);
    ev.endUs = performance.now() * 1000;
    disk.bus.emit('end', ev);
  }
};

const turns: number[] = [];
const started = performance.now();
const end = started + Number(seconds) * 1000;
let done = 0;
let sent = 0;
const batches = setInterval(() => {
  // At most 20 ms of requests at a time: a stall (another process ran) is not made up for.
  const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
  const n = Math.min(due - done, perSecond / 50);
  complete(n);
  done = Math.max(done + n, due - perSecond / 50);
  sent += n;
}, 2);
// Skip the first second (JIT).
const measureFrom = started + 1000;
await new Promise<void>((resolveRun) => {
  let last = performance.now();
  const beat = () => {
    const now = performance.now();
    if (now >= measureFrom) turns.push(now - last);
    last = now;
    if (now < end) setImmediate(beat);
    else resolveRun();
  };
  setImmediate(beat);
});
clearInterval(batches);
await rec.close();
const s = await openSession(join(dir, 'turns.bsrec'));
const kinds = s.index.entries.filter((e) => e.checkpoint).map((e) => (e.h.type === BlockType.CHECKPOINT ? 'W' : 'd'));
await s.close();
rmSync(dir, { recursive: true, force: true });

const r = (v: number) => Math.round(v * 100) / 100;
// The first checkpoint (at start) is not under the flood.
const longestPiece = (kind: string, what?: string) => {
  const l = pieces
    .slice(1)
    .filter((p) => p.kind === kind)
    .map((p) => Math.max(...p.ms.filter((_, i) => !what || p.what[i] === what)))
    .filter((v) => v >= 0)
    .sort((a, b) => a - b);
  return l.length ? { n: l.length, median: r(l[Math.floor((l.length - 1) / 2)]), max: r(l[l.length - 1]) } : null;
};
const byPiece = (what: string) => ({ whole: longestPiece('W', what), delta: longestPiece('d', what) });
const sorted = [...turns].sort((a, b) => a - b);
const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
console.log(
  JSON.stringify({
    checkout: root,
    requests: sent,
    turns: turns.length,
    over2ms: turns.filter((t) => t > 2).length,
    over5ms: turns.filter((t) => t > 5).length,
    over10ms: turns.filter((t) => t > 10).length,
    p99: r(at(0.99)),
    p999: r(at(0.999)),
    longest: sorted.slice(-5).reverse().map(r),
    checkpoints: kinds.join(''),
    longestPieceMs: { whole: longestPiece('W'), delta: longestPiece('d') },
    checkpointCall: byPiece('checkpoint'),
    step: byPiece('step'),
    append: byPiece('append'),
    piecesPerCheckpoint: r(pieces.slice(1).reduce((n, p) => n + p.ms.length, 0) / Math.max(1, pieces.length - 1)),
  }),
);
