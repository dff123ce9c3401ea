// Attach mode in the browser: a live external nbdkit (log filter) driven by qemu-io, and the
// page's pixels follow its log file.
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

let dir: string;
let nbdkit: ChildProcess;
let s: Served;
test.beforeAll(async () => {
  requireBinary('nbdkit', 'nbdkit');
  requireBinary('qemu-io', 'qemu-utils');
  dir = mkdtempSync(join(tmpdir(), 'attach-e2e-'));
  nbdkit = spawn(
    'nbdkit',
    ['-f', '-U', join(dir, 'sock'), '--filter=log', 'memory', 'size=64M', `logfile=${join(dir, 'log')}`],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && !existsSync(join(dir, 'sock')); i++) await new Promise((r) => setTimeout(r, 50));
  s = await serve(['--size', '64M', join(dir, 'log'), '--error-file', join(dir, 'error'), '--ui'], 'attach');
});
test.afterAll(async () => {
  await s?.stop();
  nbdkit?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('the page follows an external nbdkit through its log', async ({ page }) => {
  await page.goto(s.ui);
  await expect(page.locator('section.disk')).toHaveCount(1);
  await expect(page.locator('section.disk')).toContainText('attach');
  // It names what it follows, and offers only what applies to a disk it merely watches.
  await expect(page.getByTestId('source-1')).toHaveText(join(dir, 'log'));
  await expect(page.getByText('follows')).toBeVisible();
  await expect(page.getByRole('checkbox', { name: 'Disk 1 errors' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Reset disk 1' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Commands' })).toHaveCount(0);
  await expect(page.getByRole('combobox', { name: 'layout preset' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Hold I\/O/ })).toHaveCount(0);
  const uri = `nbd+unix:///?socket=${join(dir, 'sock')}`;
  expect(qemuIo(uri, 'write 0 64k', 'discard 32k 32k').code).toBe(0);
  const px = (cell: number) => page.evaluate((c) => (window as any).__blockscope.canvasPixel(1, c) as number[], cell);
  await expect.poll(async () => (await px(0)).slice(0, 3)).toEqual([0xe5, 0x38, 0x3b]);
  await expect.poll(async () => (await px(8)).slice(0, 3)).toEqual([0xc9, 0xa7, 0xff]);
  await expect.poll(async () => (await px(16)).slice(0, 3)).toEqual([0x5c, 0x64, 0x74]);
  await page.getByTestId('error-1').check();
  await expect.poll(() => existsSync(join(dir, 'error'))).toBe(true);
  await page.screenshot({ path: join(import.meta.dirname, 'artifacts', 'attach-nbdkit.png') });
  await page.getByTestId('error-1').uncheck();
  await expect.poll(() => existsSync(join(dir, 'error'))).toBe(false);
});

test('attached without --error-file: no Error toggle (nothing to switch), where a served disk always has one', async ({
  page,
}) => {
  // The same log, watched by a second attach that was not given the nbdkit's error file.
  const bare = await serve(['--size', '64M', join(dir, 'log'), '--ui'], 'attach');
  try {
    await page.goto(bare.ui);
    await expect(page.locator('section.disk')).toHaveCount(1);
    await expect(page.getByTestId('source-1')).toHaveText(join(dir, 'log'));
    // It used to be there, and a click answered "disk 1 has no error toggle".
    await expect(page.getByRole('checkbox', { name: 'Disk 1 errors' })).toHaveCount(0);
    const r = await fetch(bare.api('/api/disks/1/errors'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ on: true }),
    });
    expect(r.ok).toBe(false);
    expect(((await r.json()) as { error: string }).error).toMatch(/has no error toggle/);
  } finally {
    await bare.stop();
  }
  // A served disk without --filter=error: the toggle is there and works (an inert filter provides it).
  const served = await serve(['--size', '16M', '--port', '0', '--ui']);
  try {
    await page.goto(served.ui);
    const toggle = page.getByRole('checkbox', { name: 'Disk 1 errors' });
    await toggle.check();
    await expect(page.getByTestId('disk-1')).toContainText('FAILED');
    expect(qemuIo(served.uris[0], 'write 0 4k').code).not.toBe(0);
    await toggle.uncheck();
    expect(qemuIo(served.uris[0], 'write 0 4k').code).toBe(0);
  } finally {
    await served.stop();
  }
});
