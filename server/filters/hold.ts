// The hold filter: "hold I/O". While held, every data request of the disk stops here — before
// the other filters, so it is in flight and drawn as pending — and continues, in order, when
// released. A teacher freezes a disk mid-mkfs and shows what is waiting; the view stays live.
// (nbdkit's pause filter does the same from a control socket; Blockscope toggles it from the
// UI and the control API.) A client that disconnects, or a server that stops, cancels its
// waits: nothing leaks. Every served disk has one, outermost, so the toggle is always there.

import { setMaxListeners } from 'node:events';
import { NbdError } from '../backends/backend.ts';
import { gateEachOp, type Filter, type FilterFactory, type ParamSpec } from './filter.ts';
import { canonicalKey, parseBool } from './params.ts';

export const HOLD_PARAMS: readonly ParamSpec[] = [
  { name: 'hold', help: '=BOOL        Stall every data request until released (default false).', live: true },
];

export interface HoldFilter extends Filter {
  setHold(on: boolean): void;
  isHeld(): boolean;
}

export const createHoldFilter: FilterFactory = (params) => {
  let held = false;
  let release: (() => void) | null = null;
  let released: Promise<void> = Promise.resolve();

  function setHold(on: boolean): void {
    if (on === held) return;
    held = on;
    if (on) released = new Promise<void>((r) => (release = r));
    else {
      release?.();
      release = null;
    }
  }

  /** Wait while held; fail with ESHUTDOWN if the request's connection goes away meanwhile. */
  async function gate(signal: AbortSignal): Promise<void> {
    while (held) {
      if (signal.aborted) throw new NbdError('ESHUTDOWN', 'request cancelled while held');
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(new NbdError('ESHUTDOWN', 'request cancelled while held'));
        // Every held request of a connection waits on the same signal.
        setMaxListeners(0, signal);
        signal.addEventListener('abort', onAbort, { once: true });
        void released.then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  const configure = (p: Record<string, string>) => {
    for (const [k, v] of Object.entries(p)) {
      canonicalKey('hold', HOLD_PARAMS, k);
      setHold(parseBool(k, v));
    }
  };
  configure(params);

  const filter: HoldFilter = {
    name: 'hold',
    longname: 'Blockscope hold filter',
    params: HOLD_PARAMS,
    describe: () => ({ hold: held }),
    configure,
    setHold,
    isHeld: () => held,
    dispose() {
      setHold(false);
    },
    // Nothing to wait for unless held: no extra promise on the data path.
    ...gateEachOp((_op, _flags, c) => (held ? gate(c.signal) : undefined)),
    // Unlike the error and delay filters, a hold stops flushes too: everything waits.
    async flush(next, flags, c) {
      if (held) await gate(c.signal);
      return next.flush(flags, c);
    },
  };
  return filter;
};
