// The user's settings across reloads: defaults, then what the page remembered (localStorage),
// then what the URL says (a presenter's link or the CLI's --palette/--present win).

import {
  DEFAULT_UI_SETTINGS,
  settingsFromQuery,
  settingsFromStored,
  type UiSettings,
} from '../../server/shared/ui-settings.ts';

export const SETTINGS_KEY = 'blockscope.settings.v1';

/** The parts of Storage used here (tests pass a Map-backed stub). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function loadSettings(
  search: string,
  storage: KeyValueStore | null,
): { settings: UiSettings; errors: string[] } {
  let stored: Partial<UiSettings> = {};
  try {
    const text = storage?.getItem(SETTINGS_KEY);
    if (text) stored = settingsFromStored(JSON.parse(text));
  } catch {
    // unreadable storage (private mode, corrupt JSON): defaults
  }
  const fromUrl = settingsFromQuery(search);
  return { settings: { ...DEFAULT_UI_SETTINGS, ...stored, ...fromUrl.settings }, errors: fromUrl.errors };
}

export function saveSettings(s: UiSettings, storage: KeyValueStore | null): void {
  try {
    storage?.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    // storage full or forbidden: settings last for this page only
  }
}
