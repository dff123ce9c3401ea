import { useEffect, useRef } from 'react';
import { installKeyboard } from '../actions/keyboard.ts';
import { useUi } from '../store/store.ts';
import { Caption } from './Caption.tsx';
import { CommandsPanel } from './CommandsPanel.tsx';
import { ConnectionBanner, connectionNotice } from './ConnectionBanner.tsx';
import { useActions, useController } from './context.ts';
import { DiskPanel } from './DiskPanel.tsx';
import { Footer } from './Footer.tsx';
import { LiveRegion, Popovers } from './Popovers.tsx';
import { BottomRegion, SideRegion } from './regions.tsx';
import { ReplayBar } from './ReplayBar.tsx';
import { PresentStrip, Toolbar } from './Toolbar.tsx';
import { Tooltip } from './Tooltip.tsx';

/** The disks: panels placed by the layout, the Pixi canvas over them. */
function Stage() {
  const c = useController();
  const host = useRef<HTMLDivElement>(null);
  const placements = useUi((s) => s.layout.placements);
  const disks = useUi((s) => s.disks);
  const status = useUi((s) => s.status);
  // The engine is unreachable: the picture is stale and its controls would change nothing.
  const stale = useUi((s) => connectionNotice(s) !== '');
  useEffect(() => {
    if (host.current) void c.start(host.current);
  }, [c]);
  return (
    <main className={`stage ${stale ? 'disconnected' : ''}`} aria-label="disks" inert={stale}>
      {placements.map((p) => {
        const d = disks.find((x) => x.number === p.number);
        return d ? <DiskPanel key={p.number} disk={d} placement={p} /> : null;
      })}
      {disks.length === 0 && (
        <div className="empty">
          {status === 'open' ? 'No disks.' : status === 'refused' ? '' : 'Connecting to the Blockscope engine…'}
        </div>
      )}
      <div className="grid-host" ref={host} data-testid="grid-host" />
    </main>
  );
}

/**
 * The page: controls on top (a thin strip in presentation mode), the demo caption, then the
 * workspace — the stage with the disks, a side region and a bottom region for panels that
 * extend it — and the legend and status at the bottom.
 */
export function App() {
  const actions = useActions();
  const present = useUi((s) => s.settings.present);
  const palette = useUi((s) => s.settings.palette);
  useEffect(() => installKeyboard(actions), [actions]);
  return (
    <div className={`app palette-${palette} ${present ? 'present' : ''}`}>
      {present ? <PresentStrip /> : <Toolbar />}
      <ReplayBar />
      <Caption />
      <div className="workspace">
        <Stage />
        <ConnectionBanner />
        <LiveRegion />
        <SideRegion />
        <BottomRegion />
      </div>
      <Footer />
      <CommandsPanel />
      <Popovers />
      <Tooltip />
    </div>
  );
}
