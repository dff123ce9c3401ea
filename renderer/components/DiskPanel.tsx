import { memo } from 'react';
import type { DiskInfo } from '../../server/shared/types.ts';
import { chromeFor, COMPACT_NARROW, type DiskPlacement } from '../grid/layout.ts';
import { ActionButton } from './ActionButton.tsx';
import { useActions } from './context.ts';
import { hasErrorToggle, useUi } from '../store/store.ts';
import { DelaySliders } from './DelaySliders.tsx';
import { useEngineControl } from './engine-control.ts';
import { CompactCounters, CounterTable, LatencyLine, StateTotals } from './DiskStats.tsx';
import { humanBig, scaleLabel } from './format.ts';
import { GridSlot } from './GridSlot.tsx';

/** What the disk's requests come from: its NBD URI (copyable), or the log it follows. */
export function DiskSource({ disk }: { disk: DiskInfo }) {
  if (disk.mode === 'server') {
    const uri = disk.uris[0] ?? '';
    const up = disk.upstream;
    return (
      <div className="source">
        <code title={up ? `${uri}, a proxy for ${up.uri}` : uri}>{uri || 'no listener'}</code>
        <ActionButton name="copyUri" disk={disk.number} className="small" />
        {up && (
          <span className={`upstream upstream-${up.state}`} title={up.message ?? `proxy for ${up.uri}`}>
            → {up.state === 'connected' ? up.uri : `${up.uri} ${up.state}`}
          </span>
        )}
      </div>
    );
  }
  const verb = disk.mode === 'attach' ? 'follows' : 'replays';
  const title = `${verb} ${disk.logfile ?? 'a log file'}${disk.errorFile ? `; the Error toggle creates ${disk.errorFile}` : ''}`;
  return (
    <div className="source" title={title}>
      <span className="muted">{verb}</span>
      <code data-testid={`source-${disk.number}`}>{disk.logfile ?? 'a log file'}</code>
      {disk.unparsedLines ? (
        <span className="bad" title={disk.lastUnparsed} data-testid={`unparsed-${disk.number}`}>
          {disk.unparsedLines} unreadable line{disk.unparsedLines === 1 ? '' : 's'}
        </span>
      ) : null}
    </div>
  );
}

/** The disk's name; a click shows it large (the same as its number key). */
function DiskName({ n }: { n: number }) {
  const actions = useActions();
  const label = useUi((s) => (actions.isAvailable('enlarge', n) ? actions.label(actions.get('enlarge'), s, n) : ''));
  if (!label) return <span className="disk-name">Disk {n}</span>;
  return (
    <button
      type="button"
      className="disk-name title-button"
      onClick={() => actions.run('enlarge', n)}
      title={`${label} (key ${n})`}
      aria-label={`Disk ${n}: ${label.toLowerCase()}`}
    >
      Disk {n}
    </button>
  );
}

/** The disk's size. Never cut short ("6…" says nothing): where there is no room it goes elsewhere. */
function DiskSize({ disk }: { disk: DiskInfo }) {
  return <small className="disk-size">{humanBig(disk.size)}</small>;
}

/**
 * The title: name, size, the source mode and the HELD / FAILED badges. Compact chrome leaves the
 * size out (`size={false}`): its narrow title row has no room for it, and the scale line under
 * the grid shows it instead.
 */
export function DiskTitle({ disk, compact, size = true }: { disk: DiskInfo; compact?: boolean; size?: boolean }) {
  return (
    <h2 className="disk-title">
      <DiskName n={disk.number} />
      {size && <DiskSize disk={disk} />}
      {disk.mode !== 'server' && !compact && <small className="badge">{disk.mode}</small>}
      {disk.held && (
        <strong className="badge held" title="Hold I/O: this disk's requests wait until released">
          HELD
        </strong>
      )}
      {disk.errorsOn && (
        <strong className="badge failed" title="the Error toggle is on: every request on this disk fails">
          FAILED
        </strong>
      )}
    </h2>
  );
}

/**
 * The Error toggle. `short`: "Err" for compact chrome. `present`: in presentation mode the toggle
 * is also the disk's FAILED badge (on, it reads FAILED), so a narrow panel's title row needs room
 * for only the name and the toggle.
 */
