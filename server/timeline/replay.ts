// Replay = the time machine on a recording: open a session file (or import nbdkit logs into
// one first) and play it into replay disks, with the same player and timeline as live.

import { resolve } from 'node:path';
import { Disk } from '../disk.ts';
import type { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { MAX_LINE, readLogLines } from '../logs/lines.ts';
import { readLine, sizeFinding, type LogLine } from '../logs/parser.ts';
import { Recorder } from '../record/recorder.ts';
import { openSession } from '../record/session-reader.ts';
import { Timeline } from './timeline.ts';

/** Open a recording for playback on `engine` (its disks are added as replay disks). */
export async function openReplay(engine: Engine, path: string): Promise<Timeline> {
  const s = await openSession(path);
  // Each disk names what it replays: its log when the recording was imported, else the recording.
  const files = s.header.meta.files;
  const disks = s.header.meta.disks.map((d, i) =>
    Disk.external(d.number, BigInt(d.size), 'replay', files?.[i] ?? resolve(path)),
  );
  engine.addExternal(disks);
  const t = new Timeline(engine, disks, { index: s.index, header: s.header, path, close: s.close }, null);
  engine.timeline = t;
  await t.player.seek(t.player.startUs);
  return t;
}

interface LogStream {
  /** Lines of at most MAX_LINE characters; null for one that was longer (skipped unread). */
  lines: AsyncIterator<string | null>;
  next: LogLine | null;
  done: boolean;
  unparsed: number;
  /** Told the length of every line read (progress). */
  onLine: ((bytes: number) => void) | null;
}

async function advance(s: LogStream): Promise<void> {
  s.next = null;
  while (!s.done) {
    const r = await s.lines.next();
    if (r.done) {
      s.done = true;
      return;
    }
    s.onLine?.(r.value === null ? MAX_LINE : r.value.length + 1);
    if (r.value === '') continue;
    const l = r.value === null ? null : readLine(r.value).line;
    if (l) {
      s.next = l;
      return;
    }
    s.unparsed++;
  }
}

function openLog(path: string, onLine: ((bytes: number) => void) | null): LogStream {
  return { lines: readLogLines(path)[Symbol.asyncIterator](), next: null, done: false, unparsed: 0, onLine };
}

/** The size of a log's disk from its first Connect line; null when it has none. */
async function logSize(path: string): Promise<bigint | null> {
  let lineNo = 0;
  for await (const text of readLogLines(path)) {
    const found = text === null ? null : sizeFinding(text, ++lineNo);
    if (!found) continue;
    if ('size' in found) return found.size;
    throw new Error(`${path}: ${found.error}; give --size`);
  }
  return null;
}

export interface ImportResult {
  requests: number;
  /** Per log: lines that could not be parsed. */
  unparsed: number[];
}

/**
 * Import nbdkit log files (one disk each, in order) into a recording at `out`, keeping the
 * logs' timing. Streams are merged by timestamp so that every checkpoint is one instant.
 */
export async function importLogs(
  paths: string[],
  out: string,
  fallbackSize: bigint | null,
  onLine: ((bytes: number) => void) | null = null,
): Promise<ImportResult> {
  const disks: Disk[] = [];
  for (const [i, path] of paths.entries()) {
    let size: bigint | null;
    try {
      size = (await logSize(path)) ?? fallbackSize;
    } catch (err) {
      if (fallbackSize === null) throw err;
      size = fallbackSize;
    }
    if (size === null) throw new Error(`${path}: no Connect line tells the disk size; give --size`);
    const d = Disk.external(i + 1, size, 'replay', resolve(path));
    d.stats.wallOffsetMs = 0; // log times are epoch µs
    disks.push(d);
  }
  const streams = paths.map((p) => openLog(p, onLine));
  for (const s of streams) await advance(s);
  const first = Math.min(...streams.map((s) => s.next?.timeUs ?? Infinity));
  const t0 = Number.isFinite(first) ? first : 0;
  const recorder = await Recorder.start(disks, {
    path: out,
    capacity: 0,
    source: 'import',
    files: paths.map((p) => resolve(p)),
    t0Us: t0,
    wallStartMs: t0 / 1000,
    live: false,
  });
  const correlators = disks.map((d) => new LogCorrelator(d.number, d.bus, 'log'));
  let lastTime = t0;
  for (;;) {
    let best = -1;
    for (let i = 0; i < streams.length; i++) {
      const n = streams[i].next;
      if (!n) continue;
      if (best < 0 || (n.timeUs ?? -Infinity) < (streams[best].next!.timeUs ?? -Infinity)) best = i;
    }
    if (best < 0) break;
    const line = streams[best].next!;
    // Lines without a time ("Time unknown") take the latest time seen.
    if (line.timeUs === null) line.timeUs = lastTime;
    lastTime = Math.max(lastTime, line.timeUs);
    correlators[best].feed(line);
    await advance(streams[best]);
    if (recorder.queuedBytes > 32 << 20) await recorder.flush();
  }
  await recorder.close();
  return { requests: recorder.requests, unparsed: streams.map((s) => s.unparsed) };
}
