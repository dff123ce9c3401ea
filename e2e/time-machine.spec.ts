// The time machine in the page and headless export: a recording made by `serve --record`
// with qemu-io; PNGs compare pixel-exact with the block-state map; a WebM has the asked
// duration, frame count and size, and its frames show the right blocks; the timeline strip
// scrubs the grids.
import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  expectedColors,
  ffprobe,
  frameMatch,
  frameStamp,
  grabFrames,
  readPng,
  rgba,
  rgbaAt,
  runExport,
} from './export-check.ts';
import { recordSession, requireBinary, serve } from './serve.ts';

const CLI = join(import.meta.dirname, '..', 'server', 'bin', 'blockscope.mjs');

function makeRecording(dir: string): string {
  requireBinary('qemu-io', 'qemu-utils');
  const file = join(dir, 'session.bsrec');
  recordSession(
    file,
    ['--disks', '2'],
    [
      `qemu-io -f raw "$uri1" -c "write -P 1 0 4M" -c "discard 1M 1M"`,
      'sleep 0.5',
      `qemu-io -f raw "$uri2" -c "write -P 2 8M 2M" -c "write -z 16M 1M"`,
      'sleep 0.5',
      `qemu-io -f raw "$uri1" -c "write -P 3 32M 8M" -c "read 0 4M"`,
    ],
  );
  return file;
}

test('export: PNGs pixel-exact, WebM duration/frames/size and frame content', async () => {
  test.setTimeout(300_000);
  requireBinary('ffprobe', 'ffmpeg');
  const dir = mkdtempSync(join(tmpdir(), 'tm-export-'));
  const rec = makeRecording(dir);
  const end = JSON.parse(spawnSync(process.execPath, [CLI, 'replay', rec, '--summary'], { encoding: 'utf8' }).stdout);
  expect(end[0].blocks.written).toBe(1024 - 256 + 2048);

  // PNG of the view at 2× and the raw per-disk PNGs, at the end of the session.
  const png = runExport([rec, '--png', join(dir, 'view.png'), '--scale', '2', '--raw', join(dir, 'raw')]);
  const at = png.at as number;
  const expected = await expectedColors(rec, at);
  for (const [disk, e] of expected) {
    const raw = readPng(join(dir, 'raw', `disk${disk}.png`));
    expect(raw.width).toBe(e.width);
    let bad = 0;
    e.colors.forEach((c, i) => {
      if (rgbaAt(raw, i % e.width, Math.floor(i / e.width)).join() !== rgba(c).join()) bad++;
    });
    expect(bad, `disk ${disk}: raw pixels that differ from the block-state map`).toBe(0);
  }
  const view = readPng(join(dir, 'view.png'));
  expect(view.width).toBe(png.layout.width);
  for (const g of png.layout.grids) {
    const e = expected.get(g.disk)!;
    expect(g.cellPx).toBe(4); // 128-wide grids: 2 px per cell at 1×, 4 at 2×
    let bad = 0;
    e.colors.forEach((c, i) => {
      const x0 = g.x + (i % g.gridWidth) * g.cellPx;
      const y0 = g.y + Math.floor(i / g.gridWidth) * g.cellPx;
      for (let dy = 0; dy < g.cellPx; dy++)
        for (let dx = 0; dx < g.cellPx; dx++) if (rgbaAt(view, x0 + dx, y0 + dy).join() !== rgba(c).join()) bad++;
    });
    expect(bad, `disk ${g.disk}: view pixels that differ from the block-state map`).toBe(0);
  }

  // WebM of the whole session at 0.5×: 10 fps, so frame k shows instant k × 0.05 s. Asked for
  // far past the end, as the page's row the command cuts the range to the recording's end.
  const speed = 0.5;
  const fps = 10;
  const w = runExport([
    rec,
    '--webm',
    join(dir, 'all.webm'),
    '--from',
    '0',
    '--to',
    '1e7',
    '--speed',
    String(speed),
    '--fps',
    String(fps),
  ]);
  const to = w.to as number;
  expect(to).toBeCloseTo(at, 1);
  const probe = ffprobe(join(dir, 'all.webm'));
  const seconds = to / speed;
  expect(Math.abs(probe.duration - seconds) / seconds).toBeLessThan(0.05);
  // Chromium's encoder may drop a frame when the machine is overloaded (stamps tell which is which).
  expect(probe.frames).toBeGreaterThanOrEqual(Math.floor((w.frames as number) * 0.9));
  expect(probe.frames).toBeLessThanOrEqual((w.frames as number) + 1);
  expect([probe.width, probe.height]).toEqual([w.width, w.height]);
  // A frame from the middle: its stamp says which instant it shows; its blocks match.
  const k0 = Math.floor((w.frames as number) / 2);
  const frames = grabFrames(join(dir, 'all.webm'), k0 - 2, 5, dir).map(readPng);
  const frame = frames.find((f) => frameStamp(f) === k0);
  expect(frame, `a frame stamped ${k0} among ${frames.map(frameStamp)}`).toBeTruthy();
  const match = frameMatch(frame!, w.layout, await expectedColors(rec, (k0 * speed) / fps));
  expect(match).toBeGreaterThan(0.995);
});

