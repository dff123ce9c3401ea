// A hostile web page, opened from disk in the user's browser, aims at Blockscope's control
// server: a request target that once killed the process (`//[`), API calls without the token,
// a cross-site POST and a WebSocket. Blockscope stays up and nothing changes.
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from './serve.ts';

let dir: string;
let s: Served;
test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hostile-page-'));
  s = await serve(['--port', '0', '--size', '16M', '--ui']);
});
test.afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a file:// page cannot kill or steer the server', async ({ page }) => {
  const origin = new URL(s.ui).origin;
  const file = join(dir, 'evil.html');
  writeFileSync(
    file,
    `<!doctype html><title>evil</title>
<img id="a" src="${origin}//[">
<img id="b" src="${origin}//[?x=1">
<img id="c" src="${origin}/api/disks">
<script>
  window.results = {};
  fetch('${origin}/api/disks/1/errors', { method: 'POST', mode: 'no-cors', body: '{"on":true}' })
    .then(() => (results.post = 'sent'), () => (results.post = 'failed'));
  const ws = new WebSocket('${origin.replace('http', 'ws')}/ws');
  ws.onopen = () => (results.ws = 'open');
  ws.onerror = () => (results.ws = 'refused');
</script>`,
  );
  await page.goto(`file://${file}`);
  await expect.poll(() => page.evaluate(() => (window as any).results.ws)).toBe('refused');
  await expect.poll(() => page.evaluate(() => (window as any).results.post)).toBeTruthy();
  // Every image finished (failed): the server answered each request.
  await expect
    .poll(() => page.evaluate(() => [...document.images].every((i) => i.complete && i.naturalWidth === 0)))
    .toBe(true);

  expect(s.proc.exitCode, 'blockscope exited').toBeNull();
  const disks = (await (await fetch(s.api('/api/disks'))).json()) as Array<{ errorsOn: boolean }>;
  expect(disks[0].errorsOn).toBe(false);
  // The page Blockscope printed still works.
  await page.goto(s.ui);
  await expect(page.locator('section.disk')).toHaveCount(1);
});
