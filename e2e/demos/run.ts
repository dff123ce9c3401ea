// Runs a demo's CLI for an acceptance test: the page connects first, a screenshot is taken at
// every step, and the per-step report is returned.
import type { Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoReport } from '../../server/demos/driver.ts';

export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'demos');

export async function runDemoInPage(
  page: Page,
  name: string,
  delayMs: number,
  atEnd: (page: Page) => Promise<void>,
  /** Called as each step starts, with the control API's base URL (".../api"). */
  onStep?: (step: number, api: string) => Promise<void>,
): Promise<DemoReport> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const report = join(mkdtempSync(join(tmpdir(), 'demo-report-')), 'report.json');
  const cli = join(import.meta.dirname, 'run-demo.ts');
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      name,
      '--headless',
      '--wait-viewer',
      '--linger',
      '4000',
      '--delay',
      String(delayMs),
      '--report',
      report,
    ],
    {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const shots: Promise<unknown>[] = [];
  let uiUrl = '';
  let finished!: () => void;
  const finishedP = new Promise<void>((r) => (finished = r));
  const uiP = new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      const text = d.toString();
      out += text;
      const ui = /^ui (\S+)/m.exec(out);
      if (ui) resolve((uiUrl = ui[1]));
      for (const m of text.matchAll(/^STEP (\d+)\/\d+ /gm)) {
        if (onStep && uiUrl) shots.push(onStep(Number(m[1]), `${uiUrl}api`));
        // A step's start is the previous step's result: capture it after a frame or two, with
        // the new caption showing (at a short delay, steps are too quick to catch later).
        shots.push(
          page
            .waitForTimeout(120)
            .then(() => page.screenshot({ path: join(ARTIFACTS, `${name}-step${m[1]}-start.png`) }))
            .catch(() => {}),
        );
      }
      if (/^(demo finished|guestfish failed)/m.test(text)) finished();
    });
    proc.on('exit', (code) => reject(new Error(`demo exited (${code}) before serving: ${err}`)));
  });
  await page.goto(await uiP);
  await finishedP;
  await Promise.all(shots);
  await atEnd(page);
  await page.screenshot({ path: join(ARTIFACTS, `${name}-final.png`) });
  const code = await new Promise<number | null>((r) =>
    proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', r),
  );
  if (code !== 0) throw new Error(`demo ${name} failed (exit ${code}):\n${out.slice(-3000)}\n${err.slice(-2000)}`);
  return JSON.parse(readFileSync(report, 'utf8')) as DemoReport;
}

export const pixel = (page: Page, disk: number, cell: number) =>
  page.evaluate(([d, c]) => (window as any).__blockscope.canvasPixel(d, c) as number[], [disk, cell] as const);
