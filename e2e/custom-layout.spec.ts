// The Custom layout's N field keeps what the user types; an invalid count is refused on apply
// with a clear message and changes nothing; a valid one is confirmed in plain words first.
import { expect, test } from '@playwright/test';
import { DISK_COUNT_RULE } from '../renderer/components/disk-count.ts';
import { serve, type Served } from './serve.ts';

let s: Served;
test.beforeAll(async () => {
  s = await serve(['--disks', '3', '--size', '16M', '--port', '0', '--ui']);
});
test.afterAll(async () => s?.stop());

test('N holds what is typed; an invalid count is refused on apply and nothing changes', async ({ page }) => {
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.accept();
  });
  await page.goto(s.ui);
  await expect(page.locator('section.disk')).toHaveCount(3);
  const n = page.getByLabel('disks for the Custom layout');

  for (const typed of ['-1', '1e3', '17', '2.5']) {
    await n.fill('');
    await n.pressSequentially(typed);
    await expect(n).toHaveValue(typed);
  }
  // Change 3 into 5 the natural way: End, Backspace, 5.
  await n.fill('3');
  await n.press('End');
  await n.press('Backspace');
  await expect(n).toHaveValue('');
  await n.press('5');
  await expect(n).toHaveValue('5');

  await n.fill('17');
  await page.getByLabel('layout preset').selectOption('custom');
  await expect(page.locator('.message')).toHaveText(DISK_COUNT_RULE);
  expect(dialogs).toEqual([]);
  await expect(page.locator('section.disk')).toHaveCount(3);

  await n.fill('2');
  await page.getByLabel('layout preset').selectOption('custom');
  await expect(page.locator('section.disk')).toHaveCount(2);
  // The question is in the menu's words and says how many disks, not the engine's "custom".
  expect(dialogs).toEqual(['Replace the 3 disks and their data with a custom layout of 2 disks?']);
  await expect(page.locator('.message')).toHaveCount(0);
});
