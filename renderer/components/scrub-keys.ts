// The scrubber as a keyboard slider: which instant a key asks for. Arrows step a second (Shift:
// ten), PageUp/PageDown a tenth of the session (at least ten seconds), Home the start, End the
// end (live, in a live session).

export interface ScrubSpan {
  startSec: number;
  endSec: number;
  positionSec: number;
}

/** The instant to go to, 'end' for the end (live), or null when the key is not the slider's. */
export function scrubTarget(key: string, shift: boolean, t: ScrubSpan): number | 'end' | null {
  const step = shift ? 10 : 1;
  const page = Math.max(10, (t.endSec - t.startSec) / 10);
  const by: Record<string, number> = {
    ArrowLeft: -step,
    ArrowDown: -step,
    ArrowRight: step,
    ArrowUp: step,
    PageDown: -page,
    PageUp: page,
  };
  if (key === 'Home') return t.startSec;
  if (key === 'End') return 'end';
  if (!(key in by)) return null;
  const to = t.positionSec + by[key];
  return to >= t.endSec ? 'end' : Math.max(t.startSec, to);
}
