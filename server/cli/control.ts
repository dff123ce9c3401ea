// The control server for the CLI subcommands: started when --api or --ui is given, and its URL
// printed the same way by serve, attach and replay.
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
  console.log(ui ? `ui ${server.url}` : `api ${server.url}api/disks`);
  return server;
}
