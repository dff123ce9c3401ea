// `blockscope replay`: play finished nbdkit (or Blockscope) logs.
//   blockscope replay /tmp/log1 /tmp/log2 --speed 4 --ui     (original timing, 4× faster)
//   blockscope replay /tmp/log --summary                     (as fast as it reads; JSON like GET /api/disks)

import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { Replayer } from '../logs/replayer.ts';
import { parseLine, type LogLine } from '../logs/parser.ts';
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
  --speed N      play N times faster than recorded (default 1)
  --size SIZE    disk size when the log has no Connect line
  --ui, --api    show it in the UI / expose the control API; with --ui, playback starts
                 when a page connects
${UI_OPTIONS_HELP}
`;

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
    disks.push(Disk.external(i + 1, size, 'replay', resolve(path)));
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
  const speedText = one(args, '--speed') ?? '1';
  const speed = Number(speedText);
  if (!Number.isFinite(speed) || speed <= 0)
    throw new CliError(`--speed: expected a positive number, got '${speedText}'`);
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
