import { memo, useCallback, useEffect, useRef } from 'react';
import { cellLabel } from '../../server/shared/geometry.ts';
import type { DiskInfo } from '../../server/shared/types.ts';
import { setUi, useUi } from '../store/store.ts';
import { useController } from './context.ts';
import { human, humanBig, rate } from './format.ts';

function delayMs(d: DiskInfo, key: 'rdelay' | 'delay-write'): number | null {
  const f = d.filters.find((x) => x.name === 'delay');
  const v = f?.settings[key];
  return typeof v === 'string' ? parseInt(v, 10) : null;
}

export const DiskPanel = memo(function DiskPanel({ disk }: { disk: DiskInfo }) {
  const c = useController();
  const slot = useRef<HTMLDivElement>(null);
  const rates = useUi((s) => s.rates[disk.number]);
  const drag = useRef<{ x: number; y: number } | null>(null);

  useEffect(() => {
    c.grid.setSlot(disk.number, slot.current);
    return () => c.grid.setSlot(disk.number, null);
  }, [c, disk.number, disk.grid.cells]);

  const onMove = useCallback(
    (e: React.MouseEvent) => {
      if (drag.current) {
        c.grid.pan(disk.number, e.clientX - drag.current.x, e.clientY - drag.current.y);
        drag.current = { x: e.clientX, y: e.clientY };
        return;
      }
      const cell = c.grid.cellAt(disk.number, e.clientX, e.clientY);
      if (cell < 0) setUi({ hover: null });
      else void c.inspect(disk.number, cell, e.clientX, e.clientY);
    },
    [c, disk.number],
  );

  const rd = delayMs(disk, 'rdelay');
  const wd = delayMs(disk, 'delay-write');
  const uri = disk.uris[0] ?? '';
  const merged = disk.grid.blocksPerCell > 1;
  return (
    <section className="disk" data-testid={`disk-${disk.number}`}>
      <header className="disk-head">
        <h2>
          Disk {disk.number} <small>{humanBig(disk.size)}</small>
          {disk.mode !== 'server' && <small className="badge">{disk.mode}</small>}
        </h2>
        {disk.mode !== 'replay' && (
          <label className={`error-toggle ${disk.errorsOn ? 'on' : ''}`}>
            <input
              type="checkbox"
              checked={disk.errorsOn}
              onChange={(e) => void c.setErrors(disk.number, e.target.checked)}
              data-testid={`error-${disk.number}`}
            />
            Error
          </label>
        )}
      </header>
      {uri && (
        <div className="uri">
          <code title={uri}>{uri}</code>
          <button onClick={() => void navigator.clipboard?.writeText(uri)} title="copy the NBD URI">
            copy
          </button>
        </div>
      )}
      <div
        className="slot"
        style={{ aspectRatio: `${disk.grid.width} / ${disk.grid.height}` }}
        ref={slot}
        onMouseMove={onMove}
        onMouseLeave={() => {
          drag.current = null;
          setUi({ hover: null });
        }}
        onWheel={(e) => c.grid.zoom(disk.number, e.deltaY < 0 ? 1.25 : 0.8, e.clientX, e.clientY)}
        onMouseDown={(e) => (drag.current = { x: e.clientX, y: e.clientY })}
        onMouseUp={() => (drag.current = null)}
        onDoubleClick={() => c.grid.resetView(disk.number)}
        data-testid={`slot-${disk.number}`}
      />
      <div className="scale">
        {merged ? cellLabel(disk.grid) : `1 px = 4 KiB · ${disk.grid.width}×${disk.grid.height}`}
      </div>
      {(rd !== null || wd !== null) && (
        <div className="delays">
          {rd !== null && (
            <label>
              read delay
              <input
                type="range"
                min={0}
                max={500}
                step={5}
                value={rd}
                onChange={(e) => void c.setDelay(disk.number, 'rdelay', Number(e.target.value))}
                data-testid={`rdelay-${disk.number}`}
              />
              <span className="value">{rd} ms</span>
            </label>
          )}
          {wd !== null && (
            <label>
              write delay
              <input
                type="range"
                min={0}
                max={500}
                step={5}
                value={wd}
                onChange={(e) => void c.setDelay(disk.number, 'wdelay', Number(e.target.value))}
              />
              <span className="value">{wd} ms</span>
            </label>
          )}
        </div>
      )}
      <table className="counters">
        <tbody>
          <tr>
            <th>read</th>
            <td>{rate(rates?.ops.read ?? 0)}/s</td>
            <td>{human(rates?.bytesPerSec.read ?? 0)}/s</td>
            <th>write</th>
            <td>{rate(rates?.ops.write ?? 0)}/s</td>
            <td>{human(rates?.bytesPerSec.write ?? 0)}/s</td>
          </tr>
          <tr>
            <th>trim</th>
            <td>{rate(rates?.ops.trim ?? 0)}/s</td>
            <td>{human(rates?.bytesPerSec.trim ?? 0)}/s</td>
            <th>zero</th>
            <td>{rate(rates?.ops.zero ?? 0)}/s</td>
            <td>{human(rates?.bytesPerSec.zero ?? 0)}/s</td>
          </tr>
          <tr>
            <th>in flight</th>
            <td>{rates?.inFlight ?? 0}</td>
            <td />
            <th>errors</th>
            <td className={rates?.errors ? 'bad' : ''}>
              {rates?.errors ?? 0}
              {rates?.cancelled ? (
                <span
                  title="requests whose client went away before the answer (not errors)"
                  data-testid={`cancelled-${disk.number}`}
                >
                  {' '}
                  +{rates.cancelled} cancelled
                </span>
              ) : null}
            </td>
            <td>p99 {((rates?.latencyUs.p99 ?? 0) / 1000).toFixed(1)} ms</td>
          </tr>
        </tbody>
      </table>
      <footer className="disk-foot">
        {disk.logfile && <code title="log file">{disk.logfile}</code>}
        {disk.unparsedLines ? (
          <span className="bad" title={disk.lastUnparsed} data-testid={`unparsed-${disk.number}`}>
            {disk.unparsedLines} unreadable log line{disk.unparsedLines === 1 ? '' : 's'}
          </span>
        ) : null}
        <span className="spacer" />
        <button onClick={() => void c.clearPicture(disk.number)}>Clear</button>
        <button
          onClick={() => {
            if (confirm(`Discard all data on disk ${disk.number}?`)) void c.resetDisk(disk.number);
          }}
        >
          Reset…
        </button>
      </footer>
    </section>
  );
});
