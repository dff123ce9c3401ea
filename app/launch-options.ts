// The desktop app's command line: the same UI settings as the CLI's `--ui` commands
// (`npm start -- --present --palette projector`), handed to the page as its URL query, and
// whether to open full screen. Pure, so it is tested without Electron.

import { UI_SETTINGS, settingsQuery, type UiSettings } from '../server/shared/ui-settings.ts';

export interface LaunchOptions {
  /** For BrowserWindow.loadFile(…, { query }). */
  query: Record<string, string>;
  fullscreen: boolean;
  /** Options that were given wrong (reported, then ignored). */
  errors: string[];
}

export function launchOptions(argv: readonly string[]): LaunchOptions {
  const settings: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const s of UI_SETTINGS) {
    let text: string | undefined;
    if (s.flag) text = argv.includes(s.cli) ? '1' : undefined;
    else {
      const eq = argv.find((a) => a.startsWith(`${s.cli}=`));
      const i = argv.indexOf(s.cli);
      text = eq ? eq.slice(s.cli.length + 1) : i >= 0 ? argv[i + 1] : undefined;
    }
    if (text === undefined) continue;
    try {
      settings[s.key] = s.parse(text);
    } catch (err) {
      errors.push(`${s.cli}: ${(err as Error).message}`);
    }
  }
  const query = Object.fromEntries(new URLSearchParams(settingsQuery(settings as Partial<UiSettings>)));
  return { query, fullscreen: settings.present === true, errors };
}
