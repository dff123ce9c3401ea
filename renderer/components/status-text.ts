// What the footer's status pill says. Pure (the time is passed in), so it is unit-tested.
import type { UiState } from '../store/store.ts';

/** The pill's words for a connection that is not open: a user reads them, not a developer. */
export function connectionWords(s: Pick<UiState, 'status' | 'retry' | 'disks'>, now: number): string {
  if (s.status === 'refused') return 'session ended';
  const retry = s.retry;
  if (s.status === 'connecting') {
    if (!retry?.attempt) return 'connecting';
    return `${s.disks.length ? 'reconnecting' : 'connecting'} (attempt ${retry.attempt})…`;
  }
  // `now` may be older than the wait began (the pill ticks only while waiting): the wait bounds it.
  if (retry?.at)
    return `disconnected — retrying in ${Math.max(1, Math.ceil(Math.min(retry.inMs, retry.at - now) / 1000))} s`;
  return 'disconnected';
}

/** What the status pill says: is the picture live, paused, held, replaying? As "kind|text". */
export function statusText(s: Pick<UiState, 'status' | 'retry' | 'paused' | 'replay' | 'disks'>, now: number): string {
  if (s.status !== 'open') return `${s.status}|${connectionWords(s, now)}`;
  if (s.replay)
    return s.replay.playing ? 'live|replaying' : s.replay.finished ? 'paused|replay finished' : 'paused|replay paused';
  const held = s.disks.some((d) => d.held);
  if (s.paused) return held ? 'paused|view paused · I/O held' : 'paused|view paused';
  return held ? 'held|I/O held' : 'live|live';
}
