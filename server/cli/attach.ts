// `blockscope attach`: watch an external nbdkit through its log files, as nbdview and nbdraid
// did, and toggle its error files:
//   blockscope attach --size 64M /tmp/log
//   blockscope attach --disks 5 --size 64M /tmp/log%d --error-file /tmp/error%d --ui

import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { parseLine } from '../logs/parser.ts';
import { LogTailer } from '../logs/tailer.ts';
import {
  CliError,
  UI_OPTIONS,
  UI_OPTIONS_HELP,
  apiPortOption,
  intOption,
  one,
  parseArgs,
  sizeOption,
  uiQuery,
  untilSignal,
} from './args.ts';
import { startCliControl } from './control.ts';

export const ATTACH_HELP = `usage: blockscope attach [--disks N] [--size SIZE] LOGFILE [--error-file PATH] [--ui] [--api PORT]

Watch nbdkit log files (nbdkit --filter=log … logfile=LOGFILE) and show every request.
  --disks N          number of disks; %d in LOGFILE and --error-file is the disk number
  --size SIZE        disk size (default: learned from the log's Connect line)
  --error-file PATH  the file the external nbdkit's error filter watches (error-file=PATH):
                     the Error toggle creates and removes it
  --from-end         ignore what the log already holds; show only new requests
  --api PORT, --ui   the control API / the UI (GET /api/disks works while attached)
${UI_OPTIONS_HELP}
`;

/** The size from the first Connect line already in the log, if any. */
function sizeFromLog(path: string): bigint | null {
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const l = parseLine(line);
      if (l?.act === 'Connect' && l.fields.size) return BigInt(l.fields.size);
    }
  } catch {
    // not there yet
  }
  return null;
}

export interface AttachedDisk {
  disk: Disk;
  tailer: LogTailer;
  correlator: LogCorrelator;
  unparsed: number;
}

/** Attach one disk to one log (used by the CLI and the tests). */
export async function attachDisk(
  engine: Engine,
  n: number,
  logPath: string,
  size: bigint,
  errorFile: string | null,
  fromEnd = false,
): Promise<AttachedDisk> {
  const disk = Disk.external(n, size, 'attach', resolve(logPath));
  const correlator = new LogCorrelator(n, disk.bus, 'arrival');
  const a: AttachedDisk = { disk, tailer: null as unknown as LogTailer, correlator, unparsed: 0 };
  if (errorFile) {
    const file = resolve(errorFile);
    disk.errorToggle = (on) => {
      if (on) writeFileSync(file, '');
      else if (existsSync(file)) unlinkSync(file);
    };
    disk.errorToggleState = () => existsSync(file);
    disk.errorFile = file;
  }
  a.tailer = new LogTailer(
    logPath,
    {
      onLines(lines) {
        for (const line of lines) {
          if (!line) continue;
          const l = parseLine(line);
          if (l) correlator.feed(l);
          else {
            a.unparsed++;
            disk.unparsedLines = a.unparsed;
          }
        }
      },
      onRestart() {
        // logappend=false: nbdkit started again, so the picture starts again.
        correlator.reset();
        disk.stats.clear();
      },
    },
    fromEnd,
  );
  engine.addExternal([disk]);
  await a.tailer.start();
  return a;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['--disks', '--size', '--error-file', '--api', ...UI_OPTIONS.values],
    flags: ['--ui', '--help', '--from-end', ...UI_OPTIONS.flags],
    aliases: { '-h': '--help' },
  });
  if (args.flags.has('--help')) {
    process.stdout.write(ATTACH_HELP);
    return 0;
  }
  if (args.positional.length !== 1) throw new CliError('attach needs exactly one LOGFILE (use %d for several disks)');
  const disks = intOption(args, '--disks', 1, 16) ?? 1;
  const pattern = args.positional[0];
  if (disks > 1 && !pattern.includes('%d')) throw new CliError('with --disks N, LOGFILE needs %d (e.g. /tmp/log%d)');
  const size = sizeOption(args, '--size') ?? null;
  const errorPattern = one(args, '--error-file') ?? null;
  const api = apiPortOption(args);
  const engine = new Engine();
  const attached: AttachedDisk[] = [];
  for (let n = 1; n <= disks; n++) {
    const log = resolve(pattern.replace(/%d/g, String(n)));
    let diskSize = size ?? sizeFromLog(log);
    while (diskSize === null) {
      console.error(`blockscope: waiting for ${log} to show its size (Connect line); or give --size`);
      await new Promise((r) => setTimeout(r, 1000));
      diskSize = sizeFromLog(log);
    }
    const errFile = errorPattern ? errorPattern.replace(/%d/g, String(n)) : null;
    attached.push(await attachDisk(engine, n, log, diskSize, errFile, args.flags.has('--from-end')));
    console.log(`disk${n} ${log}${errFile ? ` (error file ${resolve(errFile)})` : ''}`);
  }
  const control = await startCliControl(engine, { port: api, ui: args.flags.has('--ui'), query: uiQuery(args) });
  await untilSignal();
  await control?.close();
  await Promise.all(attached.map((a) => a.tailer.close()));
  return 0;
}
