// The UI's user settings, declared once: the page reads them from its URL (?palette=projector&
// present=1), the CLI takes them as options (--palette projector --present) and prints them in
// the UI's URL, and the page remembers them (localStorage). To add a setting, add a field to
// UiSettings, its default, and one entry in UI_SETTINGS.

export const PALETTE_NAMES = ['laptop', 'projector', 'cvd'] as const;
export type PaletteName = (typeof PALETTE_NAMES)[number];

export interface UiSettings {
  /** Grid colours. */
  palette: PaletteName;
  /** How long a read flash lasts, ms. */
  flashMs: number;
  /** Presentation mode: big grids, thin control strip, big legend and captions. */
  present: boolean;
  /**
   * Most grid pictures a second. Without a GPU each picture of a full-screen canvas costs the
   * page and the compositor ~10 ms of CPU, taken from the engine and the clients on the same
   * cores: a lower rate is the knob for such machines (docs/performance.md).
   */
  maxFps: number;
}

export const DEFAULT_UI_SETTINGS: UiSettings = { palette: 'laptop', flashMs: 300, present: false, maxFps: 60 };

export const MAX_FPS_RANGE = [1, 60] as const;

export interface SettingSpec {
  key: keyof UiSettings;
  /** URL query parameter. */
  query: string;
  /** CLI option (a flag when `flag`). */
  cli: string;
  flag?: boolean;
  help: string;
  /** Text (URL or CLI) → value; throws a clear Error on bad input. */
  parse(text: string): UiSettings[keyof UiSettings];
  /** Value → URL text. */
  format(value: UiSettings[keyof UiSettings]): string;
}

const parseBool = (name: string) => (t: string) => {
  if (/^(1|true|yes|on|)$/i.test(t)) return true;
  if (/^(0|false|no|off)$/i.test(t)) return false;
  throw new Error(`${name}: expected 1 or 0, got '${t}'`);
};

export const FLASH_MS_RANGE = [50, 2000] as const;

export const UI_SETTINGS: readonly SettingSpec[] = [
  {
    key: 'palette',
    query: 'palette',
    cli: '--palette',
    help: `grid colours: ${PALETTE_NAMES.join(' | ')}`,
    parse: (t) => {
      if (!(PALETTE_NAMES as readonly string[]).includes(t))
        throw new Error(`palette: unknown palette '${t}' (${PALETTE_NAMES.join(', ')})`);
      return t as PaletteName;
    },
    format: (v) => String(v),
  },
  {
    key: 'flashMs',
    query: 'flash',
    cli: '--flash',
    help: `read flash duration in ms (${FLASH_MS_RANGE[0]}-${FLASH_MS_RANGE[1]}, default 300)`,
    parse: (t) => {
      const n = Number(t);
      if (!/^\d+$/.test(t) || n < FLASH_MS_RANGE[0] || n > FLASH_MS_RANGE[1])
        throw new Error(`flash: expected ${FLASH_MS_RANGE[0]}-${FLASH_MS_RANGE[1]} ms, got '${t}'`);
      return n;
    },
    format: (v) => String(v),
  },
  {
    key: 'present',
    query: 'present',
    cli: '--present',
    flag: true,
    help: 'open in presentation mode (big grids, thin control strip; key F toggles)',
    parse: parseBool('present'),
    format: (v) => (v ? '1' : '0'),
  },
  {
    key: 'maxFps',
    query: 'fps',
    cli: '--max-fps',
    help: `most grid pictures a second (${MAX_FPS_RANGE[0]}-${MAX_FPS_RANGE[1]}, default 60; lower it on a machine without a GPU)`,
    parse: (t) => {
      const n = Number(t);
      if (!/^\d+$/.test(t) || n < MAX_FPS_RANGE[0] || n > MAX_FPS_RANGE[1])
        throw new Error(`fps: expected ${MAX_FPS_RANGE[0]}-${MAX_FPS_RANGE[1]}, got '${t}'`);
      return n;
    },
    format: (v) => String(v),
  },
];

/** Settings given in a URL query; bad values are reported, not applied. */
export function settingsFromQuery(search: string): { settings: Partial<UiSettings>; errors: string[] } {
  const q = new URLSearchParams(search);
  const settings: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const s of UI_SETTINGS) {
    const v = q.get(s.query);
    if (v === null) continue;
    try {
      settings[s.key] = s.parse(v);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return { settings: settings as Partial<UiSettings>, errors };
}

/** Settings remembered by the page (anything malformed is dropped). */
export function settingsFromStored(v: unknown): Partial<UiSettings> {
  if (!v || typeof v !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const s of UI_SETTINGS) {
    const raw = (v as Record<string, unknown>)[s.key];
    if (raw === undefined) continue;
    try {
      out[s.key] = s.parse(typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw));
    } catch {
      // a stale or hand-edited value: the default wins
    }
  }
  return out as Partial<UiSettings>;
}

/** `?palette=projector&present=1` for the given settings ('' when none). */
export function settingsQuery(s: Partial<UiSettings>): string {
  const q = new URLSearchParams();
  for (const spec of UI_SETTINGS) {
    const v = s[spec.key];
    if (v !== undefined) q.set(spec.query, spec.format(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}
