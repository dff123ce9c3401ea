// The error filter: inject errors, like nbdkit's error filter (filters/error/error.c).
// One settings record per operation; global keys fan out to every op, per-op keys
// (error-pwrite-rate=…) override one. Injected errors are thrown before `next` is called, so
// the backend never sees the request. There is no flush injection (nbdkit has none).
// Blockscope additions: `error-seed=N` (a deterministic PRNG for repeatable partial rates) and
// the live Error toggle (setErrors), which creates/removes the error file when one is configured.
// Error files are fixed at start (not `live`): the control API cannot point the toggle at a file.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NbdError } from '../backends/backend.ts';
import type { Errno } from '../shared/types.ts';
import { GATED_OPS, gateEachOp, type Filter, type FilterFactory, type GatedOp, type ParamSpec } from './filter.ts';
import { lowerFlag, raiseFlag } from './flag-file.ts';
import { ParamError, canonicalKey, parseErrno, parseRate, parseUint } from './params.ts';

// The ops errors can be injected into: every data op but flush (nbdkit has no flush injection).
const ERROR_OPS = GATED_OPS;
type ErrorOp = GatedOp;

interface ErrorSettings {
  error: Errno;
  rate: number;
  file: string | null;
}

export const ERROR_PARAMS: readonly ParamSpec[] = [
  { name: 'error', help: '=EIO|EPERM|…  The error to inject (default EIO).', live: true },
  { name: 'error-rate', help: '=N%|0..1     Probability of injecting an error (default 0).', live: true },
  { name: 'error-file', help: '=PATH        Inject errors only while PATH exists (fixed at start).' },
  { name: 'error-seed', help: '=N           Blockscope: seed a deterministic generator for repeatable rates.' },
  ...ERROR_OPS.flatMap((op): ParamSpec[] => [
    { name: `error-${op}`, help: `=ERR         Error for ${op} only.`, live: true },
    { name: `error-${op}-rate`, help: `=RATE        Rate for ${op} only.`, live: true },
    { name: `error-${op}-file`, help: `=PATH        Error file for ${op} only (fixed at start).` },
  ]),
];

/** mulberry32: small, fast, and good enough for test repeatability. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Messages about injected errors: at most one a second per disk, with a count of the rest. */
class InjectionLog {
  private last = 0;
  private suppressed = 0;
  constructor(private readonly disk: number) {}
  note(errno: Errno, op: ErrorOp): void {
    const now = Date.now();
    if (now - this.last < 1000) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed ? ` (and ${this.suppressed} more since the last message)` : '';
    console.error(`blockscope: disk ${this.disk}: injecting ${errno} error into ${op}${more}`);
    this.last = now;
    this.suppressed = 0;
  }
}

export const createErrorFilter: FilterFactory = (params, ctx) => {
  const settings = Object.fromEntries(
    ERROR_OPS.map((op) => [op, { error: 'EIO', rate: 0, file: null } as ErrorSettings]),
  ) as Record<ErrorOp, ErrorSettings>;
  let random: () => number = Math.random;
  let seed: number | null = null;
  /** The Error toggle: null = follow the configuration; true = every op fails; false = none. */
  let forced: boolean | null = null;
  const log = new InjectionLog(ctx.diskNumber);

  function apply(key: string, value: string): void {
    const name = canonicalKey('error', ERROR_PARAMS, key);
    if (name === 'error-seed') {
      seed = parseUint(key, value);
      random = seededRandom(seed);
      return;
    }
    const m = /^error(?:-(pread|pwrite|trim|zero|extents|cache))?(?:-(rate|file))?$/.exec(name);
    if (!m) throw new ParamError(`filter error: unknown parameter '${key}'`);
    const ops: readonly ErrorOp[] = m[1] ? [m[1] as ErrorOp] : ERROR_OPS;
    for (const op of ops) {
      if (m[2] === 'rate') settings[op].rate = parseRate(key, value);
      else if (m[2] === 'file') settings[op].file = value === '' ? null : resolve(value);
      else settings[op].error = parseErrno(key, value);
    }
  }
  for (const [k, v] of Object.entries(params)) apply(k, v);

  const files = () => [...new Set(ERROR_OPS.map((op) => settings[op].file).filter((f): f is string => !!f))];

  function check(op: ErrorOp): void {
    if (forced === false) return;
    const s = settings[op];
    const rate = forced === true ? 1 : s.rate;
    if (rate <= 0) return;
    if (s.file && !existsSync(s.file)) return;
    if (rate < 1 && random() >= rate) return;
    log.note(s.error, op);
    throw new NbdError(s.error, `injected ${s.error} error`);
  }

  const filter: Filter = {
    name: 'error',
    longname: 'Blockscope error injection filter',
    params: ERROR_PARAMS,

    describe() {
      const p = settings.pread;
      return {
        error: p.error,
        'error-rate': p.rate,
        'error-file': p.file,
        'error-seed': seed,
        on: filter.errorsOn!(),
      };
    },
    configure(p) {
      for (const [k, v] of Object.entries(p)) apply(k, v);
    },
    setErrors(on) {
      const fs = files();
      if (fs.length) {
        // The file is the switch an external watcher also sees; the toggle means 100% while on.
        // Only flag files are touched (flag-file.ts): a refusal throws before anything changes here.
        for (const f of fs) (on ? raiseFlag : lowerFlag)(f);
        forced = on ? true : null;
      } else {
        forced = on;
      }
    },
    errorsOn() {
      const fs = files();
      if (fs.length)
        return fs.some((f) => existsSync(f)) && (forced === true || ERROR_OPS.some((op) => settings[op].rate > 0));
      if (forced !== null) return forced;
      return ERROR_OPS.every((op) => settings[op].rate >= 1);
    },

    ...gateEachOp((op) => check(op)),
  };
  return filter;
};
