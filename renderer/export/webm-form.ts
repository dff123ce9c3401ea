// The export row's WebM fields (from, to, speed) read as a range, with messages in the form's
// own words (its fields, not the command line's flags). Empty fields mean the session's start
// and end; a "to" past the end stops at the end and says so (a live session keeps growing, and a
// huge "to" would otherwise ask for millions of frames).

import { fmtTime } from '../components/format.ts';

export interface WebmFields {
  from: string;
  to: string;
  speed: string;
}

export type WebmRange =
  { ok: true; fromSec: number; toSec: number; speed: number; note: string | null } | { ok: false; error: string };

export const MIN_WEBM_SPEED = 0.1;
export const MAX_WEBM_SPEED = 100;

/** A field's number, its fallback when empty, or null when it is not a number. */
function numberIn(text: string, fallback: number): number | null {
  const t = text.trim();
  if (t === '') return fallback;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

export function readWebmFields(f: WebmFields, session: { startSec: number; endSec: number }): WebmRange {
  const from = numberIn(f.from, session.startSec);
  if (from === null) return { ok: false, error: `'from' is not a number` };
  let to = numberIn(f.to, session.endSec);
  if (to === null) return { ok: false, error: `'to' is not a number` };
  const speed = numberIn(f.speed, 1);
  if (speed === null) return { ok: false, error: `'speed' is not a number` };
  if (!(speed >= MIN_WEBM_SPEED && speed <= MAX_WEBM_SPEED))
    return { ok: false, error: `'speed' must be from ${MIN_WEBM_SPEED} to ${MAX_WEBM_SPEED}` };
  if (to <= from) return { ok: false, error: `'to' must be after 'from'` };
  if (from >= session.endSec)
    return { ok: false, error: `'from' is past the end of the session (${fmtTime(session.endSec)})` };
  const notes: string[] = [];
  const start = Math.max(from, session.startSec);
  if (start > from) notes.push(`the recording starts at ${fmtTime(session.startSec)}`);
  if (to > session.endSec) {
    to = session.endSec;
    notes.push(`'to' is past the end of the session: the video stops at ${fmtTime(to)}`);
  }
  return { ok: true, fromSec: start, toSec: to, speed, note: notes.length ? notes.join('; ') : null };
}
