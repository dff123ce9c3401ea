// The Structure overlay in the browser: a disk gets a GPT + ext4 (written with nbdcopy, a real
// client), S turns the overlay on, the canvas tints the journal but not free space, the legend
// and panel are in the accessibility tree, the tooltip shows a block's chain, picking a file
// lights its blocks up, and the activity line says in words what qemu-io just wrote.

import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskMap } from '../server/shared/structure.ts';
import { HIGHLIGHT, KIND_COLOURS } from '../renderer/grid/structure-palette.ts';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

const ART = join(import.meta.dirname, 'artifacts');
let s: Served;
let dir: string;

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test.beforeAll(async () => {
  requireBinary('nbdcopy', 'libnbd-bin');
  requireBinary('qemu-io', 'qemu-utils');
  requireBinary('mke2fs', 'e2fsprogs');
  requireBinary('sgdisk', 'gdisk');
  requireBinary('mkfs.fat', 'dosfstools');
  mkdirSync(ART, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'e2e-structure-'));
  mkdirSync(join(dir, 'src/docs'), { recursive: true });
  writeFileSync(join(dir, 'src/docs/report.txt'), 'r'.repeat(200_000));
  writeFileSync(join(dir, 'src/hello.txt'), 'hello\n');
  sh('truncate', ['-s', '40M', join(dir, 'part.img')]);
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '1024', '-d', join(dir, 'src'), join(dir, 'part.img')]);
  sh('truncate', ['-s', '64M', join(dir, 'disk.img')]);
  sh('sgdisk', ['-n', '1:2048:+40M', '-c', '1:p1', join(dir, 'disk.img')]);
  sh('dd', [
    `if=${join(dir, 'part.img')}`,
    `of=${join(dir, 'disk.img')}`,
    'bs=1M',
    'seek=1',
    'conv=notrunc',
    'status=none',
  ]);
  // Disk 2: a bare vfat, so that the list has regions on two disks.
  sh('truncate', ['-s', '64M', join(dir, 'fat.img')]);
  sh('mkfs.fat', ['-F', '16', join(dir, 'fat.img')]);
  s = await serve(['--port', '0', '--ui', '--size', '64M', '--disks', '2']);
  sh('nbdcopy', [join(dir, 'disk.img'), s.uris[0]]);
  sh('nbdcopy', [join(dir, 'fat.img'), s.uris[1]]);
});
test.afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pixel = (page: Page, cell: number) =>
  page.evaluate((c) => (window as any).__blockscope.canvasPixel(1, c) as number[], cell);
const blend = (base: number[], [r, g, b, a]: number[]) => {
  const t = a / 255;
  return [r, g, b].map((v, i) => base[i] * (1 - t) + v * t);
};
const near = (a: number[], b: number[], tol = 8) => a.slice(0, 3).every((v, i) => Math.abs(v - b[i]) <= tol);

async function mapOf(page: Page): Promise<DiskMap> {
  return (await (await page.request.get(s.api('/api/disks/1/map'))).json()) as DiskMap;
}

