// `blockscope replay`: play finished nbdkit (or Blockscope) logs.
//   blockscope replay /tmp/log1 /tmp/log2 --speed 4 --ui     (original timing, 4× faster)
//   blockscope replay /tmp/log --summary                     (as fast as it reads; JSON like GET /api/disks)

import { resolve } from 'node:path';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { MAX_SPEED, MIN_SPEED, Replayer } from '../logs/replayer.ts';
import { readLogLines } from '../logs/lines.ts';
import { readLine, sizeFinding, type SizeFinding } from '../logs/parser.ts';
import { UnreadableLines } from '../logs/unreadable.ts';
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

export const REPLAY_HELP = `usage: blockscope replay LOGFILE… [--size SIZE] [--speed N] [--summary] [--ui] [--api PORT]

Play finished nbdkit/Blockscope log files, one disk per file.
  --summary      no timing, no UI: print the final state of each disk as JSON (GET /api/disks shape)
  --speed N      play N times faster than recorded (default 1; 0.01 to 1000)
  --size SIZE    disk size when the log has no Connect line
  --ui, --api    show it in the UI / expose the control API; with --ui, playback starts
                 when a page connects
${UI_OPTIONS_HELP}
`;

/** The first Connect line's size (or why it is unusable); null when the log has none. */
async function firstSize(path: string): Promise<SizeFinding | null> {
  let lineNo = 0;
  for await (const text of readLogLines(path)) {
    lineNo++;
    const found = text === null ? null : sizeFinding(text, lineNo);
    if (found) return found;
  }
  return null;
}

/** One replay disk per log, sized from its Connect line (or --size). */
async function externalDisks(paths: string[], fallbackSize: bigint | null): Promise<Disk[]> {
  const disks: Disk[] = [];
  for (const [i, path] of paths.entries()) {
    let found: SizeFinding | null;
    try {
      found = await firstSize(path);
    } catch (err) {
      throw new CliError(`${path}: ${(err as Error).message}`);
    }
    let size: bigint;
    if (found && 'size' in found) size = found.size;
    else if (fallbackSize !== null) size = fallbackSize;
    else if (found) throw new CliError(`${path}: ${found.error}; give --size`);
    else throw new CliError(`${path}: no Connect line tells the disk size; give --size`);
    disks.push(Disk.external(i + 1, size, 'replay', resolve(path)));
  }
  return disks;
}

/** Replay logs into disks of `engine` as fast as they read (--summary); every line is read to the end. */
export async function replayLogs(engine: Engine, paths: string[], fallbackSize: bigint | null): Promise<Disk[]> {
  const disks = await externalDisks(paths, fallbackSize);
  engine.addExternal(disks);
  await Promise.all(
    paths.map(async (path, i) => {
      const disk = disks[i];
      const c = new LogCorrelator(disk.number, disk.bus, 'log');
      const unreadable = new UnreadableLines(disk, path);
      let lineNo = 0;
      for await (const text of readLogLines(path)) {
        lineNo++;
        if (text === null) unreadable.overlong(lineNo);
        else if (text) {
          const r = readLine(text);
          if (r.line) c.feed(r.line);
          else unreadable.note(lineNo, r.why);
        }
      }
    }),
  );
  return disks;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['--size', '--speed', '--api', ...UI_OPTIONS.values],
    flags: ['--summary', '--ui', '--help', ...UI_OPTIONS.flags],
    aliases: { '-h': '--help' },
  });
  if (args.flags.has('--help')) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (!args.positional.length) throw new CliError('replay needs at least one LOGFILE');
  const size = sizeOption(args, '--size') ?? null;
  if (size === 0n) throw new CliError('--size: a disk needs a size above 0');
  const speedText = one(args, '--speed') ?? '1';
  const speed = /^\d{1,9}(\.\d{1,9})?$/.test(speedText) ? Number(speedText) : NaN;
  if (!(speed >= MIN_SPEED && speed <= MAX_SPEED))
    throw new CliError(`--speed: expected a number from ${MIN_SPEED} to ${MAX_SPEED}, got '${speedText}'`);
  const engine = new Engine();
  if (args.flags.has('--summary')) {
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
  const ui = args.flags.has('--ui');
  const control = await startCliControl(engine, { port: apiPortOption(args), ui, query: uiQuery(args) });
  const disks = await externalDisks(args.positional, size);
  engine.addExternal(disks);
  // With a UI the replay stays open at its end (seek back, explore) until stopped.
  const replayer = new Replayer(disks, args.positional, speed, control !== null);
  engine.replay = replayer;
  // Nobody would see the start of a replay that begins before the page is open.
  if (control && ui) {
    console.log('replay starts when a page is connected');
    const stop = untilSignal().then(() => 'stop' as const);
    if ((await Promise.race([control.waitForViewer().then(() => 'go' as const), stop])) === 'stop') {
      await control.close();
      return 0;
    }
  }
  const done = replayer.run().then(() => console.log(`replay finished: ${replayer.requests} requests`));
  if (control) {
    await untilSignal();
    replayer.stop();
    await control.close();
  }
  await done;
  return 0;
}
