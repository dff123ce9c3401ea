// The time machine's strip under the grids: play/pause, step, next burst, speed, live, and the
// scrubber — the session's activity per disk coloured by operation, the demo steps and Error
// toggles as marks, the cursor at the instant the grids show. Drag anywhere to go there.
// Also the export row (PNG at 1×/2×/4×, raw PNGs, WebM of a range) and the recording's state.

import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import {
  ACTIVITY_OPS,
  type TimelineAction,
  type TimelineOverview,
  type TimelineStatus,
} from '../../server/shared/types.ts';
import { download, exportPng, exportRawPngs, exportWebmBlob } from '../export/exporter.ts';
import { readWebmFields } from '../export/webm-form.ts';
import { PALETTES } from '../grid/palette.ts';
import { timelineAction } from '../engine-calls.ts';
import { reportFailure, reportSuccess } from '../store/messages.ts';
import { getUi, setUi, useUi } from '../store/store.ts';
import { useController } from './context.ts';
import { useEngineControl, type EngineControlProps } from './engine-control.ts';
import { MoreMenu, Secondary } from './Overflow.tsx';
import { fmtTime, human } from './format.ts';
import { scrubTarget } from './scrub-keys.ts';
import { playButton } from './timeline-play.ts';

const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 4, 10, 25, 100];

export const opColors = (palette: keyof typeof PALETTES): Record<(typeof ACTIVITY_OPS)[number], string> => {
  const p = PALETTES[palette];
  return { read: '#8aa1c1', write: p.states[3], trim: p.states[1], zero: p.states[2], other: '#777777' };
};

function drawScrubber(
  canvas: HTMLCanvasElement,
  ov: TimelineOverview,
  t: TimelineStatus,
  palette: keyof typeof PALETTES,
) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  // The strip's height is fixed (styles.css): the disks share it, a row each.
  const h = canvas.clientHeight || 28;
  const ROW = Math.max(2, (h - 4) / Math.max(1, ov.disks.length));
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const colors = opColors(palette);
  const span = Math.max(1e-6, ov.endSec - ov.startSec);
  const xOf = (sec: number) => ((sec - ov.startSec) / span) * w;
  const binW = w / ov.bins;
  // Each disk a row; per bin, a stacked bar per op, height ∝ log(1 + count).
  const max = Math.max(1, ...ov.disks.flatMap((d) => ACTIVITY_OPS.map((op) => Math.max(...d.counts[op]))));
  ov.disks.forEach((d, row) => {
    const y0 = 2 + row * ROW;
    ctx.fillStyle = 'rgba(255,255,255,0.05)';
    ctx.fillRect(0, y0, w, Math.max(1, ROW - 1));
    for (let b = 0; b < ov.bins; b++) {
      let y = y0 + ROW - 1;
      for (const op of ACTIVITY_OPS) {
        const n = d.counts[op][b];
        if (n <= 0) continue;
        const hgt = Math.max(1, (Math.max(1, ROW - 2) * Math.log1p(n)) / Math.log1p(max));
        ctx.fillStyle = colors[op];
        ctx.fillRect(b * binW, y - hgt, Math.max(1, binW), hgt);
        y -= hgt;
      }
    }
  });
  for (const m of ov.marks) {
    const x = xOf(m.sec);
    ctx.fillStyle = m.kind === 'errors' ? (m.on ? PALETTES[palette].error : '#3fb950') : '#d0d7de';
    ctx.fillRect(x, 0, m.kind === 'caption' ? 2 : 1, h);
  }
  if (t.recording && t.recording.droppedBytes > 0) {
    ctx.fillStyle = 'rgba(255,176,0,0.25)';
    ctx.fillRect(0, 0, 3, h);
  }
  const cx = xOf(t.positionSec);
  ctx.fillStyle = '#33b5e5';
  ctx.fillRect(cx - 1, 0, 2, h);
}

/** Step, Next burst and speed: in the strip's row, or in its More menu where the row is narrow. */
function StepControls({
  t,
  act,
  engine,
}: {
  t: TimelineStatus;
  act: (action: TimelineAction, extra?: { seconds?: number; speed?: number }) => Promise<void>;
  engine: EngineControlProps;
}) {
  return (
    <>
      <button
        type="button"
        onClick={() => void act('step')}
        {...engine}
        title={engine.title ?? 'go to the next completed request'}
      >
        Step
      </button>
      <button
        type="button"
        onClick={() => void act('nextBurst')}
        {...engine}
        title={engine.title ?? 'jump to the next burst of activity'}
      >
        Next burst
      </button>
      <label>
        speed
        <select
          {...engine}
          value={String(t.speed)}
          onChange={(e) => void act('speed', { speed: Number(e.target.value) })}
        >
          {SPEEDS.map((s) => (
            <option key={s} value={String(s)}>
              {s}×
            </option>
          ))}
        </select>
      </label>
    </>
  );
}

