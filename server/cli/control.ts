// The control server for the CLI subcommands: started when --api or --ui is given, and its URL
// printed the same way by serve, attach and replay, with the UI settings given as options
// (`ui http://127.0.0.1:PORT/?token=…&present=1`). The printed URL carries the session token
// (the API refuses requests without it): whoever reads this output may steer the disks.
import type { Engine } from '../engine.ts';
import type { PresetOptions } from '../presets.ts';
import { ensureUiBuilt } from './ui-build.ts';

export interface CliControl {
  /** The authorised UI URL as printed (token and UI settings in its query). */
  url: string;
  /** Resolves when a page (a WebSocket viewer) is connected. */
  waitForViewer(): Promise<void>;
  close(): Promise<void>;
}

export interface CliControlOptions {
  /** API port (0 = any); null = no control server. */
  port: number | null;
  ui: boolean;
  presetDefaults?: Partial<PresetOptions>;
  /** UI settings for the printed URL: `?palette=projector&present=1`. */
  query?: string;
  host?: string;
}

export async function startCliControl(engine: Engine, o: CliControlOptions): Promise<CliControl | null> {
  if (o.port === null) return null;
  if (o.ui) ensureUiBuilt();
  const { startControlServer } = await import('../control/http.ts');
  const server = await startControlServer(engine, {
    port: o.port,
    ui: o.ui,
    presetDefaults: o.presetDefaults,
    host: o.host,
  });
  const u = new URL(server.url);
  for (const [k, v] of new URLSearchParams(o.query ?? '')) u.searchParams.set(k, v);
  const url = u.toString();
  console.log(o.ui ? `ui ${url}` : `api ${server.urlFor('/api/disks')}`);
  return {
    url,
    async waitForViewer() {
      while (server.pump.subscribers === 0) await new Promise((r) => setTimeout(r, 100));
    },
    close: () => server.close(),
  };
}
