// Presentation grade, measured like an outsider would: at 1920×1080 (a projector), 1366×768 and
// 1280×720, from screenshots and the accessibility tree.
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PALETTES } from '../renderer/grid/palette.ts';
import { countColor, drawnVisibly, gridBlobs, hex, overflowing, shot, type Blob } from './pixels.ts';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

const ART = join(import.meta.dirname, 'artifacts', 'layout');
const VIEWPORTS = [
  { width: 1920, height: 1080 },
  { width: 1366, height: 768 },
  { width: 1280, height: 720 },
];
const L = PALETTES.laptop;

let raid5: Served;
test.beforeAll(async () => {
  requireBinary('qemu-io', 'qemu-utils');
  mkdirSync(ART, { recursive: true });
  raid5 = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
});
test.afterAll(async () => raid5?.stop());

const url = (s: Served, query = '') => s.page(query);

async function open(page: Page, s: Served, query = '', disks = 5) {
  await page.goto(url(s, query));
  await expect(page.locator('section.disk')).toHaveCount(disks);
  await expect(page.getByTestId('status')).toHaveText('live');
  // Start from a clean picture (other tests write to the same disks).
  await page.keyboard.press('c');
  await page.waitForTimeout(300);
}

/** Every control a disk panel offers, by its accessible name. */
function diskControls(page: Page, n: number) {
  return {
    errors: page.getByRole('checkbox', { name: `Disk ${n} errors` }).locator('..'),
    copy: page.getByRole('button', { name: `Copy disk ${n} NBD URI` }),
    read: page.getByRole('slider', { name: `Disk ${n} read delay` }),
    write: page.getByRole('slider', { name: `Disk ${n} write delay` }),
    trim: page.getByRole('slider', { name: `Disk ${n} trim delay` }),
    zero: page.getByRole('slider', { name: `Disk ${n} zero delay` }),
    counters: page.getByRole('table', { name: `Disk ${n} counters` }),
    clear: page.getByRole('button', { name: `Clear disk ${n}` }),
    reset: page.getByRole('button', { name: `Reset disk ${n}` }),
  };
}

for (const vp of VIEWPORTS) {
  test.describe(`${vp.width}×${vp.height}`, () => {
    test.use({ viewport: vp });

    test('RAID 5: every disk control is drawn and usable in every palette, and after switching back', async ({
      page,
    }) => {
      await open(page, raid5);
      for (const palette of ['laptop', 'projector', 'cvd', 'laptop'] as const) {
        await page.getByRole('combobox', { name: 'palette' }).selectOption(palette);
        await page.waitForTimeout(300);
        const s = await shot(page, join(ART, `${vp.width}-palette-${palette}.png`));
        for (let n = 1; n <= 5; n++) {
          for (const [what, l] of Object.entries(diskControls(page, n)))
            expect(await drawnVisibly(s, l), `${palette}: disk ${n} ${what} drawn`).toBe(true);
        }
        // The panels' own background shows around the grids (the canvas is not covering them).
        expect(countColor(s, hex(PALETTES[palette].states[0]))).toBeGreaterThan(1000);
      }
      // A click on a control does what it shows.
      const box = page.getByRole('checkbox', { name: 'Disk 2 errors' });
      await box.check();
      await expect(box).toBeChecked();
      await expect(page.getByTestId('disk-2')).toContainText('FAILED');
      await box.uncheck();
    });

    test('RAID 5 in presentation mode: the grids cover at least 60 % of the screen', async ({ page }) => {
      await open(page, raid5, '?present=1');
      await expect(page.getByRole('button', { name: 'Exit presentation' })).toBeVisible();
      await page.waitForTimeout(300);
      const s = await shot(page, join(ART, `${vp.width}-present.png`));
      const covered = countColor(s, hex(L.states[0]), 2) / (s.width * s.height);
      console.log(`${vp.width}×${vp.height}: grids cover ${(covered * 100).toFixed(1)} % in presentation mode`);
      expect(covered).toBeGreaterThanOrEqual(0.6);
    });

    test('no element overflows its panel: toolbar, disks, footer; normal and presentation mode', async ({ page }) => {
      await open(page, raid5);
      // Busy counters: the widest numbers the panels will show.
      for (const u of raid5.uris) expect(qemuIo(u, 'write 0 16M', 'read 0 8M', 'discard 16M 4M').code).toBe(0);
      await page.waitForTimeout(1200);
      expect(await overflowing(page, '.toolbar, section.disk, .footer')).toEqual([]);
      await page.keyboard.press('f');
      await page.waitForTimeout(400);
      expect(await overflowing(page, '.toolbar, section.disk, .footer')).toEqual([]);
    });
  });
}

