// `blockscope export`: pictures and videos of a recording, headless. The recording is opened
// on a replay engine, its UI is served on 127.0.0.1, and Debian's Chromium (through
// Playwright) runs the page's own exporters — the same code as the buttons in the app.
//   blockscope export session.bsrec --png view.png --at 12.5 --scale 2 --raw rawdir
//   blockscope export session.bsrec --webm rebuild.webm --from 40 --to 70 --speed 4

import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as Playwright from '@playwright/test';
import { startControlServer } from '../control/http.ts';
import { Engine } from '../engine.ts';
import { openReplay } from '../timeline/replay.ts';
import { CliError, one, parseArgs } from './args.ts';

export const EXPORT_HELP = `usage: blockscope export RECORDING (--png FILE [--scale 1|2|4] [--at S] [--raw DIR] | --webm FILE --from S --to S [--speed N] [--fps N] [--scale N])

Pictures of a recording, made headless in Chromium (CHROMIUM_PATH, default /usr/bin/chromium):
  --png FILE     the view at --at seconds (default: the end): grids, disk names, caption, legend
  --scale N      1, 2 or 4 (slides)
  --raw DIR      also one PNG per disk, one pixel per cell: DIR/diskN.png
  --webm FILE    a video of --from … --to (session seconds) at --speed (0.1-100, default 1), --fps (default 30)
Prints a JSON summary (files, sizes, where each grid is in the picture).
`;

function num(args: ReturnType<typeof parseArgs>, name: string, min: number, max: number): number | undefined {
  const v = one(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new CliError(`${name}: expected a number from ${min} to ${max}, got '${v}'`);
  return n;
}

interface ExportHooks {
  ready(): boolean;
  seek(seconds: number): Promise<unknown>;
  png(scale: number): Promise<{ png: string; layout: unknown }>;
  raw(): Promise<Array<{ disk: number; png: string }>>;
  /** Writes the video through window.__blockscopeWebmWrite as it is made. */
  webm(o: { fromSec: number; toSec: number; speed: number; fps: number; scale: number }): Promise<{
    bytes: number;
    frames: number;
    width: number;
    height: number;
    fps: number;
    layout: unknown;
  }>;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['--png', '--webm', '--scale', '--at', '--raw', '--from', '--to', '--speed', '--fps'],
    flags: ['--help'],
    aliases: { '-h': '--help' },
  });
  if (args.flags.has('--help')) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  if (args.positional.length !== 1) throw new CliError('export needs one RECORDING');
  const png = one(args, '--png');
  const webm = one(args, '--webm');
  if (!png === !webm) throw new CliError('export: give --png FILE or --webm FILE');
  const scale = num(args, '--scale', 1, 4) ?? 1;
  if (![1, 2, 4].includes(scale) && png) throw new CliError('--scale: 1, 2 or 4');
  const from = num(args, '--from', 0, 1e9);
  const to = num(args, '--to', 0, 1e9);
  const speed = num(args, '--speed', 0.1, 100) ?? 1;
  const fps = num(args, '--fps', 1, 60) ?? 30;
  if (webm && (from === undefined || to === undefined || !(to > from)))
    throw new CliError('--webm needs --from S and --to S with to > from');

  let playwright: typeof Playwright;
  try {
    playwright = await import('@playwright/test');
  } catch {
    throw new CliError('export needs Playwright: npm install (it is one of the dev dependencies)');
  }
  const engine = new Engine();
  let timeline;
  try {
    timeline = await openReplay(engine, resolve(args.positional[0]));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  // As the page's export row: a range past the recording's end is cut to it (a --to of 1e7 would
  // otherwise ask for 3·10⁸ frames), a start past it is refused.
  let toSec = to;
  if (webm) {
    const end = timeline.status().endSec;
    if (from! >= end) {
      await timeline.close();
      throw new CliError(`--from ${from} is past the recording's end (${end.toFixed(1)} s)`);
    }
    if (to! > end) {
      toSec = end;
      console.error(`blockscope: --to ${to} is past the recording's end: cut to ${end.toFixed(1)} s`);
    }
  }
  const control = await startControlServer(engine, { port: 0, ui: true });
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const browser = await playwright.chromium.launch({ executablePath, args: ['--no-sandbox'] }).catch((err: Error) => {
    throw new CliError(`cannot start Chromium at ${executablePath} (apt-get install chromium): ${err.message}`);
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => m.type() === 'error' && console.error(`page: ${m.text()}`));
    page.on('pageerror', (e) => console.error(`page: ${e.message}`));
    await page.goto(control.url);
    await page.waitForFunction(() => {
      const h = (window as unknown as { __blockscopeExport?: ExportHooks }).__blockscopeExport;
      return !!h && h.ready();
    });
    const summary: Record<string, unknown> = { recording: resolve(args.positional[0]) };
    if (png) {
      const at = num(args, '--at', 0, 1e9) ?? timeline.status().endSec;
      await page.evaluate(
        (s) => (window as unknown as { __blockscopeExport: ExportHooks }).__blockscopeExport.seek(s),
        at,
      );
      const r = await page.evaluate(
        (s) => (window as unknown as { __blockscopeExport: ExportHooks }).__blockscopeExport.png(s),
        scale,
      );
      writeFileSync(png, Buffer.from(r.png, 'base64'));
      Object.assign(summary, { png: resolve(png), at, scale, layout: r.layout });
      const rawDir = one(args, '--raw');
      if (rawDir) {
        mkdirSync(rawDir, { recursive: true });
        const raws = await page.evaluate(() =>
          (window as unknown as { __blockscopeExport: ExportHooks }).__blockscopeExport.raw(),
        );
        summary.raw = raws.map((x) => {
          const file = join(resolve(rawDir), `disk${x.disk}.png`);
          writeFileSync(file, Buffer.from(x.png, 'base64'));
          return file;
        });
      }
    } else {
      // Streamed: each piece of the video is appended to the file as the page makes it.
      const fd = openSync(webm!, 'w');
      let r;
      try {
        await page.exposeFunction(
          '__blockscopeWebmWrite',
          (b64: string) => void writeSync(fd, Buffer.from(b64, 'base64')),
        );
        r = await page.evaluate(
          (o) => (window as unknown as { __blockscopeExport: ExportHooks }).__blockscopeExport.webm(o),
          { fromSec: from!, toSec: toSec!, speed, fps, scale },
        );
      } catch (err) {
        rmSync(webm!, { force: true });
        throw err;
      } finally {
        closeSync(fd);
      }
      Object.assign(summary, {
        webm: resolve(webm!),
        from,
        to: toSec,
        speed,
        fps: r.fps,
        frames: r.frames,
        bytes: r.bytes,
        width: r.width,
        height: r.height,
        seconds: r.frames / r.fps,
        layout: r.layout,
      });
    }
    console.log(JSON.stringify(summary));
    return 0;
  } finally {
    await browser.close();
    await control.close();
    await timeline.close();
  }
}
