import { PALETTES } from '../grid/palette.ts';
import { useUi } from '../store/store.ts';

export function Legend() {
  const p = PALETTES[useUi((s) => s.palette)];
  const items: Array<[string, string]> = [
    ['untouched', p.states[0]],
    ['written', p.states[3]],
    ['read (flash)', p.read],
    ['trimmed', p.states[1]],
    ['zeroed', p.states[2]],
    ['failed', p.error],
    ['in flight', p.pending],
  ];
  return (
    <ul className="legend" aria-label="legend">
      {items.map(([label, color]) => (
        <li key={label}>
          <span className="swatch" style={{ background: color }} />
          {label}
        </li>
      ))}
    </ul>
  );
}