test.describe('1920×1080 projector', () => {
  test.use({ viewport: { width: 1920, height: 1080 } });

  test('presentation mode: one 4 KiB write is at least 4×4 screen pixels', async ({ page }) => {
    await open(page, raid5, '?present=1');
    expect(qemuIo(raid5.uris[1], 'write 8M 4k').code).toBe(0);
    let red: Blob[] = [];
    await expect
      .poll(
        async () => {
          red = await gridBlobs(page, hex(L.states[3]), join(ART, '1920-present-one-block.png'));
          return red.length;
        },
        { timeout: 30_000 },
      )
      .toBe(1);
    const [b] = red;
    console.log(`one 4 KiB block: ${b.w}×${b.h} px`);
    expect(b.w).toBeGreaterThanOrEqual(4);
    expect(b.h).toBeGreaterThanOrEqual(4);
    expect(b.pixels).toBeGreaterThanOrEqual(16);
  });
});

test.describe('1280×720 laptop', () => {
  test.use({ viewport: { width: 1280, height: 720 } });

  test('a 1 GiB disk: every written block is visible (or the merge factor is said)', async ({ page }) => {
    const big = await serve(['--size', '1G', '--port', '0', '--ui']);
    try {
      await page.goto(big.ui);
      await expect(page.locator('section.disk')).toHaveCount(1);
      // 24 single blocks far apart (37 MiB + 4 KiB steps: different rows, never one texel).
      const offsets = Array.from({ length: 24 }, (_, i) => i * (37 * 1024 * 1024 + 4096));
      expect(qemuIo(big.uris[0], ...offsets.map((o) => `write ${o} 4k`)).code).toBe(0);
      await expect.poll(async () => (await gridBlobs(page, hex(L.states[3]))).length, { timeout: 30_000 }).toBe(24);
      await shot(page, join(ART, '1280-1GiB.png'));
      const scale = await page.getByTestId('disk-1').locator('.scale').innerText();
      expect(scale).toMatch(/= 4 KiB( ·|$)|blocks/); // one block a square, or the merge said
    } finally {
      await big.stop();
    }
  });

  test('8 disks of 1 GiB: compact chrome, nothing overflows, merging is said, written blocks show', async ({
    page,
  }) => {
    const eight = await serve([
      '--disks',
      '8',
      '--size',
      '1G',
      '--port',
      '0',
      '--ui',
      '--filter=delay',
      'rdelay=0',
      'wdelay=0',
    ]);
    try {
      await page.goto(eight.ui);
      await expect(page.locator('section.disk')).toHaveCount(8);
      expect(await overflowing(page, '.toolbar, section.disk, .footer')).toEqual([]);
      for (let n = 1; n <= 8; n++) {
        await expect(page.getByRole('checkbox', { name: `Disk ${n} errors` })).toBeVisible();
        await expect(page.getByTestId(`disk-${n}`)).toContainText(/\d+ blocks/); // the merge factor
      }
      expect(qemuIo(eight.uris[6], 'write 0 4k', 'write 512M 4k', 'write 1020M 4k').code).toBe(0);
      await expect.poll(async () => (await gridBlobs(page, hex(L.states[3]))).length, { timeout: 30_000 }).toBe(3);
      // The hidden controls are one click away, with unique names.
      await page.getByRole('button', { name: 'Disk 7 details' }).click();
      const details = page.getByRole('dialog', { name: 'Disk 7 details' });
      await expect(details.getByRole('slider', { name: 'Disk 7 write delay' })).toBeVisible();
      await expect(details.getByRole('table', { name: 'Disk 7 counters' })).toContainText('write');
      await shot(page, join(ART, '1280-8disks-details.png'));
    } finally {
      await eight.stop();
    }
  });
});
