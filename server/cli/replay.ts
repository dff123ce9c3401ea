// `blockscope replay`: play a recording, or finished nbdkit (or Blockscope) logs, on the time
// machine (logs are imported into a temporary recording first: seeking is then instant).
//   blockscope replay session.bsrec --ui                      (scrub, play, step, plots)
//   blockscope replay /tmp/log1 /tmp/log2 --speed 4 --ui     (original timing, 4× faster)
//   blockscope replay /tmp/log --summary                     (as fast as it reads; JSON like GET /api/disks)
//   zcat log.gz | blockscope replay - --summary              (a log through a pipe: read once, streaming)

import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { MAX_LINE } from '../logs/lines.ts';
import { PipedRecordingError, fileSource, pipeSource, streamSource, type LogSource } from '../logs/log-source.ts';
import { notALog } from '../logs/open-log.ts';
import { readLine, type SizeFinding } from '../logs/parser.ts';
import { UnreadableLines } from '../logs/unreadable.ts';
import { FILE_MAGIC } from '../record/format.ts';
import { MAX_SPEED, MIN_SPEED } from '../timeline/player.ts';
import { importLogs, openReplay } from '../timeline/replay.ts';
import {
  CliError,
  UI_OPTIONS,
  UI_OPTIONS_HELP,
  apiPortOption,
  one,
  parseArgs,
  sizeOption,
  uiQuery,
  untilSignal,
} from './args.ts';
import { startCliControl } from './control.ts';
import { ImportProgress } from './progress.ts';

export const REPLAY_HELP = `usage: blockscope replay RECORDING.bsrec | LOGFILE…|- [--size SIZE] [--speed N] [--summary] [--at S,…] [--ui] [--api PORT]

Play a Blockscope recording, or finished nbdkit/Blockscope log files (one disk per file), on the
time machine: scrub, play, pause, step, speed ${MIN_SPEED}-${MAX_SPEED}x, plots (with --ui).
A log can come through a pipe (<(zcat log.gz), a FIFO, - for stdin): it is read once, streaming.
  --summary      no timing, no UI: print the final state of each disk as JSON (GET /api/disks shape)
  --at S,…       with --summary: the state at these instants (seconds since the session start)
  --speed N      play N times faster than recorded (${MIN_SPEED} to ${MAX_SPEED}, default 1)
  --size SIZE    disk size when a log has no Connect line
  --ui, --api    show it in the UI / expose the control API; with --ui, playback starts
                 when a page connects
${UI_OPTIONS_HELP}
`;

/**
 * What a path names as a log: a regular file, or a pipe read once as it streams (`<(zcat
 * log.gz)`, a FIFO, `-` for stdin). A directory or a device is refused in one line.
 */
