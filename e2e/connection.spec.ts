// When the engine goes away the page says so: the last picture is dimmed under a banner and its
// controls change nothing (no fake FAILED); a restarted server (a new session token) is named as
// such, and the page stops knocking. A page that reconnects to the same server shows what the
// disks went through while it was away.
import { expect, test, type Page, type WebSocketRoute } from '@playwright/test';
import { RECONNECTING } from '../renderer/components/ConnectionBanner.tsx';
import { PALETTES } from '../renderer/grid/palette.ts';
import { RATE_WINDOW_MS } from '../renderer/store/rates.ts';
import { SESSION_ENDED } from '../renderer/transport/websocket.ts';
import { expectCellColor, hex } from './pixels.ts';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

const ARGS = ['--disks', '2', '--size', '16M', '--filter=error', '--port', '0', '--ui'];
let s: Served | null = null;
let again: Served | null = null;
test.afterEach(async () => {
  await s?.stop();
  await again?.stop();
});

/** Every text the element shows from now on (a MutationObserver in the page), read by the function returned. */
async function recordTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
  await page.evaluate((sel) => {
    const el = document.querySelector(sel)!;
    const seen: string[] = [el.textContent ?? ''];
    (window as unknown as { seenTexts: string[] }).seenTexts = seen;
    new MutationObserver(() => {
      const t = el.textContent ?? '';
      if (t !== seen[seen.length - 1]) seen.push(t);
    }).observe(el, { subtree: true, childList: true, characterData: true });
  }, selector);
  return () => page.evaluate(() => (window as unknown as { seenTexts: string[] }).seenTexts);
}

/**
 * Controls outside the disks that ask the engine (a preset, Hold, Clear, the time machine, an
 * export) and controls that are the page's own (palette, presentation, help, Pause view).
 */
function toolbarControls(page: Page) {
  const tm = page.getByRole('group', { name: 'time machine' });
  return {
    engine: [
      page.getByRole('combobox', { name: 'layout preset' }),
      page.getByRole('button', { name: 'Hold I/O' }),
      page.getByRole('button', { name: 'Clear', exact: true }),
      page.getByRole('button', { name: 'Commands' }),
      tm.getByTestId('timeline-play'),
      tm.getByRole('button', { name: 'Step' }),
      tm.getByRole('button', { name: 'Next burst' }),
      tm.getByRole('combobox'),
      tm.getByRole('button', { name: 'Live' }),
      page.getByRole('group', { name: 'export' }).getByRole('button', { name: 'PNG 1×' }),
    ],
    local: [
      page.getByRole('combobox', { name: 'palette' }),
      page.getByRole('button', { name: 'Present' }),
      page.getByRole('button', { name: 'Keyboard shortcuts' }),
      page.getByRole('button', { name: 'Pause view', exact: true }),
      tm.getByRole('button', { name: 'Plots' }),
      tm.getByRole('button', { name: 'Export…' }),
    ],
  };
}

async function expectEngineControls(page: Page, state: 'disabled' | 'enabled') {
  const { engine, local } = toolbarControls(page);
  for (const l of engine) {
    if (state === 'enabled') {
      await expect(l).toBeEnabled();
      await expect(l).not.toHaveAttribute('aria-disabled');
      continue;
    }
    await expect(l).toBeDisabled();
    await expect(l).toHaveAttribute('aria-disabled', 'true');
    await expect(l).toHaveAttribute('title', /^Disconnected from Blockscope/);
    expect(Number(await l.evaluate((e) => getComputedStyle(e).opacity)), 'greyed').toBeLessThan(0.6);
  }
  const scrubber = page.getByRole('slider', { name: /time machine position/ });
  if (state === 'disabled') await expect(scrubber).toHaveAttribute('aria-disabled', 'true');
  else await expect(scrubber).not.toHaveAttribute('aria-disabled');
  for (const l of local) await expect(l).toBeEnabled();
}

