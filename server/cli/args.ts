// A small, strict argument reader shared by the subcommands: `--name value`, `--name=value`,
// boolean flags, and positional words. Anything unknown is an error (exit code 2).

import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Engine } from '../engine.ts';
import { parseSize } from '../size.ts';
import { DEFAULT_RECORD_LIMIT, LiveRecording } from '../timeline/live.ts';
import { UI_SETTINGS, settingsQuery, type UiSettings } from '../shared/ui-settings.ts';

export class CliError extends Error {}

export interface ArgSpec {
  /** Options that take a value. */
  values: string[];
  /** Options that are flags. */
  flags: string[];
  /** Short aliases: { '-r': '--readonly' }. */
  aliases?: Record<string, string>;
  /** Options that may repeat (values collected in order). */
  repeat?: string[];
}

export interface ParsedArgs {
  values: Map<string, string[]>;
  flags: Set<string>;
  positional: string[];
  /** Every option and positional in command-line order (filters care about order). */
  ordered: Array<{ name: string | null; value: string }>;
}

export function parseArgs(argv: string[], spec: ArgSpec): ParsedArgs {
  const out: ParsedArgs = { values: new Map(), flags: new Set(), positional: [], ordered: [] };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (spec.aliases?.[a]) a = spec.aliases[a];
    if (a === '--') {
      for (const p of argv.slice(i + 1)) {
        out.positional.push(p);
        out.ordered.push({ name: null, value: p });
      }
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a.length > 1) throw new CliError(`unknown option '${a}'`);
      out.positional.push(a);
      out.ordered.push({ name: null, value: a });
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (spec.flags.includes(name)) {
      if (eq > 0) throw new CliError(`option ${name} takes no value`);
      out.flags.add(name);
      out.ordered.push({ name, value: '' });
      continue;
    }
    if (!spec.values.includes(name)) throw new CliError(`unknown option '${name}'`);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      // `--size --port 0` forgot the size: taking `--port` as it would blame the wrong word (or,
      // for --run, run an option as a shell command). A value that starts with -- is --opt=VALUE.
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new CliError(`option ${name} needs a value`);
      value = next;
      i++;
    }
    const list = out.values.get(name) ?? [];
    if (list.length && !spec.repeat?.includes(name)) throw new CliError(`option ${name} given twice`);
    list.push(value);
    out.values.set(name, list);
    out.ordered.push({ name, value });
  }
  return out;
}

export function one(args: ParsedArgs, name: string): string | undefined {
  return args.values.get(name)?.[0];
}

export function intOption(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = one(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new CliError(`${name}: expected an integer from ${min} to ${max}, got '${v}'`);
  }
  return Number(v);
}

/** A size option (`--size 64M`), or undefined when absent. */
export function sizeOption(args: ParsedArgs, name: string): bigint | undefined {
  const v = one(args, name);
  if (v === undefined) return undefined;
  try {
    return parseSize(v);
  } catch (err) {
    throw new CliError(`${name}: ${(err as Error).message}`);
  }
}

/** `--api PORT` and `--ui` (which implies an API on any free port); null when neither is given. */
export function apiPortOption(args: ParsedArgs): number | null {
  return intOption(args, '--api', 0, 65535) ?? (args.flags.has('--ui') ? 0 : null);
}

let stopSignal: Promise<void> | null = null;

/**
 * Resolves on the first SIGINT or SIGTERM received after the first call. Commands call it before
 * they print their addresses: a client that stops the server as soon as it has read them (libnbd's
 * `requires nbdkit … --run 'exit 0'`) must get a clean shutdown, not Node's default death by
 * signal (exit 143) in the moment before the handler exists.
 */
export function untilSignal(): Promise<void> {
  stopSignal ??= new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return stopSignal;
}

/** What `--record FILE`, `--record-limit SIZE` and `--no-record` asked for (null = no recording). */
export type RecordChoice = { path: string | null; limit: number } | null;

export function recordOption(args: ParsedArgs): RecordChoice {
  const path = one(args, '--record');
  const limit = sizeOption(args, '--record-limit');
  if (args.flags.has('--no-record')) {
    if (path || limit !== undefined) throw new CliError('--no-record: drop --record and --record-limit');
    return null;
  }
  if (path !== undefined && !path.endsWith('.bsrec'))
    throw new CliError(`--record: the file name must end in .bsrec, got '${path}'`);
  if (limit !== undefined && limit !== 0n && limit < 1n << 20n)
    throw new CliError('--record-limit: at least 1M (or 0 for none)');
  if (limit !== undefined && limit > BigInt(Number.MAX_SAFE_INTEGER)) throw new CliError('--record-limit: too large');
  if (path !== undefined) recordDirectoryCheck(resolve(path));
  return { path: path ? resolve(path) : null, limit: limit === undefined ? DEFAULT_RECORD_LIMIT : Number(limit) };
}

/** Refuse, before anything is served, a --record file whose directory is missing or not one. */
function recordDirectoryCheck(path: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`--record: ${dir}: ${code === 'ENOENT' ? 'no such directory' : `cannot use it (${code})`}`);
  }
  if (!st.isDirectory()) throw new CliError(`--record: ${dir}: not a directory`);
}

/** Start the time machine's recording for the CLI subcommands; prints where it records. */
export async function startRecording(
  engine: Engine,
  choice: RecordChoice,
  source: 'serve' | 'attach',
): Promise<LiveRecording | null> {
  if (!choice) return null;
  try {
    const r = await LiveRecording.start(engine, { ...choice, source });
    console.log(`recording ${r.path}${choice.path ? '' : ' (temporary: save it from the UI or the API)'}`);
    return r;
  } catch (err) {
    throw new CliError(`--record: ${(err as Error).message}`);
  }
}

/** The UI's settings as options of every command that can serve the UI (--palette, --present…). */
export const UI_OPTIONS = {
  values: UI_SETTINGS.filter((s) => !s.flag).map((s) => s.cli),
  flags: UI_SETTINGS.filter((s) => s.flag).map((s) => s.cli),
};

export const UI_OPTIONS_HELP = UI_SETTINGS.map(
  (s) => `  ${`${s.cli}${s.flag ? '' : ' ' + s.query.toUpperCase()}`.padEnd(19)}${s.help}`,
).join('\n');

/** `?palette=projector&present=1` from the options given ('' when none); bad values are CliErrors. */
export function uiQuery(args: ParsedArgs): string {
  const out: Record<string, unknown> = {};
  for (const s of UI_SETTINGS) {
    const v = s.flag ? (args.flags.has(s.cli) ? '1' : undefined) : one(args, s.cli);
    if (v === undefined) continue;
    try {
      out[s.key] = s.parse(v);
    } catch (err) {
      throw new CliError(`${s.cli}: ${(err as Error).message.replace(/^[a-z]+: /, '')}`);
    }
  }
  return settingsQuery(out as Partial<UiSettings>);
}
