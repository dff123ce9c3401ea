// The Custom layout's disk count keeps what the user types; an invalid count is refused on apply
// with a clear message at the field and changes nothing; a valid one is confirmed in plain words first.
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

  // The field says what it is in words ("Custom … disks", not "N"), and its tooltip more.
  const field = page.locator('label.disk-count');
  await expect(field).toHaveText(/^\s*Custom\s*disks\s*$/);
  await expect(field).toHaveAttribute('title', /How many disks “Custom…” in the Layout menu makes \(1–16\)/);

  await n.fill('17');
  await page.getByLabel('layout preset').selectOption('custom');
  // The refusal is said at the field (not in the footer, across the window from it).
  const refused = page.getByTestId('disk-count-refused');
  await expect(refused).toHaveText(DISK_COUNT_RULE);
  await expect(refused).toHaveAttribute('role', 'alert');
  await expect(n).toHaveAttribute('aria-invalid', 'true');
  await expect(n).toHaveAccessibleDescription(DISK_COUNT_RULE);
  await expect(page.locator('.footer .message')).toHaveCount(0);
  const [at, said] = [(await n.boundingBox())!, (await refused.boundingBox())!];
  expect(said.y - (at.y + at.height), 'just under the field').toBeLessThan(20);
  expect(said.y, 'not above it').toBeGreaterThanOrEqual(at.y + at.height);
  expect(Math.abs(said.x - at.x), 'beside it, not across the window').toBeLessThan(120);
  expect(dialogs).toEqual([]);
  await expect(page.locator('section.disk')).toHaveCount(3);
  // Editing the field takes the message away.
  await n.press('Backspace');
  await expect(refused).toHaveCount(0);
  await expect(n).not.toHaveAttribute('aria-invalid');

  await n.fill('2');
  await page.getByLabel('layout preset').selectOption('custom');
  await expect(page.locator('section.disk')).toHaveCount(2);
  // The question is in the menu's words and says how many disks, not the engine's "custom".
  expect(dialogs).toEqual(['Replace the 3 disks and their data with a custom layout of 2 disks?']);
  await expect(page.locator('.message')).toHaveCount(0);
});