test('a killed server dims the disks under a banner; a restarted one is named, and not retried', async ({ page }) => {
  s = await serve(ARGS);
  const apiPort = new URL(s.ui).port;
  let sockets = 0;
  page.on('websocket', () => sockets++);
  await page.goto(s.ui);
  await expect(page.locator('section.disk')).toHaveCount(2);
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect(page.getByTestId('connection-banner')).toHaveCount(0);

  const pill = await recordTexts(page, '[data-testid=status]');
  await s.stop();
  await expect(page.getByTestId('connection-banner')).toHaveText(RECONNECTING);
  // The pill says what the page is doing, in words: waiting, then which try.
  await expect.poll(pill, { timeout: 20_000 }).toContainEqual(expect.stringMatching(/reconnecting \(attempt 3\)…/));
  const said = await pill();
  expect(said).toContainEqual(expect.stringMatching(/^disconnected — retrying in [1-5] s$/));
  expect(said).toContainEqual('reconnecting (attempt 1)…');
  expect(said).not.toContain('connecting');
  await expect(page.locator('main.stage')).toHaveClass(/disconnected/);
  await expect(page.locator('main.stage')).toHaveAttribute('inert', '');

  // The stage is inert and the toggle disabled; even a scripted click must not make the disk look
  // FAILED, not even briefly.
  await page.evaluate(() => {
    const w = window as unknown as { sawFailed: boolean };
    w.sawFailed = false;
    new MutationObserver(() => (w.sawFailed ||= !!document.querySelector('.badge.failed'))).observe(document.body, {
      subtree: true,
      childList: true,
    });
  });
  const toggle = page.locator('[aria-label="Disk 1 errors"]');
  await expect(toggle).toBeDisabled();
  await toggle.evaluate((e) => (e as HTMLElement).click());
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

test('a page that reconnects to the same server shows the writes made while it was away', async ({ page }) => {
  requireBinary('qemu-io', 'qemu-utils');
  s = await serve(ARGS);
  const [, trimmed, zeroed, written] = PALETTES.laptop.states.map(hex);
  // Every socket of the page goes through here. While `away` is set, a new one waits unanswered
  // (the page stays disconnected and keeps trying); the open ones are the ones to drop.
  let away: Promise<void> | null = null;
  let comeBack = () => {};
  const open: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/ws/, async (ws) => {
    await away;
    open.push(ws, ws.connectToServer());
  });
  await page.goto(s.ui);
  await expect(page.getByTestId('status')).toHaveText('live');
  // 16 MiB disks: one 4 KiB block a cell, so 4 MiB is cell 1024 and 8 MiB cell 2048.
  expect(qemuIo(s.uris[0], 'write 0 64k', 'write 8M 64k').code).toBe(0);
  await expectCellColor(page, 1, [0, 15, 2048, 2063], written);

  away = new Promise((resolve) => (comeBack = resolve));
  for (const ws of open.splice(0)) await ws.close();
  await expect(page.getByTestId('connection-banner')).toHaveText(RECONNECTING);
  // What asks the engine is greyed and says why; what is the page's own stays usable.
  await page.getByRole('button', { name: 'Export…' }).click();
  await expectEngineControls(page, 'disabled');
  await page.keyboard.press('?');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  await page.keyboard.press('Escape');

  // Meanwhile a real client changes blocks already drawn and blocks not drawn yet, on both disks;
  // the page stays away longer than the counters' rate window.
  expect(qemuIo(s.uris[0], 'discard 0 64k', 'write 4M 64k', 'write -z 8M 64k').code).toBe(0);
  expect(qemuIo(s.uris[1], 'write 0 4k').code).toBe(0);
  await page.waitForTimeout(RATE_WINDOW_MS + 500);
  await expect(page.getByTestId('connection-banner')).toHaveText(RECONNECTING);

  comeBack();
  await expect(page.getByTestId('connection-banner')).toHaveCount(0, { timeout: 20_000 });
  await expect(page.getByTestId('status')).toHaveText('live');
  await expectEngineControls(page, 'enabled');
  await expectCellColor(page, 1, [0, 15], trimmed);
  await expectCellColor(page, 1, [1024, 1039], written);
  await expectCellColor(page, 1, [2048, 2063], zeroed);
  await expectCellColor(page, 2, [0], written);
  // The block totals and the counters agree; what happened while away is not a burst of the
  // last few seconds (the rate column stays at 0).
  await expect(page.getByTestId('disk-1')).toContainText('16 trimmed');
  const counters = page.getByRole('table', { name: 'Disk 1 counters' });
  const writes = counters.getByRole('row', { name: /^write/ });
  await expect(writes).toHaveText(/^write\s*3\s*192(\.0)? KiB/);
  // From the moment the new counts show (a rate that is wrong fades over RATE_WINDOW_MS).
  for (let i = 0; i < 4; i++) {
    expect(await writes.innerText()).toMatch(/\s0 B\/s\s*0$/);
    await page.waitForTimeout(300);
  }
  await expect(counters.getByRole('row', { name: /^trim/ })).toHaveText(/^trim\s*1\s*64(\.0)? KiB\s*0 B\/s\s*0$/);
});
