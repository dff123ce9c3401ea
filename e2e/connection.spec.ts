// When the engine goes away the page says so: the last picture is dimmed under a banner and its
// controls change nothing (no fake FAILED); a restarted server (a new session token) is named as
// such, and the page stops knocking.
import { expect, test } from '@playwright/test';
import { RECONNECTING } from '../renderer/components/ConnectionBanner.tsx';
import { SESSION_ENDED } from '../renderer/transport/websocket.ts';
import { serve, type Served } from './serve.ts';

const ARGS = ['--disks', '2', '--size', '16M', '--filter=error', '--port', '0', '--ui'];
let s: Served | null = null;
let again: Served | null = null;
test.afterEach(async () => {
  await s?.stop();
  await again?.stop();
});

test('a killed server dims the disks under a banner; a restarted one is named, and not retried', async ({ page }) => {
  s = await serve(ARGS);
  const apiPort = new URL(s.ui).port;
  let sockets = 0;
  page.on('websocket', () => sockets++);
  await page.goto(s.ui);
  await expect(page.locator('section.disk')).toHaveCount(2);
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect(page.getByTestId('connection-banner')).toHaveCount(0);

  await s.stop();
  await expect(page.getByTestId('connection-banner')).toHaveText(RECONNECTING);
  await expect(page.getByTestId('status')).toHaveText('disconnected');
  await expect(page.locator('main.stage')).toHaveClass(/disconnected/);
  await expect(page.locator('main.stage')).toHaveAttribute('inert', '');

  // The stage is inert; even a scripted click must not make the disk look FAILED, not even briefly.
  await page.evaluate(() => {
    const w = window as unknown as { sawFailed: boolean };
    w.sawFailed = false;
    new MutationObserver(() => (w.sawFailed ||= !!document.querySelector('.badge.failed'))).observe(document.body, {
      subtree: true,
      childList: true,
    });
  });
  const toggle = page.locator('[aria-label="Disk 1 errors"]');
  await toggle.evaluate((e) => (e as HTMLElement).click());
  await expect(page.locator('.message')).toContainText('nothing was changed');
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => (window as unknown as { sawFailed: boolean }).sawFailed)).toBe(false);
  await expect(toggle).not.toBeChecked();

  // Same API port, a new token: the page cannot get back in and must say so.
  again = await serve([...ARGS, '--api', apiPort]);
  await expect(page.getByTestId('connection-banner')).toHaveText(SESSION_ENDED, { timeout: 20_000 });
  await expect(page.getByTestId('status')).toHaveText('session ended');
  const tries = sockets;
  await page.waitForTimeout(6000); // longer than the longest backoff
  expect(sockets).toBe(tries);
});
