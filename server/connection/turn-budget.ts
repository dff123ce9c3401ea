// How much request work one event-loop turn may do, shared by every connection of the thread.
//
// Under a flood of many disks every socket is readable at once, and libuv runs all their
// callbacks in one poll phase: 16 disks flooded by fio made turns of 10–35 ms, and everything
// else on the engine thread (the control server's HTTP and WebSocket, frames, timers) waited that
// long (issue 13: event-loop delay p99 < 20 ms). Once a turn has spent BUDGET_MS on requests, a
// connection stops parsing, pauses its socket and asks to go on later: in the check phase of the
// next turn, after its timers and I/O, in the order the connections asked (one that used its
// share goes to the back), so every disk keeps moving and the work is the same, only spread over
// turns. Immediates, not a timer: a timer would leave the loop idle for its 1 ms minimum.

/** Request work per turn before connections wait for the next one. */
export const BUDGET_MS = 4;

export class TurnBudget {
  /** When this turn's request work began (-1: none yet). */
  private start = -1;
  private waiting: Array<() => void> = [];
  private scheduled = false;
  /** Times work was put off (tests, diagnostics). */
  deferrals = 0;

  constructor(private readonly budgetMs = BUDGET_MS) {}

  /** Whether this turn has used its budget (the first call of a turn starts its clock). */
  spent(): boolean {
    const now = performance.now();
    if (this.start < 0) {
      this.start = now;
      // The check phase follows the poll phase: the turn is over by then.
      setImmediate(this.endTurn);
      return false;
    }
    return now - this.start >= this.budgetMs;
  }

  /** Run `fn` in a later turn, after its timers and I/O. */
  later(fn: () => void): void {
    this.deferrals++;
    this.waiting.push(fn);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // An immediate queued in a check phase runs in the next turn's: two hops from a poll phase.
    setImmediate(() => setImmediate(this.runWaiting));
  }

  /** Connections waiting for a later turn (tests). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  private readonly endTurn = (): void => {
    this.start = -1;
  };

  private readonly runWaiting = (): void => {
    this.scheduled = false;
    const fns = this.waiting;
    this.waiting = [];
    let i = 0;
    while (i < fns.length && !this.spent()) fns[i++]();
    // Those not reached go first next time, before any that ran and asked again.
    if (i < fns.length) {
      this.waiting = fns.slice(i).concat(this.waiting);
      this.schedule();
    }
  };
}

/** The budget of this thread's connections (each disk worker has its own). */
export const turnBudget = new TurnBudget();
