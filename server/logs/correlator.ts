// Turns parsed nbdkit log lines into the request events the embedded server emits, so the
// grid, counters and API are identical in attach/replay mode. ENTER starts a request, LEAVE
// completes it, matched by (connection, id) because requests interleave. Lines arrive already
// validated by the parser (numbers in range), so nothing here can throw. Requests whose LEAVE
// never comes end as cancelled when their connection disconnects, and at most MAX_PENDING wait
// at once (a hostile log of ENTER lines cannot grow memory without bound).

import { monotonicUs } from '../events/event-bus.ts';
import type { EventBus } from '../events/event-bus.ts';
import { CMD_FLAG, type Op, type RequestEvent } from '../shared/types.ts';
import type { LogLine } from './parser.ts';

const OP_OF_ACT: Record<string, Op> = {
  Read: 'read',
  Write: 'write',
  Trim: 'trim',
  Zero: 'zero',
  Flush: 'flush',
  Extents: 'extents',
  Cache: 'cache',
};

/** Requests waiting for their LEAVE line; past this the oldest is ended as cancelled. */
export const MAX_PENDING = 65536;

/** How event times are taken: arrival (live attach: latency as the viewer saw it) or the log's timestamps (replay). */
export type Clock = 'arrival' | 'log';

function flagsOf(act: string, f: Record<string, string>): number {
  let flags = 0;
  if (f.fua === '1') flags |= CMD_FLAG.FUA;
  if (act === 'Zero') {
    if (f.trim === '0') flags |= CMD_FLAG.NO_HOLE;
    if (f.fast === '1') flags |= CMD_FLAG.FAST_ZERO;
  }
  if (act === 'Extents' && f.req_one === '1') flags |= CMD_FLAG.REQ_ONE;
  return flags;
}

export class LogCorrelator {
  private pending = new Map<string, RequestEvent>();
  /** Disk size learned from a Connect line, in bytes. */
  size: bigint | null = null;
  requests = 0;

  constructor(
    private readonly diskNumber: number,
    private readonly bus: EventBus,
    private readonly clock: Clock = 'arrival',
    private readonly onSize?: (size: bigint) => void,
  ) {}

  private time(l: LogLine): number {
    return this.clock === 'log' && l.timeUs !== null ? l.timeUs : monotonicUs();
  }

  /** End a request whose LEAVE line will never come: cancelled, not an error returned to a client. */
  private cancel(key: string, ev: RequestEvent, endUs: number): void {
    this.pending.delete(key);
    ev.endUs = endUs;
    ev.error = 'ESHUTDOWN';
    ev.cancelled = true;
    this.bus.emit('end', ev);
  }

  feed(l: LogLine): void {
    if (l.act === 'Connect') {
      if (l.size !== null) {
        if (this.size === null) this.onSize?.(l.size);
        this.size = l.size;
      }
      return;
    }
    if (l.act === 'Disconnect' && l.connection !== null) {
      // Requests that never got their LEAVE line end with the connection.
      for (const [key, ev] of this.pending) if (ev.connection === l.connection) this.cancel(key, ev, this.time(l));
      return;
    }
    const op = OP_OF_ACT[l.act];
    if (!op || l.kind === 'print' || l.id === null) return;
    const key = `${l.connection ?? 0}:${l.id}`;
    if (l.kind === 'enter') {
      const ev: RequestEvent = {
        disk: this.diskNumber,
        connection: l.connection ?? 0,
        id: l.id,
        op,
        offset: l.offset ?? 0n,
        length: l.count ?? 0,
        flags: flagsOf(l.act, l.fields),
        startUs: this.time(l),
        endUs: 0,
        error: null,
        recordStart: -1,
      };
      const twin = this.pending.get(key);
      if (twin) this.cancel(key, twin, ev.startUs); // an id reused before its LEAVE: the first never ends
      if (this.pending.size >= MAX_PENDING) {
        const [oldestKey, oldest] = this.pending.entries().next().value as [string, RequestEvent];
        this.cancel(oldestKey, oldest, ev.startUs);
      }
      this.pending.set(key, ev);
      this.bus.emit('start', ev);
      return;
    }
    let ev = this.pending.get(key);
    if (ev) this.pending.delete(key);
    else {
      // The tail began mid-request: a LEAVE without its ENTER still counts, with no range.
      ev = {
        disk: this.diskNumber,
        connection: l.connection ?? 0,
        id: l.id,
        op,
        offset: 0n,
        length: 0,
        flags: 0,
        startUs: this.time(l),
        endUs: 0,
        error: null,
      };
      this.bus.emit('start', ev);
    }
    ev.endUs = this.time(l);
    ev.error = l.error;
    this.requests++;
    this.bus.emit('end', ev);
  }

  /** The log restarted: requests in flight will never end, so they end now (cancelled). */
  reset(): void {
    const now = monotonicUs();
    for (const [key, ev] of this.pending) this.cancel(key, ev, this.clock === 'log' ? ev.startUs : now);
  }
}
