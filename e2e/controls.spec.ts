// Every control tells the truth: keyboard and screen-reader access, honest Pause and Hold,
// visible rewrites and reads, log-scale delays, remembered settings — checked from pixels,
// the accessibility tree and the engine's own API.
import { expect, test, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PALETTES } from '../renderer/grid/palette.ts';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

const L = PALETTES.laptop;
const rgb = (h: string) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
const close = (a: number[], b: number[], tol = 3) => a.slice(0, 3).every((v, i) => Math.abs(v - b[i]) <= tol);

/** The real canvas pixel at the centre of the square showing `cell`. */
const pixel = (page: Page, disk: number, cell: number) =>
  page.evaluate(([d, c]) => (window as any).__blockscope.canvasPixel(d, c) as number[], [disk, cell] as const);

let s: Served;
test.use({ viewport: { width: 1366, height: 768 } });
test.beforeAll(async () => {
  requireBinary('qemu-io', 'qemu-utils');
  s = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
});
test.afterAll(async () => s?.stop());

async function open(page: Page, query = '') {
  await page.goto(s.page(query));
  await expect(page.locator('section.disk')).toHaveCount(5);
  await expect(page.getByTestId('status')).toHaveText('live');
  await page.keyboard.press('c');
}

test('keyboard: a focused grid has a cursor the tooltip follows; zoom keeps the point under the pointer', async ({
  page,
}) => {
  await open(page);
  const grid = page.getByRole('application', { name: /^Disk 1 grid/ });
  await grid.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  const tip = page.getByRole('tooltip');
  await expect(tip).toContainText('disk 1 · block 3');
  const firstLine = async () => (await tip.innerText()).split('\n')[0];
  await page.keyboard.press('ArrowDown');
  // The tooltip's first line is "disk 1 · block N": wait until it has left block 3, else `keyed`
  // would be block 3 and the pointer check below could take the keyboard's new block for the pointer's.
  await expect.poll(firstLine).not.toBe('disk 1 · block 3');
  await expect(tip).toContainText(/block \d+/);
  const keyed = await firstLine();
  // Zoom about the pointer: the block under it stays the same.
  const box = (await grid.boundingBox())!;
  const at = { x: box.x + box.width * 0.7, y: box.y + box.height * 0.6 };
  await page.mouse.move(at.x, at.y);
  // The tooltip follows the pointer now (not the keyboard cursor's block any more).
  await expect.poll(async () => (await tip.innerText()).split('\n')[0]).not.toBe(keyed);
  const before = (await tip.innerText()).split('\n')[0];
  for (let i = 0; i < 4; i++) {
    await page.mouse.wheel(0, -100);
    await page.waitForTimeout(150);
  }
  await page.mouse.move(at.x + 0.5, at.y);
  await expect.poll(async () => (await tip.innerText()).split('\n')[0]).toBe(before);
  // The tooltip stays inside the window at the right edge.
  // The drawn grid's top-right corner (the grid is centred in its slot: the slot may be taller).
  const right = (await page.evaluate('window.__blockscope.gridRect(5)')) as { x: number; y: number; w: number };
  await page.mouse.move(right.x + right.w - 2, right.y + 5);
  await expect(tip).toBeVisible();
  const t = (await tip.boundingBox())!;
  expect(t.x + t.width).toBeLessThanOrEqual(1366);
});

