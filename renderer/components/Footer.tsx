import { legendOf, PALETTES } from '../grid/palette.ts';
import { useUi, type UiState } from '../store/store.ts';

const CONNECTION_WORDS = { connecting: 'connecting', closed: 'disconnected', refused: 'session ended' };

/** What the status pill says: is the picture live, paused, held, replaying? As "kind|text". */
export function statusText(s: Pick<UiState, 'status' | 'paused' | 'replay' | 'disks'>): string {
  if (s.status !== 'open') return `${s.status}|${CONNECTION_WORDS[s.status]}`;
  if (s.replay)
    return s.replay.playing ? 'live|replaying' : s.replay.finished ? 'paused|replay finished' : 'paused|replay paused';
  const held = s.disks.some((d) => d.held);
  if (s.paused) return held ? 'paused|view paused · I/O held' : 'paused|view paused';
  return held ? 'held|I/O held' : 'live|live';
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
  const [kind, text] = useUi(statusText).split('|');
  const message = useUi((s) => s.message);
  return (
    <footer className="footer">
      <Legend />
      {message && <span className={`message message-${message.level}`}>{message.text}</span>}
      <span className={`status status-${kind}`} data-testid="status" role="status">
        {text}
      </span>
    </footer>
  );
}