export function ErrorToggle({ disk, short, present }: { disk: DiskInfo; short?: boolean; present?: boolean }) {
  const actions = useActions();
  const engine = useEngineControl('Inject I/O errors: every request on this disk fails until unchecked');
  if (!hasErrorToggle(disk)) return null;
  return (
    <label className={`error-toggle ${disk.errorsOn ? 'on' : ''}`} title={engine.title}>
      <input
        type="checkbox"
        {...engine}
        checked={disk.errorsOn}
        onChange={() => actions.run('toggleErrors', disk.number)}
        aria-label={`Disk ${disk.number} errors`}
        data-testid={`error-${disk.number}`}
        data-action="toggleErrors"
        data-disk={disk.number}
      />
      <span className="error-toggle-text">{short ? 'Err' : present && disk.errorsOn ? 'FAILED' : 'Error'}</span>
    </label>
  );
}

/** Buttons under the counters: the log file this disk writes, Clear, Reset. */
export function DiskFooter({ disk }: { disk: DiskInfo }) {
  return (
    <div className="disk-foot">
      {disk.mode === 'server' && disk.logfile && <code title={`log file: ${disk.logfile}`}>{disk.logfile}</code>}
      <span className="spacer" />
      <ActionButton name="clearDisk" disk={disk.number} className="small" />
      <ActionButton name="resetDisk" disk={disk.number} className="small" />
    </div>
  );
}

/** Everything full chrome shows below the grid (also the body of the Details popover). */
export function DiskDetails({ disk, label }: { disk: DiskInfo; label: string }) {
  return (
    <>
      <div className="scale" title={label}>
        {label}
      </div>
      <StateTotals disk={disk} />
      <CounterTable disk={disk} />
      <LatencyLine disk={disk} />
      <DelaySliders disk={disk} />
      <DiskFooter disk={disk} />
    </>
  );
}

export const DiskPanel = memo(function DiskPanel({ disk, placement }: { disk: DiskInfo; placement: DiskPlacement }) {
  const { panel, slot, density, fit } = placement;
  const chrome = chromeFor(density, panel.w);
  const narrow = density === 'compact' && panel.w < COMPACT_NARROW;
  const scale = scaleLabel(disk.grid.blocksPerCell * fit.display.merge, fit.scale);
  const rel = { x: slot.x - panel.x, y: slot.y - panel.y, w: slot.w, h: slot.h };
  const gridLabel = `Disk ${disk.number} grid, ${humanBig(disk.size)}: ${scale.long}. Arrow keys move the cursor.`;
  return (
    <section
      className={`disk density-${density} ${narrow ? 'narrow' : ''} ${disk.errorsOn ? 'is-failed' : ''}`}
      style={{ left: panel.x, top: panel.y, width: panel.w, height: panel.h, padding: chrome.pad }}
      data-testid={`disk-${disk.number}`}
      aria-label={`Disk ${disk.number}`}
    >
      <header className="disk-head" style={{ height: chrome.top }}>
        <div className="disk-row">
          <DiskTitle disk={disk} compact={density !== 'full'} size={density !== 'compact'} />
          {density === 'present' && (
            <span className="scale-inline" title={scale.long}>
              {scale.short}
            </span>
          )}
          <span className="spacer" />
          {/* Presentation mode too: failing a RAID member live is the high point of a talk. */}
          <ErrorToggle disk={disk} short={density === 'compact'} present={density === 'present'} />
          {density === 'compact' && <ActionButton name="details" disk={disk.number} className="small" />}
        </div>
        {density === 'full' && <DiskSource disk={disk} />}
      </header>
      <GridSlot disk={disk} slot={rel} label={gridLabel} />
      {chrome.bottom > 0 && (
        <footer className="disk-body" style={{ top: rel.y + rel.h, height: chrome.bottom }}>
          {density === 'full' ? (
            <DiskDetails disk={disk} label={scale.long} />
          ) : (
            <>
              <div className="scale" title={`${humanBig(disk.size)} disk; ${scale.long}`}>
                <DiskSize disk={disk} /> · {scale.square}
                <span className="scale-blocks">{scale.blocks}</span>
              </div>
              <CompactCounters disk={disk} />
            </>
          )}
        </footer>
      )}
    </section>
  );
});
