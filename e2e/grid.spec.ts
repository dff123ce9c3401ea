// The RAID 5 preset in the browser, driven by qemu-io: the canvas shows exactly the blocks
// each client touched, reads flash, and the Error checkbox fails the next read.
import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cellPixel as pixel, expectCellColor as expectColor } from './pixels.ts';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

const ART = join(import.meta.dirname, 'artifacts');
const RED = [0xe5, 0x38, 0x3b];
const PURPLE = [0xc9, 0xa7, 0xff];
const WHITE = [0xf5, 0xf5, 0xf5];
const UNTOUCHED = [0x5c, 0x64, 0x74];

let s: Served;
test.beforeAll(async () => {
  requireBinary('qemu-io', 'qemu-utils');
  mkdirSync(ART, { recursive: true });
  s = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
});
test.afterAll(async () => s?.stop());

test('the grid shows what qemu-io did on each disk of the RAID 5 preset', async ({ page }) => {
  await page.goto(s.ui);
  await expect(page.locator('section.disk')).toHaveCount(5);
  await expect(page.getByTestId('status')).toHaveText('live');
  await page.screenshot({ path: join(ART, '1-raid5-empty.png') });
  await expectColor(page, 1, [0, 8192, 16383], UNTOUCHED);

  // Disk 1: writes at known offsets (64 KiB at 0 = cells 0-15; 4 KiB at 32 MiB = cell 8192).
  expect(qemuIo(s.uris[0], 'write -P 0xab 0 64k', 'write -P 1 32M 4k').code).toBe(0);
  await expectColor(page, 1, [0, 15, 8192], RED);
  await expectColor(page, 1, [16, 8191, 8193], UNTOUCHED);

  // Disk 2: write 128 KiB, then discard the first 64 KiB.
  expect(qemuIo(s.uris[1], 'write 0 128k', 'discard 0 64k').code).toBe(0);
  await expectColor(page, 2, [0, 15], PURPLE);
  await expectColor(page, 2, [16, 31], RED);
  await expectColor(page, 2, [32], UNTOUCHED);

  // Disk 3: write-zeroes.
  expect(qemuIo(s.uris[2], 'write -z 1M 64k').code).toBe(0);
  await expectColor(page, 3, [256, 271], WHITE);
  await expectColor(page, 3, [255, 272], UNTOUCHED);
  await page.screenshot({ path: join(ART, '2-raid5-writes-trim-zero.png') });

  // Disk 4: write, then reads flash black and return to red (flash slowed to 2 s to catch it).
  expect(qemuIo(s.uris[3], 'write 0 64k').code).toBe(0);
  await expectColor(page, 4, [0, 15], RED);
  await page.getByTestId('flash').fill('2000');
  expect(qemuIo(s.uris[3], 'read 0 64k').code).toBe(0);
  // Caught during the fade: much darker than red (g 56) and than untouched (g 100).
  for (const cell of [0, 15]) {
    await expect
      .poll(async () => (await pixel(page, 4, cell))?.[1], {
        message: `disk 4 cell ${cell} flashes dark`,
        timeout: 1500,
        intervals: [20],
      })
      .toBeLessThan(30);
  }
  await page.screenshot({ path: join(ART, '3-raid5-read-flash.png') });
  await expectColor(page, 4, [0, 15], RED);
  await expectColor(page, 1, [0], RED);

  // The Error checkbox on disk 3 makes qemu-io's next read fail; unchecking restores it.
  await page.getByTestId('error-3').check();
  await expect(page.getByTestId('error-3')).toBeChecked();
  const failed = qemuIo(s.uris[2], 'read 0 4k');
  expect(failed.out).toMatch(/Input\/output error/);
  await expectColor(page, 3, [0], [0xff, 0xb0, 0x00]);
  await page.screenshot({ path: join(ART, '4-raid5-error-on.png') });
  await page.getByTestId('error-3').uncheck();
  await expect(page.getByTestId('error-3')).not.toBeChecked();
  const ok = qemuIo(s.uris[2], 'read 0 4k');
  expect(ok.code).toBe(0);
  expect(ok.out).not.toMatch(/failed/);
  await page.screenshot({ path: join(ART, '5-raid5-final.png') });

  // Hover shows the block's details.
  const c = await page.evaluate(() => (window as any).__blockscope.cellCenter(1, 3));
  await page.mouse.move(c.x, c.y);
  await expect(page.getByTestId('tooltip')).toContainText('block 3');
  await expect(page.getByTestId('tooltip')).toContainText('written');
});
