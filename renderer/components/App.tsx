import { useEffect, useRef } from 'react';
import { useUi } from '../store/store.ts';
import { Caption } from './Caption.tsx';
import { CommandsPanel } from './CommandsPanel.tsx';
import { useController } from './context.ts';
import { DiskPanel } from './DiskPanel.tsx';
import { Legend } from './Legend.tsx';
import { ReplayBar } from './ReplayBar.tsx';
import { Toolbar } from './Toolbar.tsx';
import { Tooltip } from './Tooltip.tsx';

export function App() {
  const controller = useController();
  const host = useRef<HTMLDivElement>(null);
  const disks = useUi((s) => s.disks);
  const status = useUi((s) => s.status);
  const message = useUi((s) => s.message);
  const palette = useUi((s) => s.palette);

  useEffect(() => {
    if (host.current) void controller.start(host.current);
  }, [controller]);

  const columns = disks.length <= 8 ? Math.max(1, disks.length) : Math.ceil(disks.length / 2);
  return (
    <div className={`app palette-${palette}`}>
      <Toolbar />
      <ReplayBar />
      <Caption />
      <main className="stage">
        <div className="disks" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}>
          {disks.map((d) => (
            <DiskPanel key={d.number} disk={d} />
          ))}
          {disks.length === 0 && (
            <div className="empty">{status === 'open' ? 'No disks.' : 'Connecting to the Blockscope engine…'}</div>
          )}
        </div>
        <div className="grid-host" ref={host} data-testid="grid-host" />
      </main>
      <footer className="footer">
        <Legend />
        <span className={`status status-${status}`} data-testid="status">
          {status === 'open' ? 'live' : status}
        </span>
        {message && <span className={`message message-${message.level}`}>{message.text}</span>}
      </footer>
      <CommandsPanel />
      <Tooltip />
    </div>
  );
}
