import { useState } from 'react';
import type { PresetName } from '../../server/shared/types.ts';
import { PALETTES, type PaletteName } from '../grid/palette.ts';
import { setUi, useUi } from '../store/store.ts';
import { useController } from './context.ts';

const PRESETS: Array<[PresetName, string]> = [
  ['single', 'Single disk'],
  ['raid1', 'RAID 1'],
  ['raid5', 'RAID 5 + spare'],
  ['raid6', 'RAID 6 + spare'],
  ['raid10', 'RAID 10'],
  ['custom', 'Custom…'],
];

export function Toolbar() {
  const c = useController();
  const paused = useUi((s) => s.paused);
  const palette = useUi((s) => s.palette);
  const flashMs = useUi((s) => s.flashMs);
  const disks = useUi((s) => s.disks);
  const [custom, setCustom] = useState(3);

  const choose = (p: PresetName) => {
    if (disks.length && !confirm(`Replace the ${disks.length} disk(s) and their data with the ${p} layout?`)) return;
    void c.applyPreset(p, p === 'custom' ? custom : undefined);
  };

  return (
    <header className="toolbar">
      <span className="brand">
        <img src="./icon.svg" alt="" width={20} height={20} /> Blockscope
      </span>
      <label>
        Layout
        <select
          value=""
          onChange={(e) => e.target.value && choose(e.target.value as PresetName)}
          aria-label="layout preset"
        >
          <option value="">choose…</option>
          {PRESETS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <label title="disks for the Custom layout">
        N
        <input
          type="number"
          min={1}
          max={16}
          value={custom}
          onChange={(e) => setCustom(Math.min(16, Math.max(1, Number(e.target.value) || 1)))}
        />
      </label>
      <button onClick={() => void c.showCommands()}>Commands</button>
      <span className="spacer" />
      <button className={paused ? 'active' : ''} onClick={() => setUi({ paused: !paused })} aria-pressed={paused}>
        {paused ? 'Resume' : 'Pause'}
      </button>
      <button onClick={() => disks.forEach((d) => void c.clearPicture(d.number))}>Clear</button>
      <label>
        Flash
        <input
          type="range"
          min={50}
          max={2000}
          step={50}
          value={flashMs}
          onChange={(e) => c.setFlashMs(Number(e.target.value))}
        />
        <span className="value">{flashMs} ms</span>
      </label>
      <label>
        Palette
        <select value={palette} onChange={(e) => c.setPalette(e.target.value as PaletteName)} aria-label="palette">
          {Object.values(PALETTES).map((p) => (
            <option key={p.name} value={p.name}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
    </header>
  );
}
