// Runs a demo's CLI for an acceptance test: the page connects first, a screenshot is taken at
// every step, and the per-step report is returned.
import type { Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoReport } from '../../server/demos/driver.ts';

export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'demos');

export interface DemoInPage {
  report: DemoReport;
  /** When each STEP line reached the terminal (ms, performance.now()). */
  stepTimes: number[];
}

/** GET a path of the control API ('/api/disks/1/map'), authorised by the UI URL's token. */
export type ApiGet = <T>(path: string) => Promise<T>;

export function apiGet(uiUrl: string): ApiGet {
  return async <T>(path: string) => {
    const u = new URL(path, uiUrl);
    u.searchParams.set('token', new URL(uiUrl).searchParams.get('token') ?? '');
    const r = await fetch(u);
    if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
}

export async function runDemoInPage(
  page: Page,
  name: string,
  delayMs: number,
  atEnd: (page: Page) => Promise<void>,
  o: {
    args?: string[];
    /** Step mode: called when the demo waits for the presenter before step `next`. */
    onWaiting?: (page: Page, next: number) => Promise<void>;
    /** Called as each step starts, with a GET on the demo's control API. */
    onStep?: (step: number, get: ApiGet) => Promise<void>;
  } = {},
): Promise<DemoInPage> {
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
      ...(o.args ?? []),
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
  const stepTimes: number[] = [];
  let waits: Promise<unknown> = Promise.resolve();
  let finished!: () => void;
  let waitError: unknown = null;
  const finishedP = new Promise<void>((resolve, reject) => {
    finished = resolve;
    // Exiting before "demo finished": a crash, or a failed check that stopped it.
    proc.once('exit', (code) => reject(waitError ?? new Error(`demo exited (${code}) before finishing: ${err}`)));
  });
  let partial = '';
  const onLine = (line: string, resolveUi: (url: string) => void) => {
    const ui = /^ui (\S+)/.exec(line);
    if (ui) resolveUi((uiUrl = ui[1]));
    const w = /^(?:Waiting for the presenter.* for step (\d+)|Last step done)/.exec(line);
    if (w) {
      const next = w[1] ? Number(w[1]) : Infinity;
      // A failed check fails the test instead of leaving the demo waiting for a presenter.
      waits = waits
        .then(() => o.onWaiting?.(page, next))
        .catch((e) => {
          waitError ??= e;
          proc.kill();
        });
    }
    const m = /^STEP (\d+)\/\d+ /.exec(line);
    if (m) {
      stepTimes.push(performance.now());
      if (o.onStep && uiUrl) shots.push(o.onStep(Number(m[1]), apiGet(uiUrl)));
      // A step's start is the previous step's result: capture it after a frame or two, with
      // the new caption showing (at a short delay, steps are too quick to catch later).
      shots.push(
        page
          .waitForTimeout(120)
          .then(() => page.screenshot({ path: join(ARTIFACTS, `${name}-step${m[1]}-start.png`) }))
          .catch(() => {}),
      );
    }
    if (/^(demo finished|guestfish failed)/.test(line)) finished();
  };
  const uiP = new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      const text = d.toString();
      out += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line, resolve);
    });
    proc.on('exit', (code) => reject(new Error(`demo exited (${code}) before serving: ${err}`)));
  });
  try {
    await page.goto(await uiP);
    await finishedP;
    await waits;
    await Promise.all(shots);
    await atEnd(page);
  } catch (e) {
    proc.kill(); // a failed test leaves no demo (and no guestfish) behind
    throw e;
  }
  await page.screenshot({ path: join(ARTIFACTS, `${name}-final.png`) });
  const code = await new Promise<number | null>((r) =>
    proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', r),
  );
  if (code !== 0) throw new Error(`demo ${name} failed (exit ${code}):\n${out.slice(-3000)}\n${err.slice(-2000)}`);
  return { report: JSON.parse(readFileSync(report, 'utf8')) as DemoReport, stepTimes };
}

export const pixel = (page: Page, disk: number, cell: number) =>
  page.evaluate(([d, c]) => (window as any).__blockscope.canvasPixel(d, c) as number[], [disk, cell] as const);
