import { useState } from 'react';
import { replay } from '../engine-calls.ts';
import { useUi } from '../store/store.ts';
import { useController } from './context.ts';
import { useEngineControl } from './engine-control.ts';

/** Replay mode: step, speed and seek (play/pause is the toolbar's one Pause button). */
export function ReplayBar() {
  const c = useController();
  const r = useUi((s) => s.replay);
  const timeline = useUi((s) => s.timeline);
  const [seek, setSeek] = useState('0');
  const engine = useEngineControl();
  // The time machine's strip (Timeline.tsx) is the replay bar now.
  if (!r || timeline) return null;
  const go = async () => {
    const s = await replay(c, 'seek', { seconds: Math.max(0, Number(seek) || 0) });
    if (s) setSeek(s.positionSec.toFixed(1));
  };
  return (
    <div className="replay" data-testid="replay" role="group" aria-label="replay">
      <strong>Replay</strong>
      <button
        type="button"
        onClick={() => void replay(c, 'step')}
        {...engine}
        title={engine.title ?? 'play until the next request completes'}
      >
        Step
      </button>
      <label>
        speed
        <select
          {...engine}
          value={String(r.speed)}
          onChange={(e) => void replay(c, 'speed', { speed: Number(e.target.value) })}
        >
          {[0.25, 0.5, 1, 2, 4, 10, 100].map((s) => (
            <option key={s} value={String(s)}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      <label>
        seek to
        <input
          type="number"
          min={0}
          max={r.durationSec ?? undefined}
          step={0.1}
          value={seek}
          onChange={(e) => setSeek(e.target.value)}
          onKeyDown={(e) => e.key === 'Enter' && void go()}
          aria-label="seek to (seconds)"
        />
        s
        <button type="button" onClick={() => void go()} {...engine}>
          Go
        </button>
      </label>
      <span className="value" data-testid="replay-position">
        {r.positionSec.toFixed(2)} s{r.durationSec != null ? ` of ${r.durationSec.toFixed(2)} s` : ''} · {r.requests}{' '}
        requests
      </span>
    </div>
  );
}
