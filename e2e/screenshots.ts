// `node --import tsx e2e/screenshots.ts`: the screenshots in docs/img/, taken from the real UI
// with real clients (qemu-io, guestfish): normal and presentation mode at 1920×1080, each palette,
// compact chrome at 1280×720, attach mode. Needs `npm run build` first. Not part of `npm test`;
// the demo screenshot comes from the RAID 5 acceptance test (e2e/artifacts/demos/).
import { chromium, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { qemuIo, serve } from './serve.ts';

const OUT = join(import.meta.dirname, '..', 'docs', 'img');
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
async function page(width: number, height: number, url: string): Promise<Page> {
  const p = await browser.newPage({ viewport: { width, height } });
  await p.goto(url);
  await p.waitForSelector('section.disk');
  await p.waitForTimeout(800);
  return p;
}

// RAID 5 after a filesystem was made on it by guestfish (the Commands panel's own command).
const raid5 = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
try {
  const cmds = (await (await fetch(raid5.api('/api/presets/commands'))).json()) as { commands: string[] };
  const gf = spawnSync('sh', ['-c', `${cmds.commands[0].replace(/#.*$/, '')}; ${cmds.commands[1]}`], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (gf.status !== 0) throw new Error('guestfish failed');
  // A failed disk and some traffic to show every colour.
  await fetch(raid5.api('/api/disks/3/errors'), { method: 'POST', body: '{"on":true}' });
  qemuIo(raid5.uris[2], 'read 0 64k', 'write 32M 256k');
  qemuIo(raid5.uris[4], 'write 0 1M', 'write -z 4M 2M', 'discard 1M 512k');
  for (const [name, query, w, h] of [
    ['ui-normal', '', 1920, 1080],
    ['ui-present', '?present=1', 1920, 1080],
    ['ui-projector', '?present=1&palette=projector', 1920, 1080],
    ['ui-cvd', '?palette=cvd', 1920, 1080],
    ['ui-1366', '', 1366, 768],
  ] as const) {
    const p = await page(w, h, raid5.page(query));
    await p.screenshot({ path: join(OUT, `${name}.png`) });
    if (name === 'ui-normal') await p.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'screenshot.png') });
    await p.close();
  }
} finally {
  await raid5.stop();
}

// Eight 1 GiB disks at 1280×720: compact chrome, merged squares said, one disk's details open.
const eight = await serve(['--disks', '8', '--size', '1G', '--port', '0', '--ui', '--filter=delay', 'rdelay=0']);
try {
  for (const [i, u] of eight.uris.entries()) qemuIo(u, `write ${i * 100}M 64M`, `discard ${i * 100 + 16}M 8M`);
  const p = await page(1280, 720, eight.ui);
  await p.getByRole('button', { name: 'Disk 3 details' }).click();
  await p.waitForTimeout(400);
  await p.screenshot({ path: join(OUT, 'ui-compact-1280.png') });
  await p.close();
} finally {
  await eight.stop();
}

const demo = join(import.meta.dirname, 'artifacts', 'demos', 'raid5-waiting-after-step8.png');
if (existsSync(demo)) copyFileSync(demo, join(OUT, 'ui-demo.png'));
else console.log(`no ${demo}: run npx playwright test e2e/demos/raid5.spec.ts first`);
await browser.close();
