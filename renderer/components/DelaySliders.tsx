import { useEffect, useRef, useState } from 'react';
import type { DiskInfo } from '../../server/shared/types.ts';
import { setDelay } from '../engine-calls.ts';
import { useController } from './context.ts';
import { useEngineControl } from './engine-control.ts';
import { SLIDER_STEPS, formatMs, maxMsFor, msToPos, posToMs } from './delay-scale.ts';

/** One slider per operation, in the delay filter's nbdkit parameter names. */
export const DELAY_KEYS = [
  { key: 'rdelay', label: 'read' },
  { key: 'delay-write', label: 'write' },
  { key: 'delay-trim', label: 'trim' },
  { key: 'delay-zero', label: 'zero' },
] as const;

export function delayOf(d: DiskInfo, key: string): number | null {
  const v = d.filters.find((x) => x.name === 'delay')?.settings[key];
  return typeof v === 'string' ? parseInt(v, 10) : null;
}

function DelaySlider({ disk, name, label, ms }: { disk: number; name: string; label: string; ms: number }) {
  const c = useController();
  // While dragging, the slider shows the local value; the engine's answer takes over after.
  const [local, setLocal] = useState<number | null>(null);
  // The scale reaches 10 s, or the engine's value when the command line set more.
  const maxMs = maxMsFor(ms);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  const shown = local ?? ms;
  const engine = useEngineControl();
  const onChange = (pos: number) => {
    const v = posToMs(pos, maxMs);
    setLocal(v);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      void setDelay(c, disk, name, v).finally(() => setLocal(null));
    }, 60);
  };
  return (
    <label className="delay" title={engine.title}>
      <span className="delay-name">{label}</span>
      <input
        type="range"
        min={0}
        max={SLIDER_STEPS}
        step={1}
        value={msToPos(shown, maxMs)}
        onChange={(e) => onChange(Number(e.target.value))}
        aria-label={`Disk ${disk} ${label} delay`}
        aria-valuetext={formatMs(shown)}
        data-testid={`${name}-${disk}`}
        {...engine}
      />
      <span className="value">{formatMs(shown)}</span>
    </label>
  );
}

export function DelaySliders({ disk }: { disk: DiskInfo }) {
  // A replayed log has no server whose requests a delay could slow (as the Error toggle, none).
  if (disk.mode === 'replay') return null;
  const present = DELAY_KEYS.filter((k) => delayOf(disk, k.key) !== null);
  if (!present.length) return <div className="delays muted">no delay filter</div>;
  return (
    <div className="delays" role="group" aria-label={`Disk ${disk.number} delays`}>
      {present.map((k) => (
        <DelaySlider key={k.key} disk={disk.number} name={k.key} label={k.label} ms={delayOf(disk, k.key)!} />
      ))}
    </div>
  );
}
