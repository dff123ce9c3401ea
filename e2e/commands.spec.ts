// The Commands panel tells the truth: its guestfish command for the RAID 5 layout, copied from
// the page as a user would read it, really builds the array (guestfish under TCG), and its
// mkfs discards show as purple on the member disks.
import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { checkDemoPrerequisites } from '../server/demos/driver.ts';
import { PALETTES } from '../renderer/grid/palette.ts';
import { countColor, gridBoxes, hex, shot } from './pixels.ts';
import { serve } from './serve.ts';

test.use({ viewport: { width: 1280, height: 720 } });

test('the RAID 5 guestfish command from the Commands panel runs, and its mkfs turns the members purple', async ({
  page,
}) => {
  test.setTimeout(900_000);
  checkDemoPrerequisites(); // guestfish, an appliance kernel (fails naming the package)
  const s = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
  try {
    await page.goto(s.ui);
    await expect(page.locator('section.disk')).toHaveCount(5);
    await page.getByRole('button', { name: 'Commands' }).click();
    const panel = page.getByRole('dialog', { name: 'Build it from a client' });
    await expect(panel).toBeVisible();
    const texts = await panel.locator('pre').allInnerTexts();
    const env = texts.find((t) => t.startsWith('export LIBGUESTFS_BACKEND'))!;
    const gf = texts.find((t) => t.startsWith('guestfish'))!;
    expect(gf).toMatch(/discard:enable \\\n {2}: add-drive/); // drives joined with ':'
    expect(gf).toContain('md-create md0');
    await page.getByRole('button', { name: 'close the commands' }).click();
    await expect(panel).toHaveCount(0);
    const run = spawnSync('sh', ['-c', `${env.replace(/#.*$/, '')}\n${gf}`], {
      encoding: 'utf8',
      timeout: 840_000,
    });
    expect(run.status, `guestfish failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
    // mkfs discarded the array: purple on each active member (the spare stays untouched).
    const purple = hex(PALETTES.laptop.states[1]);
    const counts = async () => {
      const sh = await shot(page, join(import.meta.dirname, 'artifacts', 'commands-raid5.png'));
      return (await gridBoxes(page)).map((b) => countColor(sh, purple, 2, b));
    };
    await expect.poll(async () => Math.min(...(await counts()).slice(0, 4))).toBeGreaterThan(10_000);
    const last = await counts();
    expect(last[4], 'the spare holds no filesystem').toBeLessThan(100);
  } finally {
    await s.stop();
  }
});
