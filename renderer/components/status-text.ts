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

/**
 * What the status pill says: is the picture live, paused, held, replaying, or the time machine's
 * past? As "kind|text". A grid scrubbed back shows the past: a green "live" beside it was read as
 * the disks now.
 */
export function statusText(
  s: Pick<UiState, 'status' | 'retry' | 'paused' | 'replay' | 'disks' | 'timeline'>,
  now: number,
): string {
  if (s.status !== 'open') return `${s.status}|${connectionWords(s, now)}`;
  if (s.replay)
    return s.replay.playing ? 'live|replaying' : s.replay.finished ? 'paused|replay finished' : 'paused|replay paused';
  const held = s.disks.some((d) => d.held);
  const past = s.timeline?.mode === 'live' && !s.timeline.following;
  const also = held ? ' · I/O held' : '';
  if (s.paused) return `paused|view paused${past ? ' · time machine' : ''}${also}`;
  if (past) return `paused|time machine${s.timeline!.playing ? ' playing' : ''}: not live (L)${also}`;
  return held ? 'held|I/O held' : 'live|live';
}