test('S shows what each block is: tints, legend, chain in the tooltip, a picked file, activity in words', async ({
  page,
}) => {
  await page.goto(s.ui);
  await expect(page.getByTestId('status')).toHaveText('live');
  // The engine decoded what nbdcopy wrote.
  await expect.poll(async () => (await mapOf(page)).ranges.length, { timeout: 15_000 }).toBeGreaterThan(20);
  const map = await mapOf(page);
  const cellOf = (r: { start: string }) => Number(BigInt(r.start) / 4096n) + 1;
  const journal = map.ranges.find((r) => r.kind === 'journal' && BigInt(r.end) - BigInt(r.start) > 64n * 1024n)!;
  const free = map.ranges.find((r) => r.kind === 'free' && BigInt(r.end) - BigInt(r.start) > 64n * 1024n)!;
  const report = map.ranges.find((r) => r.chain.at(-1)!.label.startsWith('/docs/report.txt'))!;
  const [jCell, fCell, rCell] = [cellOf(journal), cellOf(free), cellOf(report) + 1];
  await page.waitForTimeout(500); // let the last flashes fade
  const before = { j: await pixel(page, jCell), f: await pixel(page, fCell), r: await pixel(page, rCell) };

  await page.keyboard.press('s');
  await expect(page.getByRole('button', { name: 'Structure' })).toHaveAttribute('aria-pressed', 'true');
  const legend = page.getByRole('list', { name: 'structure legend' });
  for (const name of [
    'partition table',
    'superblocks',
    'inode tables',
    'journal',
    'bitmaps',
    'file data',
    'directories',
  ])
    await expect(legend.getByRole('listitem').filter({ hasText: new RegExp(`^${name}$`) })).toHaveCount(1);
  // Tinted: the journal (pink over whatever the I/O colour is); free space keeps its I/O colour.
  await expect.poll(async () => near(await pixel(page, jCell), blend(before.j, KIND_COLOURS.journal))).toBe(true);
  expect(near(await pixel(page, fCell), before.f, 3)).toBe(true);
  await page.screenshot({ path: join(ART, 'structure-overlay.png') });

  // Hover a block of the file: the tooltip adds the full chain.
  const c = await page.evaluate((cell) => (window as any).__blockscope.cellCenter(1, cell), rCell);
  await page.mouse.move(c.x, c.y);
  const off = BigInt(rCell) * 4096n - BigInt(report.start);
  await expect(page.getByTestId('tooltip-chain')).toContainText(
    new RegExp(`GPT partition 1 "p1" › ext4 › /docs/report\\.txt, bytes ${off}–${off + 4095n} \\(inode \\d+\\)`),
  );
  await page.mouse.move(1, 1);

  // Pick the file in the panel: its blocks light up, the rest dims.
  const panel = page.getByRole('region', { name: 'Structure' });
  const search = panel.getByRole('searchbox', { name: 'find a file or region' });
  await search.fill('no-such-file');
  await expect(panel.getByRole('list', { name: 'regions and files' })).toHaveText('nothing matches “no-such-file”');
  await search.fill('report');
  await panel
    .getByRole('list', { name: 'regions and files' })
    .getByRole('button', { name: /\/docs\/report\.txt/ })
    .click();
  await expect(page.getByTestId('structure-picked')).toContainText('/docs/report.txt');
  await expect.poll(async () => near(await pixel(page, rCell), blend(before.r, HIGHLIGHT))).toBe(true);
  await page.screenshot({ path: join(ART, 'structure-picked.png') });

  // The activity line says what the last requests touched.
  expect(qemuIo(s.uris[0], `write -P 7 ${report.start} 4k`).code).toBe(0);
  await expect(page.getByRole('status', { name: 'recent activity' })).toContainText(
    /writes: .*\/docs\/report\.txt \(\d+\)/,
    {
      timeout: 5000,
    },
  );

  // Scrubbed back, the tints are still the disks' roles now (decoded from their bytes): said so.
  await page.getByRole('slider', { name: /time machine position/ }).focus();
  await page.keyboard.press('Home');
  await expect(panel.getByTestId('structure-past')).toContainText('the grids show an earlier moment');
  await page.keyboard.press('End');
  await expect(panel.getByTestId('structure-past')).toHaveCount(0);

  // S again: the overlay goes, the pixels are the I/O colours again.
  await page.keyboard.press('s');
  await expect(page.getByRole('region', { name: 'Structure' })).toHaveCount(0);
  await expect.poll(async () => near(await pixel(page, jCell), before.j, 3)).toBe(true);
});

test('with two disks each row of the Structure list says its disk, and the filter finds rows by it', async ({
  page,
}) => {
  await page.goto(s.ui);
  await expect(page.getByTestId('status')).toHaveText('live');
  await page.keyboard.press('s');
  const list = page.getByRole('region', { name: 'Structure' }).getByRole('list', { name: 'regions and files' });
  const row = (label: RegExp) => list.getByRole('button', { name: label });
  // disk 1 holds the GPT and the ext4, disk 2 the vfat: neither label said which.
  await expect(row(/^FATs\b/)).toContainText('disk 2', { timeout: 15_000 });
  await expect(row(/^journal\b/)).toContainText('disk 1');
  await expect(row(/^\/docs\/report\.txt\b/)).toContainText('disk 1');
  // "free space" is on both: one row each, told apart by the disk.
  await expect(row(/^free space\b/)).toHaveCount(2);
  expect((await row(/^free space\b/).allInnerTexts()).map((t) => /disk \d/.exec(t)?.[0]).sort()).toEqual([
    'disk 1',
    'disk 2',
  ]);
  await page.getByRole('searchbox', { name: 'find a file or region' }).fill('disk 2');
  await expect(row(/^FATs\b/)).toHaveCount(1);
  await expect(row(/^journal\b/)).toHaveCount(0);
  await page.screenshot({ path: join(ART, 'structure-two-disks.png') });
});

test('Esc turns the Structure overlay off, after the plots; in the search it first clears what is typed', async ({
  page,
}) => {
  await page.goto(s.ui);
  await expect(page.getByTestId('status')).toHaveText('live');
  const button = page.getByRole('button', { name: 'Structure' });
  const panel = page.getByRole('region', { name: 'Structure' });
  await page.keyboard.press('s');
  await page.keyboard.press('g');
  await expect(page.getByTestId('plots')).toBeVisible();
  await expect(panel).toBeVisible();
  // The plots first (the top layer), then the overlay: its panel, its tints, its activity line.
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('plots')).toHaveCount(0);
  await expect(panel).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(panel).toHaveCount(0);
  await expect(button).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByTestId('activity')).toHaveCount(0);
  await expect(page.getByTestId('announce')).toHaveText('Structure overlay off');
  // In the search box, Esc clears the text and leaves the overlay on; the next Esc turns it off.
  await page.keyboard.press('s');
  const search = panel.getByRole('searchbox', { name: 'find a file or region' });
  await search.fill('journal');
  await search.press('Escape');
  await expect(search).toHaveValue('');
  await expect(panel).toBeVisible();
  await search.press('Escape');
  await expect(panel).toHaveCount(0);
});
