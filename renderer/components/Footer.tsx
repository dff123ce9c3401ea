import { legendOf, PALETTES } from '../grid/palette.ts';
import { useUi, type UiState } from '../store/store.ts';

export function statusText(s: Pick<UiState, 'status' | 'paused' | 'replay' | 'disks'>): string {
  if (s.status !== 'open') return s.status;
  if (s.replay) return s.replay.playing ? 'replaying' : s.replay.finished ? 'replay finished' : 'replay paused';
  if (s.paused) return 'view paused';
  return 'live';
}

export function Legend() {
  const p = PALETTES[useUi((s) => s.settings.palette)];
  return (
    <ul className="legend" aria-label="legend">
      {legendOf(p).map((item) => (
        <li key={item.label}>
          <span className={`swatch ${item.flash ? 'flash' : ''}`} style={{ background: item.color }} />
          {item.label}
        </li>
      ))}
      <li>
        <span className="swatch stripes" />
        failed disk
      </li>
    </ul>
  );
}

export function Footer() {
  const text = useUi(statusText);
  const message = useUi((s) => s.message);
  return (
    <footer className="footer">
      <Legend />
      {message && <span className={`message message-${message.level}`}>{message.text}</span>}
      <span className={`status status-${text.replace(/ .*/, '')}`} data-testid="status" role="status">
        {text}
      </span>
    </footer>
  );
}
