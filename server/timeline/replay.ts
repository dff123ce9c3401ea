// Replay = the time machine on a recording: open a session file (or import nbdkit logs into
// one first) and play it into replay disks, with the same player and timeline as live.

import { resolve } from 'node:path';
import { Disk } from '../disk.ts';
import type { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { MAX_LINE } from '../logs/lines.ts';
import { fileSource, type LogSource } from '../logs/log-source.ts';
import { readLine, type LogLine } from '../logs/parser.ts';
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

function openLog(source: LogSource, onLine: ((bytes: number) => void) | null): LogStream {
  return { lines: source.lines()[Symbol.asyncIterator](), next: null, done: false, unparsed: 0, onLine };
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
  logs: Array<string | LogSource>,
  out: string,
  fallbackSize: bigint | null,
  onLine: ((bytes: number) => void) | null = null,
): Promise<ImportResult> {
  const sources = logs.map((l) => (typeof l === 'string' ? fileSource(l) : l));
  // What each disk names as its source: a file's absolute path, a pipe as it was given.
  const files = sources.map((s) => (s.piped ? s.name : resolve(s.name)));
  const disks: Disk[] = [];
  for (const [i, source] of sources.entries()) {
    const found = await source.firstSize();
    const size: bigint | null = found && 'size' in found ? found.size : fallbackSize;
    if (size === null && found && 'error' in found) throw new Error(`${source.name}: ${found.error}; give --size`);
    if (size === null) throw new Error(`${source.name}: no Connect line tells the disk size; give --size`);
    const d = Disk.external(i + 1, size, 'replay', files[i]);
    d.stats.wallOffsetMs = 0; // log times are epoch µs
    disks.push(d);
  }
  const streams = sources.map((s) => openLog(s, onLine));
  for (const s of streams) await advance(s);
  const first = Math.min(...streams.map((s) => s.next?.timeUs ?? Infinity));
  const t0 = Number.isFinite(first) ? first : 0;
  const recorder = await Recorder.start(disks, {
    path: out,
    capacity: 0,
    source: 'import',
    files,
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