test('a late answer about the keyboard cursor does not take the tooltip back from the pointer', async ({ page }) => {
  // The race behind a flaky run: the tooltip's refresh (twice a second) asks the engine about the
  // keyboard cursor's square, the pointer moves while the answer is on its way, the answer lands.
  // Here the WebSocket holds that answer back until the pointer's tooltip is shown.
  let holding = false;
  const asked = new Set<number>();
  const held: string[] = [];
  let toPage: ((m: string) => void) | null = null;
  await page.routeWebSocket(/\/ws/, (ws) => {
    const server = ws.connectToServer();
    toPage = (m) => ws.send(m);
    ws.onMessage((m) => {
      if (holding && typeof m === 'string') {
        const req = JSON.parse(m) as { id: number; method: string; params: { cell?: number } };
        if (req.method === 'inspectCell' && req.params.cell === 3) asked.add(req.id);
      }
      server.send(m);
    });
    server.onMessage((m) => {
      if (typeof m === 'string' && asked.has((JSON.parse(m) as { id: number }).id)) held.push(m);
      else ws.send(m);
    });
  });
  await open(page);
  const grid = page.getByRole('application', { name: /^Disk 1 grid/ });
  await grid.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  const tip = page.getByRole('tooltip');
  const firstLine = async () => (await tip.innerText()).split('\n')[0];
  await expect.poll(firstLine).toBe('disk 1 · block 3');
  holding = true;
  await expect.poll(() => held.length, { message: 'a refresh of the cursor tooltip is held' }).toBeGreaterThan(0);
  holding = false;
  const box = (await grid.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.6);
  await expect.poll(firstLine).not.toBe('disk 1 · block 3');
  const pointed = await firstLine();
  // Every first line the tooltip shows from now on: Chromium sends the page a synthetic pointer
  // move when the layout under the pointer changes, which would hide a brief flip back.
  await page.evaluate(() => {
    const seen: string[] = ((window as any).__tips = []);
    new MutationObserver(() => {
      const t = document.querySelector<HTMLElement>('[role=tooltip]');
      if (t) seen.push(t.innerText.split('\n')[0]);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  for (const m of held.splice(0)) toPage!(m);
  // Long enough for the page to apply the answer and for a refresh or two.
  await page.waitForTimeout(1200);
  expect(await page.evaluate(() => (window as any).__tips as string[])).not.toContain('disk 1 · block 3');
  expect(await firstLine()).toBe(pointed);
});

test('shortcuts and accessible names: help, presentation, enlarge, unique names per disk', async ({ page }) => {
  await open(page);
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toContainText('Space / P');
  await expect(help).toContainText('Hold I/O');
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);
  await page.keyboard.press('f');
  await expect(page.getByRole('button', { name: 'Exit presentation' })).toBeVisible();
  await page.keyboard.press('3');
  await expect.poll(async () => (await page.getByTestId('disk-3').boundingBox())!.width).toBeGreaterThan(683);
  await page.keyboard.press('3');
  await expect.poll(async () => (await page.getByTestId('disk-3').boundingBox())!.width).toBeLessThan(400);
  await page.keyboard.press('Escape');
  await expect(page.getByRole('button', { name: 'Present' })).toBeVisible();
  // Every control of the disk panels has its own accessible name ("Disk 3 errors", not "Error").
  const names = await page
    .locator('section.disk')
    .evaluateAll((panels) =>
      panels.flatMap((p) =>
        [...p.querySelectorAll('button, input')].map(
          (e) => e.getAttribute('aria-label') ?? (e as HTMLElement).innerText,
        ),
      ),
    );
  expect(names.length).toBeGreaterThan(40);
  expect(new Set(names).size, `duplicates: ${names.filter((n, i) => names.indexOf(n) !== i)}`).toBe(names.length);
});

test('dialogs take the keyboard: help scrolls with PageDown, Tab reaches the Copy buttons, Esc gives the focus back', async ({
  page,
}) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await open(page);
  // Opened with its key: the list is taller than the window, and the keys that scroll it reach it.
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toBeFocused();
  expect(await help.evaluate((e) => e.scrollHeight > e.clientHeight)).toBe(true);
  await page.keyboard.press('PageDown');
  await expect.poll(() => help.evaluate((e) => e.scrollTop)).toBeGreaterThan(0);
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);
  // Opened with a button: Tab goes into it, Esc closes it and the focus is back on the button.
  const button = page.getByRole('button', { name: 'Commands' });
  await button.click();
  const commands = page.getByRole('dialog', { name: 'Build it from a client' });
  await expect(commands).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'close the commands' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(commands).toHaveCount(0);
  await expect(button).toBeFocused();
});

test('the commands wrap between words: no word of a command is cut across two lines', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await open(page);
  await page.getByRole('button', { name: 'Commands' }).click();
  // Each word shorter than its line sits on one line ("m" / "kfs" did not). A line may end after
  // a hyphen ("part-" / "disk"), as in any text.
  const cut = await page
    .getByRole('dialog', { name: 'Build it from a client' })
    .locator('pre')
    .evaluateAll((pres) =>
      pres.flatMap((pre) => {
        const text = pre.firstChild!;
        const words = [...text.textContent!.matchAll(/[^\s-]+/g)];
        return words.flatMap((m) => {
          const r = document.createRange();
          r.setStart(text, m.index);
          r.setEnd(text, m.index + m[0].length);
          const lines = new Set([...r.getClientRects()].map((b) => Math.round(b.top)));
          return lines.size > 1 && r.getBoundingClientRect().width < pre.clientWidth - 16 ? [m[0]] : [];
        });
      }),
    );
  expect(cut).toEqual([]);
});