export function TimelineStrip() {
  const c = useController();
  const t = useUi((s) => s.timeline);
  const palette = useUi((s) => s.settings.palette);
  const plots = useUi((s) => s.plots);
  const [ov, setOv] = useState<TimelineOverview | null>(null);
  const [range, setRange] = useState({ from: '', to: '', speed: '1' });
  const [busy, setBusy] = useState<string | null>(null);
  // The export controls are a second row, shown on demand: the strip stays one row high so the
  // grids keep their room (presentation mode, 1280×720). In the store: Esc closes it.
  const exportOpen = useUi((s) => s.exportOpen);
  const canvas = useRef<HTMLCanvasElement>(null);
  const seeking = useRef<number | null>(null);
  /** The running WebM export's Cancel; the strip going away cancels it too. */
  const webmAbort = useRef<AbortController | null>(null);
  const [webmRunning, setWebmRunning] = useState(false);
  const engine = useEngineControl();
  useEffect(() => () => webmAbort.current?.abort(), []);

  useEffect(() => {
    let alive = true;
    const load = async () => {
      try {
        const o = await c.transport.call('timelineOverview', { bins: 600 });
        if (!alive) return;
        setOv(o);
        if (!getUi().timeline) setUi({ timeline: await c.transport.call('timeline', { action: 'status' }) });
      } catch {
        // No recording: no strip. While the page is disconnected the strip stays (its controls
        // disabled, engine-control.ts) rather than leaving and coming back with the connection.
        if (alive && getUi().status === 'open') setUi({ timeline: null });
      }
    };
    void load();
    const id = setInterval(load, 2000);
    return () => {
      alive = false;
      clearInterval(id);
    };
  }, [c]);
  useEffect(() => {
    if (canvas.current && ov && t) drawScrubber(canvas.current, ov, t, palette);
  }, [ov, t, palette]);

  if (!t) return null;
  const act = (action: TimelineAction, extra: { seconds?: number; speed?: number } = {}) =>
    timelineAction(c, action, extra);
  // Drag: seek to where the pointer is; one seek in flight, the latest position wins.
  const seekAt = (e: PointerEvent<HTMLCanvasElement>) => {
    if (!ov || engine.disabled) return;
    const r = e.currentTarget.getBoundingClientRect();
    // The outermost pixel on either side means the very start or end (a pixel of an hour-long
    // session is seconds: "the end" must not stop short of the last requests).
    const x = e.clientX - r.left;
    const f = x <= 1 ? 0 : x >= r.width - 1 ? 1 : x / r.width;
    const sec = ov.startSec + f * (ov.endSec - ov.startSec);
    const pending = seeking.current !== null;
    seeking.current = Math.max(ov.startSec, sec);
    if (pending) return;
    const run = async () => {
      while (seeking.current !== null) {
        const s = seeking.current;
        seeking.current = null;
        await act('seek', { seconds: s });
      }
    };
    void run();
  };
  // The scrubber as a slider: keys go where the pointer would (handled keys are not page shortcuts).
  const onScrubKey = (e: KeyboardEvent<HTMLCanvasElement>) => {
    if (e.ctrlKey || e.metaKey || e.altKey || engine.disabled) return;
    const to = scrubTarget(e.key, e.shiftKey, t);
    if (to === null) return;
    e.preventDefault();
    if (to !== 'end') void act('seek', { seconds: to });
    else if (t.mode === 'live') void act('live');
    else void act('seek', { seconds: t.endSec });
  };
  const exporting = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    try {
      await fn();
      reportSuccess('export');
    } catch (err) {
      if ((err as Error).name === 'AbortError') setUi({ message: { text: `${what} export cancelled`, level: 'info' } });
      else reportFailure('export', `${what}: ${(err as Error).message}`);
    } finally {
      setBusy(null);
    }
  };
  const recordWebm = () => {
    const r = readWebmFields(range, t);
    if (!r.ok) return reportFailure('export', `WebM: ${r.error}`);
    if (r.note) setUi({ message: { text: `WebM: ${r.note}`, level: 'info' } });
    const abort = new AbortController();
    webmAbort.current = abort;
    setWebmRunning(true);
    void exporting('WebM', async () => {
      try {
        const webm = await exportWebmBlob(c, {
          fromSec: r.fromSec,
          toSec: r.toSec,
          speed: r.speed,
          signal: abort.signal,
          onProgress: (k, n) => setBusy(`WebM ${Math.round((100 * k) / n)} %`),
        });
        download(webm, `blockscope-${stamp()}.webm`, 'video/webm');
      } finally {
        webmAbort.current = null;
        setWebmRunning(false);
      }
    });
  };
  const stamp = () => new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const rec = t.recording;
  const play = playButton(t);
  return (
    <div className="timeline" data-testid="timeline">
      <div className="timeline-controls" role="group" aria-label="time machine">
        {/* In replay the toolbar's one Play/Pause (Space) drives playback: no second button here. */}
        {t.mode === 'live' && (
          <button
            type="button"
            data-testid="timeline-play"
            // Not "Pause": the toolbar's Pause view is another thing (timeline-play.ts).
            aria-label={play.ariaLabel}
            {...engine}
            title={engine.title ?? play.title}
            onClick={() => void act(play.action)}
          >
            {play.text}
          </button>
        )}
        <Secondary>
          <StepControls t={t} act={act} engine={engine} />
        </Secondary>
        <MoreMenu label="More time machine controls">
          <StepControls t={t} act={act} engine={engine} />
        </MoreMenu>
        {t.mode === 'live' && (
          <button type="button" aria-pressed={t.following} onClick={() => void act('live')} {...engine}>
            Live
          </button>
        )}
        <span className="value" data-testid="timeline-position">
          {fmtTime(t.positionSec)} / {fmtTime(t.endSec)} · {t.requests} requests
          {t.following ? ' · live' : ''}
        </span>
        <canvas
          ref={canvas}
          className={`scrubber ${engine.disabled ? 'disabled' : ''}`}
          data-testid="scrubber"
          title={engine.title}
          aria-disabled={engine['aria-disabled']}
          // A slider for the keyboard (scrub-keys.ts): Tab to it, arrows, Home, End (live).
          role="slider"
          tabIndex={0}
          aria-label="time machine position: session activity, drag or use the arrow keys"
          aria-valuemin={t.startSec}
          aria-valuemax={t.endSec}
          aria-valuenow={t.following ? t.endSec : t.positionSec}
          aria-valuetext={`${fmtTime(t.positionSec)} of ${fmtTime(t.endSec)}${t.following ? ', live' : ''}`}
          onKeyDown={onScrubKey}
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            seekAt(e);
          }}
          onPointerMove={(e) => e.buttons === 1 && seekAt(e)}
        />
        <button type="button" aria-pressed={plots} onClick={() => setUi({ plots: !plots })}>
          Plots
        </button>
        <button type="button" aria-expanded={exportOpen} onClick={() => setUi({ exportOpen: !exportOpen })}>
          Export…
        </button>
        {rec && (
          <span
            className="value"
            data-testid="recording-state"
            title={[
              `recording ${human(rec.bytes)}${rec.limitBytes ? ` of ${human(rec.limitBytes)}` : ''}`,
              rec.droppedBytes > 0
                ? `oldest ${human(rec.droppedBytes)} dropped (before ${fmtTime(rec.droppedBeforeSec)})`
                : '',
              rec.lost > 0 ? `${rec.lost} events lost` : '',
              rec.stoppedAtSec !== null
                ? `stopped at ${fmtTime(rec.stoppedAtSec)}: ${rec.error}; the time machine ends there, Live shows the disks now`
                : '',
            ]
              .filter(Boolean)
              .join(' · ')}
          >
            rec {human(rec.bytes)}
            {rec.limitBytes ? ` / ${human(rec.limitBytes)}` : ''}
            {rec.droppedBytes > 0 ? ' · oldest dropped' : ''}
            {rec.lost > 0 ? ` · ${rec.lost} lost` : ''}
            {rec.stoppedAtSec !== null ? ` · stopped at ${fmtTime(rec.stoppedAtSec)}` : ''}
          </span>
        )}
      </div>
      {exportOpen && (
        <div className="timeline-export" role="group" aria-label="export">
          {[1, 2, 4].map((s) => (
            <button
              key={s}
              type="button"
              {...engine}
              disabled={!!busy || engine.disabled}
              onClick={() =>
                void exporting('PNG', async () =>
                  download((await exportPng(c, s)).png, `blockscope-${stamp()}@${s}x.png`, 'image/png'),
                )
              }
            >
              PNG {s}×
            </button>
          ))}
          <button
            type="button"
            {...engine}
            disabled={!!busy || engine.disabled}
            onClick={() =>
              void exporting('raw PNG', async () => {
                for (const r of await exportRawPngs(c))
                  download(r.png, `blockscope-disk${r.disk}-${stamp()}.png`, 'image/png');
              })
            }
          >
            Raw PNGs
          </button>
          {/* Each field its own label: a screen reader names the one it is in. */}
          <label>
            WebM from
            <input
              size={5}
              aria-label="WebM from (session seconds)"
              value={range.from}
              placeholder={t.startSec.toFixed(1)}
              onChange={(e) => setRange({ ...range, from: e.target.value })}
            />
          </label>
          <label>
            to
            <input
              size={5}
              aria-label="WebM to (session seconds)"
              value={range.to}
              placeholder={t.endSec.toFixed(1)}
              onChange={(e) => setRange({ ...range, to: e.target.value })}
            />
            s
          </label>
          <label>
            at
            <input
              size={3}
              aria-label="WebM speed (×)"
              value={range.speed}
              onChange={(e) => setRange({ ...range, speed: e.target.value })}
            />
            ×
          </label>
          <button type="button" {...engine} disabled={!!busy || engine.disabled} onClick={recordWebm}>
            Record WebM
          </button>
          {webmRunning && (
            <button type="button" onClick={() => webmAbort.current?.abort()}>
              Cancel
            </button>
          )}
          {rec && c.transport.kind === 'websocket' && (
            // The download is an API call: it carries the page's session token.
            <a
              href={`/api/recording?token=${encodeURIComponent(new URLSearchParams(location.search).get('token') ?? '')}`}
              download
            >
              Save recording…
            </a>
          )}
          {busy && <span className="value">{busy}…</span>}
        </div>
      )}
    </div>
  );
}
