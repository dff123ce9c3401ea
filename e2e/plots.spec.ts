// The plots' value axes, read off the drawn canvas: a tick at the peak (the top of a burst, which
// uPlot's round ticks stopped short of) and the offset axis' numbers clear of its title (eight-
// digit byte offsets ran into "offset" in a fixed 60 px axis). A replay, so the series the page
// plots and the one asked of the API here are the same.
import { expect, test, type Locator } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { TimelineSeries } from '../server/shared/types.ts';
import { axisValue, peakOf } from '../renderer/components/plot-axes.ts';
import { recordSession, requireBinary, serve, type Served } from './serve.ts';

const ART = join(import.meta.dirname, 'artifacts', 'plots');
let dir: string;
let r: Served;

test.beforeAll(async () => {
  requireBinary('qemu-io', 'qemu-utils');
  mkdirSync(ART, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'plots-e2e-'));
  const rec = join(dir, 'session.bsrec');
  // A burst, a quiet second, a smaller burst; writes up to 60 MiB, so offsets have eight digits.
  recordSession(
    rec,
    ['--disks', '1', '--size', '64M'],
    [
      `qemu-io -f raw "$uri1" -c "write -P 1 0 8M" -c "read 0 4M"`,
      'sleep 1',
      `qemu-io -f raw "$uri1" -c "write -P 2 60M 1M" -c "write -P 3 30M 2M"`,
    ],
  );
  r = await serve([rec, '--ui', '--speed', '100'], 'replay');
});
test.afterAll(async () => {
  await r?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The columns left of the plot area (uPlot's .u-over) where the axis draws in its light grey:
 * runs of inked columns, left to right ([first, last] in CSS pixels of the chart's canvas).
 */
async function inkRuns(chart: Locator): Promise<Array<[number, number]>> {
  const canvas = chart.locator('canvas');
  const [c, over] = [(await canvas.boundingBox())!, (await chart.locator('.u-over').boundingBox())!];
  const png = PNG.sync.read(await canvas.screenshot());
  const scale = png.width / c.width;
  const left = Math.floor((over.x - c.x) * scale);
  const [top, bottom] = [Math.ceil((over.y - c.y) * scale), Math.floor((over.y - c.y + over.height) * scale)];
  const runs: Array<[number, number]> = [];
  for (let x = 0; x < left; x++) {
    let ink = false;
    for (let y = top; y < bottom && !ink; y++) {
      const i = (y * png.width + x) * 4;
      // The axis' text is #aaa on a dark panel; anti-aliased edges count from half-way.
      ink = Math.min(png.data[i], png.data[i + 1], png.data[i + 2]) > 0x60;
    }
    const last = runs.at(-1);
    if (ink && last && last[1] === x - 1) last[1] = x;
    else if (ink) runs.push([x, x]);
  }
  return runs.map(([a, b]) => [a / scale, b / scale]);
}

test('plots: a tick at each peak, and the offset axis keeps its numbers clear of its title', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(r.ui);
  await expect(page.getByTestId('status')).toHaveText('replay finished', { timeout: 20_000 });
  await page.keyboard.press('g');
  const series = (await (
    await fetch(r.api('/api/timeline/series?disk=1&bins=120&points=4000'))
  ).json()) as TimelineSeries;
  // The last tick of each value axis is the peak of what it plots, in the axis' own units.
  const peaks: Array<[string, number, Parameters<typeof axisValue>[1]]> = [
    ['plot-throughput', peakOf(Object.values(series.bytesPerSec)), 'bytes/s'],
    ['plot-iops', peakOf(Object.values(series.iops)), 'req/s'],
    ['plot-latency', peakOf([series.latencyP50Us, series.latencyP99Us]), 'µs'],
    ['plot-queue', peakOf([series.queueDepth]), 'requests'],
  ];
  for (const [id, peak, unit] of peaks) {
    expect(peak, `${id} has something to show`).toBeGreaterThan(0);
    const ticks = page.getByTestId(id);
    await expect(ticks).toHaveAttribute('data-y-ticks', /./);
    const labels = (await ticks.getAttribute('data-y-ticks'))!.split('|');
    expect(labels.at(-1), `${id}: ${labels.join(', ')}`).toBe(axisValue(peak, unit));
  }
  // The offsets are sizes ("60.0 MiB", not 62914560), and the axis title's ink is apart from them.
  const scatter = page.getByTestId('plot-scatter');
  await expect(scatter).toHaveAttribute('data-y-ticks', /MiB/);
  await page.screenshot({ path: join(ART, 'plots-1280.png') });
  for (const id of ['plot-scatter', 'plot-iops', 'plot-queue']) {
    const runs = await inkRuns(page.getByTestId(id));
    // First the rotated title (a glyph's height: at most ~14 px wide), then, apart, the numbers.
    expect(runs.length, `${id}: ${JSON.stringify(runs)}`).toBeGreaterThanOrEqual(2);
    const [title, next] = runs;
    expect(title[1] - title[0], `${id}: the title's run ${JSON.stringify(runs)}`).toBeLessThanOrEqual(14);
    expect(next[0] - title[1], `${id}: title to numbers ${JSON.stringify(runs)}`).toBeGreaterThanOrEqual(3);
  }
});