test('copy gives feedback; settings are remembered across reloads and the URL wins', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await open(page);
  const copy = page.getByRole('button', { name: 'Copy disk 2 NBD URI' });
  await copy.click();
  await expect(copy).toHaveText('Copied ✓');
  await expect(page.getByTestId('announce')).toHaveText('Copied disk 2 URI');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(s.uris[1]);
  await expect(copy).toHaveText('Copy', { timeout: 4000 });
  await page.getByRole('combobox', { name: 'palette' }).selectOption('cvd');
  await page.reload();
  await expect(page.getByRole('combobox', { name: 'palette' })).toHaveValue('cvd');
  await page.goto(s.page('?palette=projector'));
  await expect(page.getByRole('combobox', { name: 'palette' })).toHaveValue('projector');
});

test('Pause stops the picture and the counters and says so; the disks keep serving', async ({ page }) => {
  await open(page);
  const counters = page.getByRole('table', { name: 'Disk 1 counters' });
  await page.keyboard.press(' ');
  await expect(page.getByTestId('status')).toHaveText('view paused');
  const before = await counters.innerText();
  expect(qemuIo(s.uris[0], 'write 0 64k').code).toBe(0); // served while paused
  await page.waitForTimeout(1200);
  expect(close(await pixel(page, 1, 0), rgb(L.states[0])), 'picture frozen').toBe(true);
  expect(await counters.innerText(), 'counters frozen').toBe(before);
  await page.keyboard.press(' ');
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect.poll(async () => close(await pixel(page, 1, 0), rgb(L.states[3]))).toBe(true);
  await expect(counters).not.toHaveText(before);
});

test("the two pauses say what each pauses: Pause view (Space/P) and the time machine's Freeze / Pause playback / Play", async ({
  page,
}) => {
  await open(page);
  const view = page.locator('.toolbar [data-action=pause]');
  const machine = page.getByTestId('timeline-play');
  // Both used to read "Pause".
  await expect(view).toHaveText('Pause view');
  await expect(view).toHaveAttribute('title', /^Pause the view: .* \(Space \/ P\)$/);
  await expect(machine).toHaveText('Freeze');
  await expect(machine).toHaveAttribute('title', /^Time machine: stop the picture at this instant/);
  const names = await page.getByRole('button', { name: /pause|freeze|resume|play/i }).allInnerTexts();
  expect(new Set(names).size, names.join(', ')).toBe(names.length);
  expect(names.filter((n) => n === 'Pause')).toEqual([]);
  // The keys still pause the view (and only the view: the time machine stays live).
  for (const key of [' ', 'p']) {
    await page.keyboard.press(key);
    await expect(page.getByTestId('status')).toHaveText('view paused');
    await expect(view).toHaveText('Resume view');
    await expect(machine).toHaveText('Freeze');
    await page.keyboard.press(key);
    await expect(page.getByTestId('status')).toHaveText('live');
    await expect(view).toHaveText('Pause view');
  }
  // The time machine's button freezes the picture at an instant; the view is not paused.
  await machine.click();
  await expect(page.getByTestId('status')).toHaveText('time machine: not live (L)');
  await expect(machine).toHaveText('Play');
  await expect(machine).toHaveAccessibleName('Play the recording from here');
  await expect(view).toHaveText('Pause view');
  await machine.click();
  await expect(machine).toHaveText(/^(Pause playback|Freeze)$/); // playing back, or caught up with live
  await page.keyboard.press('l');
  await expect(machine).toHaveText('Freeze');
  await expect(page.getByTestId('status')).toHaveText('live');
});

