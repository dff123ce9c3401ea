import { Fragment, useEffect, useState } from 'react';
import type { PresetName } from '../../server/shared/types.ts';
import { FLASH_MS_RANGE, PALETTE_NAMES, type PaletteName } from '../../server/shared/ui-settings.ts';
import { applyPreset } from '../engine-calls.ts';
import { PALETTES } from '../grid/palette.ts';
import { FAILURE_MS } from '../store/messages.ts';
import { sourceMode, useUi } from '../store/store.ts';
import { ActionButton } from './ActionButton.tsx';
import { useController } from './context.ts';
import { MoreMenu, Secondary } from './Overflow.tsx';
import { useEngineControl } from './engine-control.ts';
import { DISK_COUNT_RULE, MAX_CUSTOM_DISKS, parseDiskCount } from './disk-count.ts';

const PRESETS: Array<[PresetName, string]> = [
  ['single', 'Single disk'],
  ['raid1', 'RAID 1'],
  ['raid5', 'RAID 5 + spare'],
  ['raid6', 'RAID 6 + spare'],
  ['raid10', 'RAID 10'],
  ['custom', 'Custom…'],
];
const PRESET_LABEL = new Map(PRESETS);

/**
 * How many disks Layout → Custom… makes, as typed. A count it refuses is said here, under the
 * field, not in the footer across the window from it; editing the field takes it away.
 */
function CustomDiskCount({
  value,
  onChange,
  refused,
}: {
  value: string;
  onChange: (v: string) => void;
  refused: string | null;
}) {
  return (
    <label className="disk-count" title={`How many disks “Custom…” in the Layout menu makes (1–${MAX_CUSTOM_DISKS})`}>
      <span className="label-text custom-word">Custom</span>
      <input
        type="number"
        min={1}
        max={MAX_CUSTOM_DISKS}
        value={value}
        aria-label="disks for the Custom layout"
        aria-invalid={refused ? true : undefined}
        aria-describedby={refused ? 'disk-count-refused' : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      <span className="disks-word">disks</span>
      {refused && (
        <span className="field-refused" id="disk-count-refused" role="alert" data-testid="disk-count-refused">
          {refused}
        </span>
      )}
    </label>
  );
}

/** Layout presets: only where the app serves the disks (attach and replay only watch). */
function LayoutPicker() {
  const c = useController();
  const disks = useUi((s) => s.disks.length);
  const mode = useUi(sourceMode);
  // What the count field shows, as typed: checked only when Custom is applied.
  const [custom, setCustom] = useState('3');
  const [refused, setRefused] = useState<string | null>(null);
  const engine = useEngineControl();
  // A refusal left under the field reads as news about whatever was done since (messages.ts).
  useEffect(() => {
    if (!refused) return;
    const t = setTimeout(() => setRefused(null), FAILURE_MS);
    return () => clearTimeout(t);
  }, [refused]);
  if (mode !== 'server' && mode !== 'none') return null;
  const choose = (p: PresetName) => {
    const count = p === 'custom' ? parseDiskCount(custom) : undefined;
    if (count === null) return setRefused(DISK_COUNT_RULE);
    setRefused(null);
    // In the words of the menu, not the engine's names ("raid5", "custom"), and the custom count.
    const layout = count
      ? `a custom layout of ${count} ${count === 1 ? 'disk' : 'disks'}`
      : `the “${PRESET_LABEL.get(p)}” layout`;
    const these = disks === 1 ? 'the disk and its data' : `the ${disks} disks and their data`;
    if (disks && !confirm(`Replace ${these} with ${layout}?`)) return;
    void applyPreset(c, p, count);
  };
  return (
    <>
      <label>
        Layout
        <select
          value=""
          onChange={(e) => e.target.value && choose(e.target.value as PresetName)}
          aria-label="layout preset"
          {...engine}
        >
          <option value="">choose…</option>
          {PRESETS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <CustomDiskCount
        value={custom}
        refused={refused}
        onChange={(v) => {
          setCustom(v);
          setRefused(null);
        }}
      />
    </>
  );
}

export function PaletteSelect() {
  const c = useController();
  const palette = useUi((s) => s.settings.palette);
  return (
    <label>
      <span className="label-text row-word">Palette</span>
      <select
        value={palette}
        onChange={(e) => c.updateSetting('palette', e.target.value as PaletteName)}
        aria-label="palette"
        title="Grid colours (T: next)"
      >
        {PALETTE_NAMES.map((p) => (
          <option key={p} value={p}>
            {PALETTES[p].label}
          </option>
        ))}
      </select>
    </label>
  );
}

function FlashSlider() {
  const c = useController();
  const flashMs = useUi((s) => s.settings.flashMs);
  return (
    <label title="How long a read flash lasts">
      <span className="row-word">Flash</span>
      <input
        type="range"
        min={FLASH_MS_RANGE[0]}
        max={FLASH_MS_RANGE[1]}
        step={50}
        value={flashMs}
        onChange={(e) => c.updateSetting('flashMs', Number(e.target.value))}
        aria-label="read flash duration"
        aria-valuetext={`${flashMs} ms`}
        data-testid="flash"
      />
      <span className="value">{flashMs} ms</span>
    </label>
  );
}

function Brand({ px }: { px: number }) {
  return (
    <span className="brand" title="Blockscope">
      <img src="./icon.svg" alt="" width={px} height={px} /> <span className="brand-name">Blockscope</span>
    </span>
  );
}

/**
 * What both bars offer a presenter, in one order. The full toolbar adds the flash slider, and
 * where its row is narrow (Overflow.tsx) Structure, Flash and Palette give way to its More menu.
 */
function LiveControls({ full }: { full: boolean }) {
  const Give = full ? Secondary : Fragment;
  return (
    <>
      <Give>
        <ActionButton name="structure" />
      </Give>
      <ActionButton name="pause" />
      <ActionButton name="hold" />
      <ActionButton name="clearAll" />
      {full && (
        <Secondary>
          <FlashSlider />
        </Secondary>
      )}
      <Give>
        <PaletteSelect />
      </Give>
      <ActionButton name="presentation" />
    </>
  );
}

export function Toolbar() {
  return (
    <header className="toolbar">
      <Brand px={20} />
      <LayoutPicker />
      <Secondary>
        <ActionButton name="commands" />
      </Secondary>
      <span className="spacer" />
      <LiveControls full />
      <Secondary>
        <ActionButton name="help" />
      </Secondary>
      <MoreMenu label="More controls">
        <ActionButton name="commands" />
        <ActionButton name="structure" />
        <FlashSlider />
        <PaletteSelect />
        <ActionButton name="help" />
      </MoreMenu>
    </header>
  );
}

/** Presentation mode's thin strip: only what a presenter touches. */
export function PresentStrip() {
  return (
    <header className="toolbar present-strip">
      <Brand px={16} />
      <span className="spacer" />
      <LiveControls full={false} />
    </header>
  );
}