test('WebM export streams: 16 disks of 1 GiB for 300 frames (4 MiB a frame: more than the old 1 GiB of kept frames allowed) in one pass', async () => {
  test.setTimeout(300_000);
  requireBinary('ffprobe', 'ffmpeg');
  requireBinary('qemu-io', 'qemu-utils');
  const dir = mkdtempSync(join(tmpdir(), 'tm-export-wide-'));
  const rec = join(dir, 'wide.bsrec');
  const script = `qemu-io -f raw "$uri1" -c "write -P 1 0 4M" && sleep 1.2 && qemu-io -f raw "$uri16" -c "write -P 2 0 4M"`;
  const r = spawnSync(
    process.execPath,
    [CLI, 'serve', '--disks', '16', '--size', '1G', '--port', '0', '--record', rec, '--run', script],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  // 1 s at 0.1× and 30 fps: 300 frames of 16 × 262,144 cells.
  const out = join(dir, 'wide.webm');
  const w = runExport([rec, '--webm', out, '--from', '0', '--to', '1', '--speed', '0.1', '--fps', '30']);
  expect(w.frames).toBe(300);
  expect(w.bytes).toBe(statSync(out).size);
  const probe = ffprobe(out);
  // Every frame has its own timestamp (k / fps): none is dropped, the duration is exact.
  expect(probe.frames).toBe(300);
  expect(probe.duration).toBeCloseTo(10, 2);
  const [last] = grabFrames(out, 299, 1, dir).map(readPng);
  expect(frameStamp(last)).toBe(299);
});

test('timeline strip: drag the scrubber back, the grids show the earlier state; Live returns', async ({ page }) => {
  requireBinary('qemu-io', 'qemu-utils');
  const s = await serve(['--disks', '1', '--port', '0', '--ui']);
  try {
    await page.goto(s.ui);
    await expect(page.getByTestId('timeline')).toBeVisible();
    const q = (cmd: string) => spawnSync('qemu-io', ['-f', 'raw', s.uris[0], '-c', cmd]).status;
    expect(q('write -P 1 0 1M')).toBe(0);
    await page.waitForTimeout(1500);
    expect(q('write -P 2 32M 1M')).toBe(0);
    const written = async () =>
      ((await (await fetch(s.api('/api/disks/1'))).json()) as { blocks: { written: number } }).blocks.written;
    await expect.poll(written).toBe(512);
    // Scrub to the very start of the session: nothing written there.
    const box = (await page.getByTestId('scrubber').boundingBox())!;
    await page.mouse.click(box.x + 1, box.y + box.height / 2);
    await expect.poll(written).toBe(0);
    await expect(page.getByRole('button', { name: 'Live' })).toHaveAttribute('aria-pressed', 'false');
    await page.getByRole('button', { name: 'Live' }).click();
    await expect.poll(written).toBe(512);
    // The plots open beside the grids, drawn by uPlot.
    await page.getByRole('button', { name: 'Plots' }).click();
    await expect(page.getByTestId('plot-scatter').locator('canvas')).toBeVisible();
    // Their disk picker names the disks as the panels do, its word off the panel's edge.
    const picker = page.getByRole('combobox', { name: 'Plots of' });
    await expect(picker.locator('option')).toHaveText(['Disk 1']);
    const [panel, word] = await Promise.all([
      page.getByTestId('plots').boundingBox(),
      page.locator('.plots-disk').evaluate((l) => {
        const r = document.createRange();
        r.selectNodeContents(l.firstChild!);
        return r.getBoundingClientRect().x;
      }),
    ]);
    expect(word - panel!.x).toBeGreaterThanOrEqual(4);
    // Esc closes what the strip opened, as it closes any panel: the plots, then the export row.
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('plots')).toHaveCount(0);
    await page.getByRole('button', { name: 'Export…' }).click();
    const row = page.getByRole('group', { name: 'export' });
    await expect(row).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(row).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Export…' })).toHaveAttribute('aria-expanded', 'false');
  } finally {
    await s.stop();
  }
});

