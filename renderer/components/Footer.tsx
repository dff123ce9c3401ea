import { useEffect, useState } from 'react';
import { legendOf, PALETTES } from '../grid/palette.ts';
import { useUi } from '../store/store.ts';
import { statusText } from './status-text.ts';

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

/** The time, a few times a second while `ticking` (the pill's "retrying in N s" counts down). */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const id = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(id);
  }, [ticking]);
  return now;
}

export function Footer() {
  const now = useNow(useUi((s) => !!s.retry?.at));
  const [kind, text] = useUi((s) => statusText(s, now)).split('|');
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
