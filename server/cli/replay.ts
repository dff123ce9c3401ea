// `blockscope replay`: play finished nbdkit (or Blockscope) logs.
//   blockscope replay /tmp/log1 /tmp/log2 --speed 4 --ui     (original timing, 4× faster)
//   blockscope replay /tmp/log --summary                     (as fast as it reads; JSON like GET /api/disks)

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { parseLine, type LogLine } from '../logs/parser.ts';
import { CliError, apiPortOption, one, parseArgs, sizeOption, untilSignal } from './args.ts';
import { startCliControl } from './control.ts';

export const REPLAY_HELP = `usage: blockscope replay LOGFILE… [--size SIZE] [--speed N] [--summary] [--ui] [--api PORT]

Play finished nbdkit/Blockscope log files, one disk per file.
  --summary      no timing, no UI: print the final state of each disk as JSON (GET /api/disks shape)
  --speed N      play N times faster than recorded (default 1)
  --size SIZE    disk size when the log has no Connect line
  --ui, --api    show it in the UI / expose the control API
`;

/** Read a whole log file line by line (streamed: the file is never held in memory). */
async function* logLines(path: string): AsyncGenerator<{ line: LogLine | null }> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const text of rl) if (text) yield { line: parseLine(text) };
}

async function firstSize(path: string): Promise<bigint | null> {
  for await (const { line } of logLines(path)) if (line?.act === 'Connect' && line.fields.size) return BigInt(line.fields.size);
  return null;
}

/** Replay logs into disks of `engine`; `speed` null = as fast as possible. */
export async function replayLogs(engine: Engine, paths: string[], fallbackSize: bigint | null, speed: number | null): Promise<Disk[]> {
  const disks: Disk[] = [];
  for (const [i, path] of paths.entries()) {
    const size = (await firstSize(path)) ?? fallbackSize;
    if (size === null) throw new CliError(`${path}: no Connect line tells the disk size; give --size`);
    disks.push(Disk.external(i + 1, size, 'replay'));
  }
  engine.addExternal(disks);
  await Promise.all(
    paths.map(async (path, i) => {
      const disk = disks[i];
      const c = new LogCorrelator(disk.number, disk.bus, 'log');
      let unparsed = 0;
      let t0Log: number | null = null;
      const t0 = performance.now();
      for await (const { line } of logLines(path)) {
        if (!line) {
          disk.unparsedLines = ++unparsed;
          continue;
        }
        if (speed !== null && line.timeUs !== null) {
          t0Log ??= line.timeUs;
          const due = (line.timeUs - t0Log) / 1000 / speed;
          const wait = due - (performance.now() - t0);
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        }
        c.feed(line);
      }
      disk.unparsedLines = unparsed;
    }),
  );
  return disks;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['--size', '--speed', '--api'], flags: ['--summary', '--ui', '--help'], aliases: { '-h': '--help' } });
  if (args.flags.has('--help')) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (!args.positional.length) throw new CliError('replay needs at least one LOGFILE');
  const size = sizeOption(args, '--size') ?? null;
  const speedText = one(args, '--speed') ?? '1';
  const speed = Number(speedText);
  if (!Number.isFinite(speed) || speed <= 0) throw new CliError(`--speed: expected a positive number, got '${speedText}'`);
  const engine = new Engine();
  if (args.flags.has('--summary')) {
    await replayLogs(engine, args.positional, size, null);
    process.stdout.write(`${JSON.stringify(engine.disks.map((d) => d.info()), null, 2)}\n`);
    return 0;
  }
  const control = await startCliControl(engine, apiPortOption(args), args.flags.has('--ui'));
  await replayLogs(engine, args.positional, size, speed);
  console.log('replay finished');
  if (control) {
    // Keep showing the final picture until stopped.
    await untilSignal();
    await control.close();
  }
  return 0;
}
