// The control server for the CLI subcommands: started when --api or --ui is given, and its URL
// printed the same way by serve, attach and replay. The printed URL carries the session token
// (the API refuses requests without it): whoever reads this output may steer the disks.
import type { Engine } from '../engine.ts';
import type { PresetOptions } from '../presets.ts';

export interface CliControl {
  close(): Promise<void>;
}

export async function startCliControl(
  engine: Engine,
  port: number | null,
  ui: boolean,
  presetDefaults?: Partial<PresetOptions>,
): Promise<CliControl | null> {
  if (port === null) return null;
  const { startControlServer } = await import('../control/http.ts');
  const server = await startControlServer(engine, { port, ui, presetDefaults });
  console.log(ui ? `ui ${server.url}` : `api ${server.urlFor('/api/disks')}`);
  return server;
}
