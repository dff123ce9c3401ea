// The delay filter: slow requests down so a person can follow them, like nbdkit's delay filter
// (filters/delay/delay.c), with one difference that matters on stage: every request waits on
// its own timer, so parallel requests are delayed in parallel (nbdkit's memory plugin
// serialises them). Settings change live; a new value applies to requests that start after it.
// A client that goes away (or a server that stops) cancels its pending waits: no timers leak.

import { setMaxListeners } from 'node:events';
import { NbdError, type Next } from '../backends/backend.ts';
import { CMD_FLAG } from '../shared/types.ts';
import { gateEachOp, type Filter, type FilterFactory, type GatedOp, type ParamSpec } from './filter.ts';
import { canonicalKey, parseBool, parseDelay } from './params.ts';

export const DELAY_PARAMS: readonly ParamSpec[] = [
  { name: 'rdelay', aliases: ['delay-read', 'delay-reads'], help: '=SECS|NNms   Read delay.', live: true },
  { name: 'wdelay', help: '=SECS|NNms   Write, zero and trim delay.', live: true },
  { name: 'delay-write', aliases: ['delay-writes'], help: '=SECS|NNms   Write delay.', live: true },
  { name: 'delay-zero', aliases: ['delay-zeroes'], help: '=SECS|NNms   Zero delay.', live: true },
  {
    name: 'delay-trim',
    aliases: ['delay-trims', 'delay-discard', 'delay-discards'],
    help: '=SECS|NNms   Trim delay.',
    live: true,
  },
  { name: 'delay-extents', aliases: ['delay-extent'], help: '=SECS|NNms   Block status delay.', live: true },
  { name: 'delay-cache', help: '=SECS|NNms   Cache delay.', live: true },
  { name: 'delay-fast-zero', help: '=BOOL        Delay fast zero requests too (default true).', live: true },
  { name: 'delay-open', help: '=SECS|NNms   Delay each new connection.', live: true },
  { name: 'delay-close', help: '=SECS|NNms   Delay each graceful disconnect.', live: true },
];

interface Delays {
  read: number;
  write: number;
  zero: number;
  trim: number;
  extents: number;
  cache: number;
  open: number;
  close: number;
  fastZero: boolean;
}

/** Node's timers hold at most 2^31-1 ms (longer ones fire after 1 ms): longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Wait `ms`, or fail with ESHUTDOWN as soon as `signal` aborts; the timer never outlives either. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new NbdError('ESHUTDOWN', 'request cancelled'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new NbdError('ESHUTDOWN', 'request cancelled'));
    };
    const arm = (left: number): NodeJS.Timeout =>
      setTimeout(
        () => {
          if (left > MAX_TIMER_MS) {
            timer = arm(left - MAX_TIMER_MS);
            return;
          }
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.min(left, MAX_TIMER_MS),
      );
    let timer = arm(ms);
    if (signal) {
      // Many requests of one connection wait on the same signal at once.
      setMaxListeners(0, signal);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/** Which delay each gated op waits. */
const DELAY_OF: Record<GatedOp, 'read' | 'write' | 'trim' | 'zero' | 'extents' | 'cache'> = {
  pread: 'read',
  pwrite: 'write',
  trim: 'trim',
  zero: 'zero',
  extents: 'extents',
  cache: 'cache',
};

export const createDelayFilter: FilterFactory = (params) => {
  const d: Delays = { read: 0, write: 0, zero: 0, trim: 0, extents: 0, cache: 0, open: 0, close: 0, fastZero: true };

  // Order-dependent like nbdkit: wdelay sets write, zero and trim; a later specific key wins.
  function apply(key: string, value: string): void {
    const name = canonicalKey('delay', DELAY_PARAMS, key);
    if (name === 'delay-fast-zero') {
      d.fastZero = parseBool(key, value);
      return;
    }
    const ms = parseDelay(key, value);
    switch (name) {
      case 'rdelay':
        d.read = ms;
        break;
      case 'wdelay':
        d.write = d.zero = d.trim = ms;
        break;
      case 'delay-write':
        d.write = ms;
        break;
      case 'delay-zero':
        d.zero = ms;
        break;
      case 'delay-trim':
        d.trim = ms;
        break;
      case 'delay-extents':
        d.extents = ms;
        break;
      case 'delay-cache':
        d.cache = ms;
        break;
      case 'delay-open':
        d.open = ms;
        break;
      case 'delay-close':
        d.close = ms;
        break;
    }
  }
  for (const [k, v] of Object.entries(params)) apply(k, v);

  const filter: Filter = {
    name: 'delay',
    longname: 'Blockscope delay filter',
    params: DELAY_PARAMS,

    describe() {
      return {
        rdelay: `${d.read}ms`,
        'delay-write': `${d.write}ms`,
        'delay-zero': `${d.zero}ms`,
        'delay-trim': `${d.trim}ms`,
        'delay-extents': `${d.extents}ms`,
        'delay-cache': `${d.cache}ms`,
        'delay-fast-zero': d.fastZero,
        'delay-open': `${d.open}ms`,
        'delay-close': `${d.close}ms`,
      };
    },
    configure(p) {
      for (const [k, v] of Object.entries(p)) apply(k, v);
    },

    async open() {
      await delay(d.open);
    },
    async close(_next, _conn, graceful) {
      // nbdkit delays only clients that said goodbye (NBD_CMD_DISC).
      if (graceful) await delay(d.close);
    },
    canFastZero(next: Next) {
      // Fast zeroes we refuse locally are still advertised, so clients try and fail fast.
      if (d.zero > 0 && !d.fastZero) return true;
      return next.canFastZero();
    },

    ...gateEachOp((op, flags, c) => {
      if (op === 'zero' && flags & CMD_FLAG.FAST_ZERO && d.zero > 0 && !d.fastZero) {
        throw new NbdError('ENOTSUP', 'fast zero refused: a zero delay is set');
      }
      const ms = d[DELAY_OF[op]];
      return ms > 0 ? delay(ms, c.signal) : undefined;
    }),
  };
  return filter;
};
