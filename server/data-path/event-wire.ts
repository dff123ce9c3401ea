// Request events across a thread boundary, in batches. The worker's bus feeds an EventBatcher,
// which packs each start/end into a fixed-size record and hands them over (transferred, not
// copied) a few milliseconds after the first one or when the batch is full; the engine side's
// EventUnpacker turns the records back into RequestEvent objects on the disk's own bus. One
// message per batch instead of one per request keeps the crossing cheap under a flood, and
// keeps the engine thread asleep between batches when requests come one at a time.
//
// Identity matters downstream (DiskStats and the recorder keep per-request state on the event
// object between its start and its end), so each request in flight gets a slot number; the
// unpacker keeps the start's object in that slot and hands the same object to the end.

import { monotonicUs } from '../events/event-bus.ts';
import { ERRNOS, OPS, opIndex, type Errno, type RequestEvent, type RequestPhase } from '../shared/types.ts';

/** Bytes per record: phase/op/error/cancelled, slot, connection, id, offset, length, flags, start, end. */
export const RECORD_BYTES = 48;
/** Records per batch buffer (48 KiB): large enough that a flood sends few messages. */
const BATCH_RECORDS = 1024;
/**
 * Batches go at most this often. Sending at the end of every event-loop turn woke the engine
 * thread once per request at low queue depths: on two cores that thread then competes with the
 * client and the worker for every request (fio randwrite QD1 fell to half). A frame is 16 ms,
 * so a few ms here are not seen; after a quiet spell the first events go at once.
 */
const BATCH_MS = 4;
/**
 * Events the owner may have waiting before the worker stops serving until it catches up. No
 * event may be lost, so a producer faster than the engine thread must wait somewhere; waiting
 * here keeps the backlog (and what the engine thread does in one go) to a few milliseconds.
 */
const BACKLOG_HIGH = 8192;
const BACKLOG_LOW = 2048;
/** A wait never outlasts this (an owner that stopped reading must not hang the worker forever). */
const BACKLOG_MAX_WAIT_MS = 1000;

