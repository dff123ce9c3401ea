// `blockscope replay`: play a recording, or finished nbdkit (or Blockscope) logs, on the time
// machine (logs are imported into a temporary recording first: seeking is then instant).
//   blockscope replay session.bsrec --ui                      (scrub, play, step, plots)
//   blockscope replay /tmp/log1 /tmp/log2 --speed 4 --ui     (original timing, 4× faster)
//   blockscope replay /tmp/log --summary                     (as fast as it reads; JSON like GET /api/disks)

import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { FILE_MAGIC } from '../record/format.ts';
import { importLogs, openReplay } from '../timeline/replay.ts';
import { parseLine, type LogLine } from '../logs/parser.ts';
import { CliError, apiPortOption, one, parseArgs, sizeOption, untilSignal } from './args.ts';
import { startCliControl } from './control.ts';

export const REPLAY_HELP = `usage: blockscope replay RECORDING.bsrec | LOGFILE… [--size SIZE] [--speed N] [--summary] [--at S,…] [--ui] [--api PORT]

Play a Blockscope recording, or finished nbdkit/Blockscope log files (one disk per file), on the
time machine: scrub, play, pause, step, speed 0.1-100x, plots (with --ui).
  --summary      no timing, no UI: print the final state of each disk as JSON (GET /api/disks shape)
  --at S,…       with --summary: the state at these instants (seconds since the session start)
  --speed N      play N times faster than recorded (0.1-100, default 1)
  --size SIZE    disk size when a log has no Connect line
  --ui, --api    show it in the UI / expose the control API
`;

/** Is this file a Blockscope recording (rather than a log)? */
export function isRecording(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new CliError(`${path}: cannot open (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const b = Buffer.alloc(FILE_MAGIC.length);
    readSync(fd, b, 0, b.length, 0);
    return b.toString('latin1') === FILE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** Read a whole log file line by line (streamed: the file is never held in memory). */
async function* logLines(path: string): AsyncGenerator<{ line: LogLine | null }> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const text of rl) if (text) yield { line: parseLine(text) };
}

async function firstSize(path: string): Promise<bigint | null> {
  for await (const { line } of logLines(path))
    if (line?.act === 'Connect' && line.fields.size) return BigInt(line.fields.size);
  return null;
}

/** One replay disk per log, sized from its Connect line (or --size). */
async function externalDisks(paths: string[], fallbackSize: bigint | null): Promise<Disk[]> {
  const disks: Disk[] = [];
  for (const [i, path] of paths.entries()) {
    const size = (await firstSize(path)) ?? fallbackSize;
    if (size === null) throw new CliError(`${path}: no Connect line tells the disk size; give --size`);
    disks.push(Disk.external(i + 1, size, 'replay'));
  }
  return disks;
}

/** Replay logs into disks of `engine` as fast as they read (--summary). */
export async function replayLogs(engine: Engine, paths: string[], fallbackSize: bigint | null): Promise<Disk[]> {
  const disks = await externalDisks(paths, fallbackSize);
  engine.addExternal(disks);
  await Promise.all(
    paths.map(async (path, i) => {
      const disk = disks[i];
      const c = new LogCorrelator(disk.number, disk.bus, 'log');
      let unparsed = 0;
      for await (const { line } of logLines(path)) {
        if (line) c.feed(line);
        else disk.unparsedLines = ++unparsed;
      }
      disk.unparsedLines = unparsed;
    }),
  );
  return disks;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['--size', '--speed', '--api', '--at'],
    flags: ['--summary', '--ui', '--help'],
    aliases: { '-h': '--help' },
  });
  if (args.flags.has('--help')) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (!args.positional.length) throw new CliError('replay needs a RECORDING or at least one LOGFILE');
  const size = sizeOption(args, '--size') ?? null;
  const speedText = one(args, '--speed') ?? '1';
  const speed = Number(speedText);
  if (!Number.isFinite(speed) || speed < 0.1 || speed > 100)
    throw new CliError(`--speed: expected a number from 0.1 to 100, got '${speedText}'`);
  const at = (one(args, '--at') ?? '')
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const v = Number(x);
      if (!Number.isFinite(v) || v < 0) throw new CliError(`--at: expected seconds ≥ 0, got '${x}'`);
      return v;
    });
  if (at.length && !args.flags.has('--summary')) throw new CliError('--at goes with --summary');
  const recording = args.positional.length === 1 && isRecording(args.positional[0]);
  const engine = new Engine();
  if (args.flags.has('--summary') && !recording && !at.length) {
    await replayLogs(engine, args.positional, size);
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
      const r = await importLogs(args.positional, path, size);
      console.log(`imported ${r.requests} requests from ${args.positional.length} log(s)`);
    }
    let timeline;
    try {
      timeline = await openReplay(engine, path);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (args.flags.has('--summary')) {
      const out: unknown[] = [];
      for (const sec of at.length ? at : [Infinity]) {
        await timeline.act('seek', { seconds: sec });
        out.push(at.length ? { at: sec, disks: engine.disks.map((d) => d.info()) } : engine.disks.map((d) => d.info()));
      }
      process.stdout.write(`${JSON.stringify(at.length ? out : out[0], null, 2)}\n`);
      await timeline.close();
      return 0;
    }
    const control = await startCliControl(engine, apiPortOption(args), args.flags.has('--ui'));
    timeline.player.setSpeed(speed);
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
