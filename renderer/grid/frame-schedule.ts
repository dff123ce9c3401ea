// When the grid's picture is next brought up to date: at most `maxFps` times a second, on the
// display's own frames (requestAnimationFrame). Due times advance by the interval, not from the
// frame that drew: at 40 a second on a 60 Hz display that is two frames in three, not every
// other one. After a stall (a hidden tab, a long task) the schedule restarts rather than
// drawing a burst of frames to catch up.

/** requestAnimationFrame's times jitter: a picture due within this is drawn now, not a frame late. */
export const FRAME_SLACK_MS = 4;

export class FrameSchedule {
  private nextAt = -Infinity;

  /** Whether the frame at `now` (ms) brings the picture up to date; if so, schedules the next. */
  due(now: number, maxFps: number): boolean {
    if (now < this.nextAt - FRAME_SLACK_MS) return false;
    this.nextAt = Math.max(this.nextAt + 1000 / maxFps, now);
    return true;
  }
}
