// The control server for the CLI subcommands: started when --api or --ui is given, and its URL
// printed the same way by serve, attach and replay (with the UI settings given as options, e.g.
// `ui http://127.0.0.1:PORT/?present=1`).
import type { Engine } from '../engine.ts';
import type { PresetOptions } from '../presets.ts';
import { ensureUiBuilt } from './ui-build.ts';

export interface CliControl {
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
  /** Appended to the printed UI URL: `?palette=projector&present=1`. */
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
  const url = `${server.url}${o.query ?? ''}`;
  console.log(o.ui ? `ui ${url}` : `api ${server.url}api/disks`);
  return {
    url,
    async waitForViewer() {
      while (server.pump.subscribers === 0) await new Promise((r) => setTimeout(r, 100));
    },
    close: () => server.close(),
  };
}