test('WebM export row: form-language errors, a "to" past the end capped, Cancel, and the shared time machine given back', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  requireBinary('qemu-io', 'qemu-utils');
  const s = await serve(['--disks', '1', '--port', '0', '--ui']);
  const status = async () =>
    (await (await fetch(s.api('/api/timeline'))).json()) as { following: boolean; positionSec: number };
  try {
    expect(spawnSync('qemu-io', ['-f', 'raw', s.uris[0], '-c', 'write 0 1M']).status).toBe(0);
    await page.goto(s.ui);
    await page.getByRole('button', { name: 'Export…' }).click();
    const from = page.getByRole('textbox', { name: 'WebM from (session seconds)' });
    const to = page.getByRole('textbox', { name: 'WebM to (session seconds)' });
    const speed = page.getByRole('textbox', { name: 'WebM speed (×)' });
    const record = page.getByRole('button', { name: 'Record WebM' });
    const message = page.locator('.message');
    await from.fill('abc');
    await record.click();
    await expect(message).toHaveText("WebM: 'from' is not a number");
    await from.fill('5');
    await to.fill('2');
    await record.click();
    await expect(message).toHaveText("WebM: 'to' must be after 'from'");
    await from.fill('');
    await to.fill('');
    for (const bad of ['abc', '0']) {
      await speed.fill(bad);
      await record.click();
      await expect(message).toHaveText(/^WebM: 'speed' (is not a number|must be from 0.1 to 100)$/);
    }
    expect((await status()).following).toBe(true);

    // A "to" far past the end: capped at the session's end (said so), running, cancellable.
    await page.waitForTimeout(3000);
    await speed.fill('1');
    await to.fill('1e7');
    await record.click();
    await expect(message).toContainText("'to' is past the end of the session: the video stops at");
    await expect.poll(async () => (await status()).following).toBe(false);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect(message).toHaveText('WebM export cancelled');
    await expect(page.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
    // Back to live for every viewer.
    await expect.poll(async () => (await status()).following).toBe(true);

    // A page closed mid-export: the server gives the time machine back.
    const other = await browser.newPage();
    await other.goto(s.ui);
    await other.getByRole('button', { name: 'Export…' }).click();
    await other.getByRole('button', { name: 'Record WebM' }).click();
    await expect.poll(async () => (await status()).following).toBe(false);
    await other.close();
    await expect.poll(async () => (await status()).following).toBe(true);
  } finally {
    await s.stop();
  }
});

test('timeline strip: the scrubber is a keyboard slider (arrows, Home, End = live) that leaves page keys alone', async ({
  page,
}) => {
  requireBinary('qemu-io', 'qemu-utils');
  const s = await serve(['--disks', '1', '--port', '0', '--ui']);
  const status = async () =>
    (await (await fetch(s.api('/api/timeline'))).json()) as {
      following: boolean;
      positionSec: number;
      startSec: number;
    };
  try {
    expect(spawnSync('qemu-io', ['-f', 'raw', s.uris[0], '-c', 'write 0 1M']).status).toBe(0);
    await page.goto(s.ui);
    await page.waitForTimeout(3000);
    // A session ends at its last request: a second write gives it seconds to move in.
    expect(spawnSync('qemu-io', ['-f', 'raw', s.uris[0], '-c', 'write 1M 1M']).status).toBe(0);
    const slider = page.getByRole('slider', { name: /time machine position/ });
    await expect(slider).toHaveAttribute('tabindex', '0');
    // Not focused: arrows are not the scrubber's.
    await page.keyboard.press('ArrowLeft');
    expect((await status()).following).toBe(true);
    // Reached with Tab from the control before it.
    await page.getByRole('button', { name: 'Live' }).focus();
    await page.keyboard.press('Tab');
    await expect(slider).toBeFocused();
    await page.keyboard.press('Home');
    await expect.poll(async () => (await status()).following).toBe(false);
    const st = await status();
    expect(st.positionSec).toBeCloseTo(st.startSec, 3);
    await expect(slider).toHaveAttribute('aria-valuetext', /^0:00\.\d of \d+:\d\d\.\d$/);
    await page.keyboard.press('ArrowRight');
    await expect.poll(async () => (await status()).positionSec).toBeCloseTo(st.startSec + 1, 3);
    await page.keyboard.press('End');
    await expect.poll(async () => (await status()).following).toBe(true);
    await expect(slider).toHaveAttribute('aria-valuetext', /, live$/);
  } finally {
    await s.stop();
  }
});

test('scrubbed back, the status says the grids are not live; back at Live the jump is no burst in the rates', async ({
  page,
}) => {
  requireBinary('qemu-io', 'qemu-utils');
  const s = await serve(['--disks', '1', '--port', '0', '--ui']);
  try {
    await page.goto(s.ui);
    const status = page.getByTestId('status');
    await expect(status).toHaveText('live');
    expect(spawnSync('qemu-io', ['-f', 'raw', '-t', 'none', s.uris[0], '-c', 'write 0 32M']).status).toBe(0);
    const writeRate = page
      .getByRole('table', { name: 'Disk 1 counters' })
      .getByRole('row', { name: /^write/ })
      .getByRole('cell')
      .nth(2);
    await expect(writeRate).not.toHaveText('0 B/s');
    // The burst leaves the 5-second window.
    await expect(writeRate).toHaveText('0 B/s', { timeout: 15_000 });
    const slider = page.getByRole('slider', { name: /time machine position/ });
    await slider.focus();
    await page.keyboard.press('Home');
    // The grids show the session's start: a green "live" beside them was read as the disks now.
    await expect(status).toHaveText('time machine: not live (L)');
    await expect(writeRate).toHaveText('0 B/s');
    await page.keyboard.press('End');
    await expect(status).toHaveText('live');
    // The counters went from the start's (0) to now's (32 MiB written) at once: not 32 MiB of
    // writes in the last 5 seconds.
    for (let i = 0; i < 12; i++) {
      await expect(writeRate).toHaveText('0 B/s', { timeout: 1 });
      await page.waitForTimeout(250);
    }
  } finally {
    await s.stop();
  }
});