test('Hold I/O stalls requests in the engine (drawn in flight) until released', async ({ page }) => {
  await open(page);
  await page.keyboard.press('h');
  await expect(page.getByTestId('status')).toHaveText('I/O held');
  await expect(page.getByTestId('disk-2')).toContainText('HELD');
  const writer = spawn('qemu-io', ['-f', 'raw', s.uris[1], '-c', 'write 1M 64k'], { stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => writer.on('exit', r));
  const cell = 256;
  // In flight: tinted, neither untouched nor written; qemu-io still waiting.
  await expect
    .poll(async () => {
      const p = await pixel(page, 2, cell);
      return !close(p, rgb(L.states[0]), 8) && !close(p, rgb(L.states[3]), 8);
    })
    .toBe(true);
  expect(writer.exitCode).toBe(null);
  await page.getByRole('button', { name: 'Release I/O' }).click();
  expect(await exited).toBe(0);
  await expect.poll(async () => close(await pixel(page, 2, cell), rgb(L.states[3]))).toBe(true);
  await expect(page.getByTestId('status')).toHaveText('live');
});

test('rewrites blink and reads of untouched blocks flash visibly', async ({ page }) => {
  await open(page);
  await page.getByRole('slider', { name: 'read flash duration' }).fill('2000');
  expect(qemuIo(s.uris[3], 'write 0 4k').code).toBe(0);
  await expect.poll(async () => close(await pixel(page, 4, 0), rgb(L.states[3]))).toBe(true);
  expect(qemuIo(s.uris[3], 'write 0 4k').code).toBe(0); // a rewrite: same state
  await expect
    .poll(async () => !close(await pixel(page, 4, 0), rgb(L.states[3]), 12), { timeout: 1500, intervals: [20] })
    .toBe(true);
  await expect.poll(async () => close(await pixel(page, 4, 0), rgb(L.states[3]))).toBe(true);
  expect(qemuIo(s.uris[3], 'read 1M 4k').code).toBe(0); // an untouched block
  const untouchedG = rgb(L.states[0])[1];
  await expect
    .poll(async () => (await pixel(page, 4, 256))[1], { timeout: 1500, intervals: [20] })
    .toBeLessThan(untouchedG / 2);
});

test('an idle grid is not redrawn; a fading flash is drawn every frame, or at most fps=N times a second', async ({
  page,
}) => {
  const draws = () => page.evaluate(() => (window as any).__blockscope.draws() as number);
  /** Canvas draws over one second from now, while a 2 s read flash fades on disk 1. */
  const drawsDuringFlash = async (offset: string) => {
    expect(qemuIo(s.uris[0], `read ${offset} 4k`).code).toBe(0);
    await page.waitForTimeout(200);
    const d0 = await draws();
    await page.waitForTimeout(1000);
    return (await draws()) - d0;
  };
  await open(page);
  await page.getByRole('slider', { name: 'read flash duration' }).fill('2000');
  await page.waitForTimeout(2500); // the picture settles: nothing left to fade
  const d0 = await draws();
  await page.waitForTimeout(2000);
  // At most the once-a-second safety redraw (BlockGrid's REDRAW_AT_LEAST_MS), not 120.
  expect((await draws()) - d0, 'canvas draws in 2 s of an idle page').toBeLessThanOrEqual(3);
  const free = await drawsDuringFlash('2M');
  expect(free, 'draws in 1 s of a fading flash at the default 60 fps').toBeGreaterThanOrEqual(20);
  await open(page, 'fps=10');
  await page.getByRole('slider', { name: 'read flash duration' }).fill('2000');
  const capped = await drawsDuringFlash('3M');
  expect(capped, 'draws in 1 s of a fading flash with fps=10').toBeLessThanOrEqual(11);
  expect(capped).toBeGreaterThanOrEqual(5);
});

test('delay sliders: one per operation, log scale up to 10 s, a 2 s delay is shown as 2 s', async ({ page }) => {
  const slow = await serve(['--preset', 'single', '--port', '0', '--ui', '--delay', '2000']);
  try {
    await page.goto(slow.ui);
    const api = slow.api('/api/disks/1');
    const write = page.getByRole('slider', { name: 'Disk 1 write delay' });
    await expect(write).toHaveAttribute('aria-valuetext', '2 s');
    await write.focus();
    await page.keyboard.press('ArrowLeft'); // one small step, not a jump to 500 ms
    await expect
      .poll(async () =>
        parseInt(
          (await (await fetch(api)).json()).filters.find((f: any) => f.name === 'delay').settings['delay-write'],
        ),
      )
      .toBeGreaterThan(1800);
    await page.keyboard.press('End');
    await expect(write).toHaveAttribute('aria-valuetext', '10 s');
    const delay = async () => (await (await fetch(api)).json()).filters.find((f: any) => f.name === 'delay').settings;
    await expect.poll(async () => (await delay())['delay-write']).toBe('10000ms');
    expect((await delay())['delay-trim'], 'the write slider leaves trims alone').toBe('2000ms');
    expect((await delay())['delay-zero']).toBe('2000ms');
    await page.getByRole('slider', { name: 'Disk 1 trim delay' }).focus();
    await page.keyboard.press('Home');
    await expect.poll(async () => (await delay())['delay-trim']).toBe('0ms');
    // A slider set with the mouse keeps the focus: the page's keys still work after it (they
    // did nothing: P, Space, F, T were taken for the slider's).
    const read = page.getByRole('slider', { name: 'Disk 1 read delay' });
    await read.click();
    await expect(read).toBeFocused();
    await page.keyboard.press('p');
    await expect(page.getByTestId('status')).toHaveText('view paused');
    await page.keyboard.press(' ');
    await expect(page.getByTestId('status')).toHaveText('live');
  } finally {
    await slow.stop();
  }
});

test('replay on the time machine: one play/pause, waits for the page, scrubbing to the end, the end button replays', async ({
  page,
}) => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-e2e-'));
  try {
    const log = join(dir, 'log');
    const lines = ['2026-11-23 05:00:00.000000 connection=1 Connect export="" tls=0 size=0x4000000'];
    for (let i = 1; i <= 20; i++) {
      const ts = `2026-11-23 05:00:0${Math.floor(i / 10)}.${String((i % 10) * 100000).padStart(6, '0')}`;
      lines.push(
        `${ts} connection=1 Write id=${i} offset=0x${(i * 4096).toString(16)} count=0x1000 fua=0 ...`,
        `${ts} connection=1 ...Write id=${i} return=0`,
      );
    }
    writeFileSync(log, lines.join('\n') + '\n');
    const r = await serve([log, '--ui', '--speed', '1'], 'replay');
    try {
      // No page yet: nothing has been played (the first write is 0.1 s into the log).
      await new Promise((res) => setTimeout(res, 1000));
      const before = (await (await fetch(r.api('/api/disks'))).json()) as any[];
      expect(before[0].blocks.written).toBe(0);
      await page.goto(r.ui);
      await expect(page.getByRole('group', { name: 'time machine' })).toBeVisible();
      await expect(page.getByTestId('source-1')).toHaveText(log); // it names what it replays
      // Nothing offers what a replay cannot do: no delay sliders, no "no delay filter" either.
      await expect(page.getByTestId('disk-1')).not.toContainText('delay filter');
      await expect(page.getByRole('button', { name: /^(Play|Pause|Replay again)$/ })).toHaveCount(1);
      await expect(page.getByRole('button', { name: 'Replay again' })).toBeVisible({ timeout: 10_000 });
      await expect(page.getByTestId('status')).toHaveText('replay finished');
      // Scrubbing to the start shows the empty disk; to the very end, all 20 writes.
      const written = async () => ((await (await fetch(r.api('/api/disks'))).json()) as any[])[0].blocks.written;
      const box = (await page.getByTestId('scrubber').boundingBox())!;
      await page.mouse.click(box.x + 1, box.y + box.height / 2);
      await expect.poll(written).toBe(0);
      await page.mouse.click(box.x + box.width - 1, box.y + box.height / 2);
      await expect(page.getByTestId('timeline-position')).toContainText('0:02.0 / 0:02.0');
      await expect.poll(written).toBe(20);
      await page.getByRole('button', { name: 'Replay again' }).click();
      await expect(page.getByTestId('status')).toHaveText('replaying');
    } finally {
      await r.stop();
    }
    expect(r.output()).toMatch(/replay starts when a page is connected/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
