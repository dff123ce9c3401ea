import { keyLabel } from '../actions/registry.ts';
import { useEffect } from 'react';
import { gridRect, type Rect } from '../grid/layout.ts';
import { getUi, setUi, useUi, type UiState } from '../store/store.ts';
import { useActions } from './context.ts';
import { useDialogFocus } from './dialog-focus.ts';
import { DiskDetails, DiskSource, DiskTitle, ErrorToggle } from './DiskPanel.tsx';
import { scaleLabel } from './format.ts';

function Dialog({ label, children }: { label: string; children: React.ReactNode }) {
  const ref = useDialogFocus<HTMLElement>();
  return (
    <aside className="dialog popover" role="dialog" aria-label={label} tabIndex={-1} ref={ref}>
      <header>
        <strong>{label}</strong>
        <button type="button" onClick={() => setUi({ popover: null })} aria-label={`close ${label}`}>
          ×
        </button>
      </header>
      {children}
    </aside>
  );
}

/** Every shortcut, from the action registry (so the list cannot go stale). */
function ShortcutHelp() {
  const actions = useActions();
  const rows = actions.all().filter((a) => a.keys?.length || a.keyDisk);
  return (
    <Dialog label="Keyboard shortcuts">
      <table className="shortcuts">
        <tbody>
          {rows.map((a) => (
            <tr key={a.name}>
              <th scope="row">{a.keyDisk ? '1–9' : a.keys!.map(keyLabel).join(' / ')}</th>
              <td>{a.description}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">← ↑ → ↓</th>
            <td>On a focused grid (Tab to it): move the cursor; the tooltip follows. Shift: 8 at a time.</td>
          </tr>
          <tr>
            <th scope="row">← → / Home / End</th>
            <td>
              On the focused time machine scrubber (Tab to it): back or on a second (Shift: ten; PageUp/PageDown: a
              tenth of the session), the start, live.
            </td>
          </tr>
        </tbody>
      </table>
    </Dialog>
  );
}

/** Compact chrome hides a disk's controls here: URI, counters, delays, buttons. */
function DiskDetailsPopover({ disk: n }: { disk: number }) {
  const disk = useUi((s) => s.disks.find((d) => d.number === n));
  const placement = useUi((s) => s.layout.placements.find((p) => p.number === n));
  if (!disk || !placement) return null;
  const scale = scaleLabel(disk.grid.blocksPerCell * placement.fit.display.merge, placement.fit.scale);
  return (
    <Dialog label={`Disk ${n} details`}>
      <div className="details-body">
        <div className="disk-row">
          <DiskTitle disk={disk} />
          <span className="spacer" />
          <ErrorToggle disk={disk} />
        </div>
        <DiskSource disk={disk} />
        <DiskDetails disk={disk} label={scale.long} />
      </div>
    </Dialog>
  );
}

export function Popovers() {
  const p = useUi((s) => s.popover);
  if (!p) return null;
  return p.kind === 'help' ? <ShortcutHelp /> : <DiskDetailsPopover disk={p.disk} />;
}

/**
 * Where a toast goes, in stage coordinates (its centre): over the lower part of the largest grid
 * (the one nearest the middle among equals), where there are texels under it and never a control
 * or the time machine strip; the middle of the stage when there are no disks.
 */
export function toastAnchor(s: Pick<UiState, 'layout' | 'stage'>): { x: number; y: number } {
  const grids = s.layout.placements.map(gridRect);
  const area = (r: Rect) => r.w * r.h;
  const most = Math.max(0, ...grids.map(area));
  const mid = (r: Rect) => Math.abs(r.x + r.w / 2 - s.stage.width / 2) + Math.abs(r.y + r.h / 2 - s.stage.height / 2);
  const r = grids.filter((g) => area(g) >= 0.9 * most && most > 0).sort((a, b) => mid(a) - mid(b))[0];
  if (!r) return { x: s.stage.width / 2, y: s.stage.height / 2 };
  // A toast is about 30 px high: its middle sits TOAST_INSET above the grid's bottom edge, or in
  // the middle of a grid too short for that.
  return { x: r.x + r.w / 2, y: r.y + r.h - Math.min(r.h / 2, TOAST_INSET) };
}
const TOAST_INSET = 36;

/** Said to screen readers, and shown for a moment over a grid (copy feedback, mode changes). */
export function LiveRegion() {
  const a = useUi((s) => s.announce);
  // One string from the store, so the toast re-renders only when where it goes changes.
  const [x, y] = useUi((s) => Object.values(toastAnchor(s)).join(' '))
    .split(' ')
    .map(Number);
  useEffect(() => {
    if (!a) return;
    const t = setTimeout(() => {
      if (getUi().announce === a) setUi({ announce: null });
    }, 2500);
    return () => clearTimeout(t);
  }, [a]);
  return (
    // The layer covers the stage (the same grid cell and margin), so stage coordinates apply.
    <div className="toast-layer">
      <div className="live-region" aria-live="polite" role="status" data-testid="announce" style={{ left: x, top: y }}>
        {a?.text}
      </div>
    </div>
  );
}