const STDIN_PATHS = new Set(['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

function logSource(path: string): LogSource {
  // Stdin by any name: read from the stream Node has (it can be a socket, which no path opens).
  if (path === '-' || STDIN_PATHS.has(path)) {
    if (process.stdin.isTTY)
      throw new CliError(`${path}: stdin is a terminal; pipe a log into it (zcat log.gz | blockscope replay -)`);
    return streamSource(path, () => process.stdin);
  }
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new CliError(`${path}: cannot open (${(err as NodeJS.ErrnoException).code})`);
  }
  if (st.isFile()) return fileSource(path, st.size);
  if (st.isFIFO()) {
    if (path.endsWith('.bsrec')) throw new CliError(new PipedRecordingError(path).message);
    // stderr: with --summary, stdout is JSON and nothing else.
    return pipeSource(path, () => console.error(`${path}: waiting for a writer to open this FIFO (Ctrl-C to stop)`));
  }
  throw new CliError(`${path}: ${notALog(st)}`);
}

/** Is this file a Blockscope recording (rather than a log)? A `.bsrec` without the magic is an error. */
export function isRecording(path: string): boolean {
  const b = Buffer.alloc(FILE_MAGIC.length);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new CliError(`${path}: cannot open (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    readSync(fd, b, 0, b.length, 0);
  } catch (err) {
    throw new CliError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  } finally {
    closeSync(fd);
  }
  if (b.toString('latin1') === FILE_MAGIC) return true;
  if (path.endsWith('.bsrec')) throw new CliError(`${path}: not a Blockscope recording (bad magic)`);
  return false;
}

/** Progress of importing or reading these logs (stderr, at most once a second). */
function progressOf(verb: 'importing' | 'reading', sources: LogSource[]): ImportProgress {
  const sizes = sources.map((s) => s.size);
  const total = sizes.every((n) => n !== null) ? sizes.reduce((a: number, b) => a + b!, 0) : null;
  return new ImportProgress(`${verb} ${sources.length === 1 ? sources[0].name : `${sources.length} logs`}`, total);
}

/** The size of a log's disk from its first Connect line, else `fallbackSize`; one line if neither. */
async function diskSize(source: LogSource, fallbackSize: bigint | null): Promise<bigint> {
  let found: SizeFinding | null;
  try {
    found = await source.firstSize();
  } catch (err) {
    throw new CliError(err instanceof PipedRecordingError ? err.message : `${source.name}: ${(err as Error).message}`);
  }
  if (found && 'size' in found) return found.size;
  if (fallbackSize !== null) return fallbackSize;
  if (found) throw new CliError(`${source.name}: ${found.error}; give --size`);
  throw new CliError(`${source.name}: no Connect line tells the disk size; give --size`);
}

/** Replay logs into disks of `engine` as fast as they read (--summary); every line is read to the end. */
export async function replayLogs(engine: Engine, sources: LogSource[], fallbackSize: bigint | null): Promise<Disk[]> {
  const progress = progressOf('reading', sources);
  const disks: Disk[] = [];
  for (const [i, source] of sources.entries()) {
    const size = await diskSize(source, fallbackSize);
    disks.push(Disk.external(i + 1, size, 'replay', source.piped ? source.name : resolve(source.name)));
  }
  engine.addExternal(disks);
  await Promise.all(
    sources.map(async (source, i) => {
      const disk = disks[i];
      const c = new LogCorrelator(disk.number, disk.bus, 'log');
      const unreadable = new UnreadableLines(disk, source.name);
      let lineNo = 0;
      try {
        for await (const text of source.lines()) {
          lineNo++;
          progress.line(text === null ? MAX_LINE : text.length + 1);
          if (text === null) unreadable.overlong(lineNo);
          else if (text) {
            const r = readLine(text);
            if (r.line) c.feed(r.line);
            else unreadable.note(lineNo, r.why);
          }
        }
      } catch (err) {
        throw new CliError(`${source.name}: ${(err as Error).message}`);
      }
    }),
  );
  return disks;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['--size', '--speed', '--api', '--at', ...UI_OPTIONS.values],
    flags: ['--summary', '--ui', '--help', ...UI_OPTIONS.flags],
    aliases: { '-h': '--help' },
  });
  if (args.flags.has('--help')) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (!args.positional.length) throw new CliError('replay needs a RECORDING or at least one LOGFILE');
  const size = sizeOption(args, '--size') ?? null;
  if (size === 0n) throw new CliError('--size: a disk needs a size above 0');
  const speedText = one(args, '--speed') ?? '1';
  const speed = /^\d{1,9}(\.\d{1,9})?$/.test(speedText) ? Number(speedText) : NaN;
  if (!(speed >= MIN_SPEED && speed <= MAX_SPEED))
    throw new CliError(`--speed: expected a number from ${MIN_SPEED} to ${MAX_SPEED}, got '${speedText}'`);
  const at = (one(args, '--at') ?? '')
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const v = Number(x);
      if (!Number.isFinite(v) || v < 0) throw new CliError(`--at: expected seconds ≥ 0, got '${x}'`);
      return v;
    });
  if (at.length && !args.flags.has('--summary')) throw new CliError('--at goes with --summary');
  if (args.positional.filter((p) => p === '-' || STDIN_PATHS.has(p)).length > 1)
    throw new CliError('-: stdin can be read only once');
  const sources = args.positional.map(logSource);
  const recording = sources.length === 1 && !sources[0].piped && isRecording(args.positional[0]);
  const engine = new Engine();
  if (args.flags.has('--summary') && !recording && !at.length) {
    await replayLogs(engine, sources, size);
    process.stdout.write(
      `${JSON.stringify(
        engine.disks.map((d) => d.info()),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  let tmp: string | null = null;
  let path = args.positional[0];
  try {
    if (!recording) {
      tmp = mkdtempSync(join(tmpdir(), 'blockscope-import-'));
      path = join(tmp, 'import.bsrec');
      let r;
      try {
        const progress = progressOf('importing', sources);
        r = await importLogs(sources, path, size, (bytes) => progress.line(bytes));
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const unparsed = r.unparsed.reduce((a, b) => a + b, 0);
      // stderr: with --summary, stdout is JSON and nothing else.
      console.error(
        `imported ${r.requests} requests from ${args.positional.length} log(s)${unparsed ? `; ${unparsed} unreadable line(s) skipped` : ''}`,
      );
    }
    let timeline;
    try {
      timeline = await openReplay(engine, path);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (args.flags.has('--summary')) {
      const out: unknown[] = [];
      try {
        // A summary vouches for the whole recording: a damaged block anywhere is an error.
        if (recording) timeline.session.index.verify();
        for (const sec of at.length ? at : [Infinity]) {
          await timeline.act('seek', { seconds: sec });
          out.push(
            at.length ? { at: sec, disks: engine.disks.map((d) => d.info()) } : engine.disks.map((d) => d.info()),
          );
        }
      } catch (err) {
        await timeline.close();
        throw new CliError((err as Error).message);
      }
      process.stdout.write(`${JSON.stringify(at.length ? out : out[0], null, 2)}\n`);
      await timeline.close();
      return 0;
    }
    const ui = args.flags.has('--ui');
    const control = await startCliControl(engine, { port: apiPortOption(args), ui, query: uiQuery(args) });
    timeline.player.setSpeed(speed);
    // Nobody would see the start of a replay that begins before the page is open.
    if (control && ui) {
      console.log('replay starts when a page is connected');
      const stop = untilSignal().then(() => 'stop' as const);
      if ((await Promise.race([control.waitForViewer().then(() => 'go' as const), stop])) === 'stop') {
        await control.close();
        await timeline.close();
        return 0;
      }
    }
    await timeline.act('play');
    if (control) {
      await untilSignal();
      await control.close();
    } else {
      while (!timeline.status().finished) await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`replay finished: ${timeline.status().requests} requests`);
    await timeline.close();
    return 0;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