/** The shared count of events sent and not yet unpacked (one Int32 in a SharedArrayBuffer). */
export function backlogCounter(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

const PHASE_END = 1;
const CANCELLED = 2;
const ERRNO_INDEX = new Map<Errno, number>(ERRNOS.map((e, i) => [e, i + 1]));

export interface EventBatch {
  buffer: ArrayBuffer;
  count: number;
}

/** Now (µs), after which this thread waits into the next microsecond: later events get later times. */
export function pastThisMicrosecond(): number {
  const now = monotonicUs();
  while (monotonicUs() < now + 1) {
    // A microsecond at most.
  }
  return now;
}

/** Worker side: packs bus events; sends a batch when full, else at most every BATCH_MS. */
export class EventBatcher {
  private view: DataView;
  private count = 0;
  private scheduled = false;
  private lastSent = -Infinity;
  private readonly slots = new Map<RequestEvent, number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  private readonly backlog: Int32Array | null;
  /** Times the worker waited for the owner to catch up, and for how long in all (ms). */
  backlogWaits = 0;
  backlogWaitMs = 0;

  constructor(
    private readonly send: (batch: EventBatch) => void,
    /** Added to every timestamp: the receiving thread's clock has another origin. */
    private readonly clockShiftUs = 0,
    /** backlogCounter(), shared with the EventUnpacker; null = no backpressure. */
    backlog: SharedArrayBuffer | null = null,
  ) {
    this.view = new DataView(new ArrayBuffer(BATCH_RECORDS * RECORD_BYTES));
    this.backlog = backlog ? new Int32Array(backlog) : null;
  }

  readonly listener = (phase: RequestPhase, ev: RequestEvent): void => {
    let slot: number;
    if (phase === 'start') {
      slot = this.freeSlots.pop() ?? this.nextSlot++;
      this.slots.set(ev, slot);
    } else {
      const s = this.slots.get(ev);
      if (s === undefined) return; // started before this batcher listened: nothing to end
      slot = s;
      this.slots.delete(ev);
      this.freeSlots.push(slot);
    }
    const v = this.view;
    const o = this.count * RECORD_BYTES;
    v.setUint8(o, (phase === 'end' ? PHASE_END : 0) | (ev.cancelled ? CANCELLED : 0));
    v.setUint8(o + 1, opIndex(ev.op));
    v.setUint8(o + 2, ev.error ? (ERRNO_INDEX.get(ev.error) ?? 0) : 0);
    v.setUint32(o + 4, slot, true);
    v.setUint32(o + 8, ev.connection, true);
    v.setUint32(o + 12, ev.id, true);
    v.setBigUint64(o + 16, ev.offset, true);
    v.setUint32(o + 24, ev.length, true);
    v.setUint32(o + 28, ev.flags, true);
    v.setFloat64(o + 32, ev.startUs + this.clockShiftUs, true);
    v.setFloat64(o + 40, ev.endUs ? ev.endUs + this.clockShiftUs : 0, true);
    if (++this.count === BATCH_RECORDS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      const wait = this.lastSent + BATCH_MS - performance.now();
      if (wait > 0) setTimeout(this.flushScheduled, wait);
      else setImmediate(this.flushScheduled);
    }
  };

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** The clock shift (µs) between this thread and the receiving one. */
  get shiftUs(): number {
    return this.clockShiftUs;
  }

  /** Hand over what is packed so far (also before any reply, so that events never trail it). */
  flush(): void {
    if (!this.count) return;
    const count = this.count;
    // An exact-size copy goes (a turn's batch is often a few dozen records); the staging buffer
    // stays. Fresh 48 KiB buffers per turn were external memory for the GC to chase.
    const buffer = (this.view.buffer as ArrayBuffer).slice(0, count * RECORD_BYTES);
    this.count = 0;
    const b = this.backlog;
    if (b) Atomics.add(b, 0, count);
    this.lastSent = performance.now();
    this.send({ buffer, count });
    if (b && Atomics.load(b, 0) > BACKLOG_HIGH) this.waitForOwner(b);
  }

  /** Block this (worker) thread until the owner has unpacked most of what was sent. */
  private waitForOwner(b: Int32Array): void {
    const t0 = performance.now();
    this.backlogWaits++;
    for (let n = Atomics.load(b, 0); n > BACKLOG_LOW; n = Atomics.load(b, 0)) {
      const left = BACKLOG_MAX_WAIT_MS - (performance.now() - t0);
      if (left <= 0) break;
      Atomics.wait(b, 0, n, left);
    }
    this.backlogWaitMs += performance.now() - t0;
  }
}

/** UI side: turns batches back into events on a bus, the same object for a request's start and end. */
/**
 * The engine thread's time for unpacking per event-loop turn, shared by every disk. A message may
 * carry a thousand events and Node hands over every queued message in one go, so unpacking them
 * as they come stalled the loop for tens of ms under a flood of several disks (the control
 * server answered late, frames were cut late). Slices keep each turn short; what is left waits
 * for the next turn, and the worker's backpressure (BACKLOG_HIGH) bounds how much that is.
 */
const SLICE_MS = 2;
/** Records one disk unpacks before the next disk has its turn within a slice. */
const SLICE_RECORDS = 256;
const waiting = new Set<EventUnpacker>();
let drainScheduled = false;

function drainWaiting(): void {
  const t0 = performance.now();
  do {
    for (const u of waiting) if (!u.unpackSome(SLICE_RECORDS)) waiting.delete(u);
  } while (waiting.size && performance.now() - t0 < SLICE_MS);
  if (waiting.size) setImmediate(drainWaiting);
  else drainScheduled = false;
}

interface Queued {
  view: DataView;
  count: number;
  next: number;
}

export class EventUnpacker {
  private readonly inFlight: Array<RequestEvent | undefined> = [];
  private readonly backlog: Int32Array | null;
  private readonly queue: Queued[] = [];

  constructor(
    private readonly disk: number,
    private readonly emit: (phase: RequestPhase, ev: RequestEvent) => void,
    backlog: SharedArrayBuffer | null = null,
  ) {
    this.backlog = backlog ? new Int32Array(backlog) : null;
  }

  /** Unpack a batch now (and everything queued before it). */
  unpack(batch: EventBatch): void {
    this.unpackQueued();
    this.unpackRange(new DataView(batch.buffer), 0, batch.count);
  }

  /** Unpack a batch in the engine thread's next slices (in order with what is queued). */
  enqueue(batch: EventBatch): void {
    this.queue.push({ view: new DataView(batch.buffer), count: batch.count, next: 0 });
    waiting.add(this);
    if (!drainScheduled) {
      drainScheduled = true;
      setImmediate(drainWaiting);
    }
  }

  /** Unpack everything queued: before anything the worker said after those events (replies, state). */
  unpackQueued(): void {
    while (this.unpackSome(Infinity));
    waiting.delete(this);
  }

  /** Unpack up to `max` queued records; true while more are queued. */
  unpackSome(max: number): boolean {
    let left = max;
    while (left > 0 && this.queue.length) {
      const q = this.queue[0];
      const to = Math.min(q.count, q.next + left);
      this.unpackRange(q.view, q.next, to);
      left -= to - q.next;
      q.next = to;
      if (q.next === q.count) this.queue.shift();
    }
    return this.queue.length > 0;
  }

  private unpackRange(v: DataView, from: number, to: number): void {
    for (let i = from, o = from * RECORD_BYTES; i < to; i++, o += RECORD_BYTES) {
      const bits = v.getUint8(o);
      const slot = v.getUint32(o + 4, true);
      const errno = v.getUint8(o + 2);
      if (bits & PHASE_END) {
        const ev = this.inFlight[slot];
        if (!ev) continue;
        this.inFlight[slot] = undefined;
        ev.endUs = v.getFloat64(o + 40, true);
        ev.error = errno ? ERRNOS[errno - 1] : null;
        if (bits & CANCELLED) ev.cancelled = true;
        this.emit('end', ev);
      } else {
        const ev: RequestEvent = {
          disk: this.disk,
          connection: v.getUint32(o + 8, true),
          id: v.getUint32(o + 12, true),
          op: OPS[v.getUint8(o + 1)],
          offset: v.getBigUint64(o + 16, true),
          length: v.getUint32(o + 24, true),
          flags: v.getUint32(o + 28, true),
          startUs: v.getFloat64(o + 32, true),
          endUs: 0,
          error: null,
          recordStart: -1,
        };
        this.inFlight[slot] = ev;
        this.emit('start', ev);
      }
    }
    const n = to - from;
    const b = this.backlog;
    if (b && Atomics.sub(b, 0, n) - n <= BACKLOG_LOW) Atomics.notify(b, 0);
  }

  /** The worker went away: end what it left in flight as cancelled, so nothing stays drawn pending. */
  abandon(nowUs: number): number {
    this.unpackQueued();
    let n = 0;
    for (let slot = 0; slot < this.inFlight.length; slot++) {
      const ev = this.inFlight[slot];
      if (!ev) continue;
      this.inFlight[slot] = undefined;
      ev.endUs = nowUs;
      ev.error = 'ESHUTDOWN';
      ev.cancelled = true;
      this.emit('end', ev);
      n++;
    }
    return n;
  }
}
