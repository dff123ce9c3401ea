import { useState } from 'react';
import { useUi } from '../store/store.ts';
import { useController } from './context.ts';

/** Playback controls, shown in replay mode only. */
export function ReplayBar() {
  const c = useController();
  const r = useUi((s) => s.replay);
  const [seek, setSeek] = useState('0');
  if (!r) return null;
  return (
    <div className="replay" data-testid="replay">
      <strong>Replay</strong>
      <button onClick={() => void c.replay(r.playing ? 'pause' : 'resume')}>
        {r.playing ? 'Pause' : r.finished ? 'Done' : 'Play'}
      </button>
      <button onClick={() => void c.replay('step')} title="play until the next request completes">
        Step
      </button>
      <label>
        speed
        <select value={String(r.speed)} onChange={(e) => void c.replay('speed', { speed: Number(e.target.value) })}>
          {[0.25, 0.5, 1, 2, 4, 10, 100].map((s) => (
            <option key={s} value={String(s)}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      <label>
        seek to
        <input type="number" min={0} step={0.1} value={seek} onChange={(e) => setSeek(e.target.value)} />s
        <button onClick={() => void c.replay('seek', { seconds: Number(seek) || 0 })}>Go</button>
      </label>
      <span className="value">
        {r.positionSec.toFixed(2)} s · {r.requests} requests
      </span>
    </div>
  );
}
