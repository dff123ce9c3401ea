// One bus per disk: the connection layer (or the log tailer in attach mode) publishes
// request start/end; stats, the coalescer and tests subscribe. Synchronous and allocation-free
// on the hot path: listeners are called in registration order with the same event object.

import type { RequestEvent, RequestListener, RequestPhase } from '../shared/types.ts';

export class EventBus {
  private listeners: RequestListener[] = [];

  subscribe(listener: RequestListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(phase: RequestPhase, ev: RequestEvent): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i](phase, ev);
      } catch (err) {
        // A broken subscriber must never take the data path down with it.
        console.error('blockscope: event listener failed:', err);
      }
    }
  }

  get size(): number {
    return this.listeners.length;
  }
}

/** Monotonic clock in microseconds, shared by every producer of events. */
export function monotonicUs(): number {
  return performance.now() * 1000;
}
