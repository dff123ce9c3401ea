// A page that exports a video moves the one shared time machine (pause, then a seek per
// frame), so every other viewer sees the export's instants. The page puts it back when the
// export ends; when the page goes away first (closed, crashed, reloaded), this puts it back:
// calls marked `borrow` remember where the time machine was before the first of them, and when
// the caller's connection closes before it makes an unmarked timeline call, it goes back there
// (live, following the disks, if it was live).

import type { Engine } from '../engine.ts';
import type { TimelineStatus } from '../shared/types.ts';
import type { Timeline } from '../timeline/timeline.ts';

/** Who makes a control call, when the transport knows (a WebSocket connection). */
export interface ControlCaller {
  /** Run `fn` once when the caller's connection closes. */
  onClose(fn: () => void): void;
}

interface Loan {
  timeline: Timeline;
  before: TimelineStatus;
}

export class TimelineLoans {
  private readonly loans = new WeakMap<ControlCaller, Loan>();

  constructor(private readonly engine: Engine) {}

  /** Before a timeline call: a borrowing call opens a loan (once), any other one closes it. */
  note(caller: ControlCaller | undefined, timeline: Timeline, borrow: boolean): void {
    if (!caller) return;
    if (!borrow) {
      this.loans.delete(caller);
      return;
    }
    if (this.loans.has(caller)) return;
    this.loans.set(caller, { timeline, before: timeline.status() });
    caller.onClose(() => void this.giveBack(caller));
  }

  private async giveBack(caller: ControlCaller): Promise<void> {
    const loan = this.loans.get(caller);
    this.loans.delete(caller);
    // A new disk set (preset) brought a new time machine: nothing to give back.
    if (!loan || this.engine.timeline !== loan.timeline) return;
    const t = loan.timeline;
    try {
      if (loan.before.following) await t.act('live');
      else {
        await t.act('seek', { seconds: loan.before.positionSec });
        if (loan.before.playing) await t.act('play');
      }
      this.engine.flushFrames();
    } catch (err) {
      console.error(`blockscope: could not return the time machine after an export: ${(err as Error).message}`);
    }
  }
}
