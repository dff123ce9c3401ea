// `blockscope attach`: watch an external nbdkit through its log files, as nbdview and nbdraid
// did, and toggle its error files:
//   blockscope attach --size 64M /tmp/log
//   blockscope attach --disks 5 --size 64M /tmp/log%d --error-file /tmp/error%d --ui

import { closeSync, existsSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { Disk } from '../disk.ts';
import { Engine } from '../engine.ts';
import { flagRaised, lowerFlag, raiseFlag } from '../filters/flag-file.ts';
import { LogCorrelator } from '../logs/correlator.ts';
import { LineSplitter } from '../logs/lines.ts';
import { LogPathError, openLog } from '../logs/open-log.ts';
import { readLine, sizeFinding, type SizeFinding } from '../logs/parser.ts';
import { LogTailer } from '../logs/tailer.ts';
import { UnreadableLines } from '../logs/unreadable.ts';
import {
  CliError,
  UI_OPTIONS,
  UI_OPTIONS_HELP,
  apiPortOption,
  intOption,
  one,
  parseArgs,
  recordOption,
  sizeOption,
  startRecording,
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
  --record FILE, --record-limit SIZE, --no-record
                     the time machine's recording, as for serve (on by default, temporary file)
${UI_OPTIONS_HELP}
`;

/** The log at `path` opened (null when it is not there yet); a directory or a FIFO is bad input. */
function openLogOrRefuse(path: string): ReturnType<typeof openLog> {
  try {
    return openLog(path);
  } catch (err) {
    if (err instanceof LogPathError) throw new CliError(err.message);
    throw err;
  }
}

/** Most of a log read while looking for its first Connect line (nbdkit writes it near the top). */
const SIZE_SCAN_BYTES = 64 << 20;

/** The size from the first Connect line already in the log; null when there is none yet. */
export function sizeFromLog(path: string): SizeFinding | null {
  const opened = openLogOrRefuse(path);
  if (!opened) return null; // not there yet
  const { fd } = opened;
  try {
    const splitter = new LineSplitter();
    const buf = Buffer.allocUnsafe(1 << 20);
    let lineNo = 0;
    for (let pos = 0; pos < SIZE_SCAN_BYTES;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      const { lines, overlong } = splitter.push(buf.subarray(0, n));
      lineNo += overlong;
      for (const text of lines) {
        const found = sizeFinding(text, ++lineNo);
        if (found) return found;
      }
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

export interface AttachedDisk {
  disk: Disk;
  tailer: LogTailer;
  correlator: LogCorrelator;
  /** Lines that could not be read (also disk.unparsedLines). */
  readonly unparsed: number;
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
  const unreadable = new UnreadableLines(disk, logPath);
  if (errorFile) {
    // Fixed here, at start; the toggle only creates/removes it as an empty flag file (flag-file.ts).
    const file = resolve(errorFile);
    disk.errorToggle = (on) => (on ? raiseFlag : lowerFlag)(file);
    disk.errorToggleState = () => flagRaised(file);
    disk.errorFile = file;
  }
  let lineNo = 0;
  const tailer = new LogTailer(
    logPath,
    {
      onLines(lines) {
        for (const text of lines) {
          lineNo++;
          if (!text) continue;
          const r = readLine(text);
          if (r.line) correlator.feed(r.line);
          else unreadable.note(lineNo, r.why);
        }
      },
      onOverlong(count) {
        for (let i = 0; i < count; i++) unreadable.overlong(++lineNo);
      },
      onRestart() {
        // logappend=false: nbdkit started again, so the picture starts again.
        correlator.reset();
        disk.stats.clear();
        unreadable.reset();
        lineNo = 0;
      },
    },
    fromEnd,
  );
  engine.addExternal([disk]);
  await tailer.start();
  return {
    disk,
    tailer,
    correlator,
    get unparsed() {
      return disk.unparsedLines ?? 0;
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['--disks', '--size', '--error-file', '--api', '--record', '--record-limit', ...UI_OPTIONS.values],
    flags: ['--ui', '--help', '--from-end', '--no-record', ...UI_OPTIONS.flags],
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
  if (size === 0n) throw new CliError('--size: a disk needs a size above 0');
  const errorPattern = one(args, '--error-file') ?? null;
  const api = apiPortOption(args);
  const record = recordOption(args);
  let stopped = false;
  const signalled = untilSignal().then(() => {
    stopped = true;
  });
  const engine = new Engine();
  const attached: AttachedDisk[] = [];
  for (let n = 1; n <= disks; n++) {
    const log = resolve(pattern.replace(/%d/g, String(n)));
    // Checked with --size too: the tailer would only complain, and serve an empty picture.
    const present = openLogOrRefuse(log);
    if (present) closeSync(present.fd);
    let found: SizeFinding | null = size === null ? sizeFromLog(log) : { size };
    let said = '';
    while (found === null) {
      // Said once, and again only when it changes (the log appears): not every second.
      const waiting = existsSync(log)
        ? `waiting for ${log} to show its size (Connect line); or give --size`
        : `waiting for ${log} to appear and show its size (Connect line); or give --size`;
      if (waiting !== said) console.error(`blockscope: ${waiting}`);
      said = waiting;
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), signalled]);
      if (stopped) {
        await Promise.all(attached.map((a) => a.tailer.close()));
        return 0;
      }
      found = sizeFromLog(log);
    }
    if ('error' in found) throw new CliError(`${log}: ${found.error}; give --size`);
    const diskSize = found.size;
    const errFile = errorPattern ? errorPattern.replace(/%d/g, String(n)) : null;
    attached.push(await attachDisk(engine, n, log, diskSize, errFile, args.flags.has('--from-end')));
    console.log(`disk${n} ${log}${errFile ? ` (error file ${resolve(errFile)})` : ''}`);
  }
  const recording = await startRecording(engine, record, 'attach');
  const control = await startCliControl(engine, { port: api, ui: args.flags.has('--ui'), query: uiQuery(args) });
  await signalled;
  await control?.close();
  await recording?.close();
  await Promise.all(attached.map((a) => a.tailer.close()));
  return 0;
}
