// Presentation grade, measured like an outsider would: at 1920×1080 (a projector), 1366×768 and
// 1280×720, from screenshots and the accessibility tree.
import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PALETTES } from '../renderer/grid/palette.ts';
import {
  countColor,
  cutText,
  drawnVisibly,
  gridBlobs,
  gridCoverage,
  hex,
  overflowing,
  shot,
  type Blob,
} from './pixels.ts';
import { qemuIo, requireBinary, serve, type Served } from './serve.ts';

const ART = join(import.meta.dirname, 'artifacts', 'layout');
const VIEWPORTS = [
  { width: 1920, height: 1080 },
  { width: 1366, height: 768 },
  { width: 1280, height: 720 },
];
const L = PALETTES.laptop;

let raid5: Served;
test.beforeAll(async () => {
  requireBinary('qemu-io', 'qemu-utils');
  mkdirSync(ART, { recursive: true });
  raid5 = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
});
test.afterAll(async () => raid5?.stop());

const url = (s: Served, query = '') => s.page(query);

async function open(page: Page, s: Served, query = '', disks = 5) {
  await page.goto(url(s, query));
  await expect(page.locator('section.disk')).toHaveCount(disks);
  await expect(page.getByTestId('status')).toHaveText('live');
  // Start from a clean picture (other tests write to the same disks).
  await page.keyboard.press('c');
  await page.waitForTimeout(300);
}

/** Every control a disk panel offers, by its accessible name. */
function diskControls(page: Page, n: number) {
  return {
    errors: page.getByRole('checkbox', { name: `Disk ${n} errors` }).locator('..'),
    copy: page.getByRole('button', { name: `Copy disk ${n} NBD URI` }),
    read: page.getByRole('slider', { name: `Disk ${n} read delay` }),
    write: page.getByRole('slider', { name: `Disk ${n} write delay` }),
    trim: page.getByRole('slider', { name: `Disk ${n} trim delay` }),
    zero: page.getByRole('slider', { name: `Disk ${n} zero delay` }),
    counters: page.getByRole('table', { name: `Disk ${n} counters` }),
    clear: page.getByRole('button', { name: `Clear disk ${n}` }),
    reset: page.getByRole('button', { name: `Reset disk ${n}` }),
  };
}

/**
 * Controls (in `selector`) that a mouse cannot reach: outside the viewport, clipped by a box
 * around them, or covered (what is drawn at the control's centre is not the control). Empty
 * when every one can be clicked.
 */
async function unreachable(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const bad: string[] = [];
    for (const e of document.querySelectorAll<HTMLElement>(sel)) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not rendered (display: none)
      const name = e.getAttribute('aria-label') || e.textContent?.trim() || e.tagName;
      const box = `[${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}]`;
      if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
        bad.push(`${name} ${box} is outside the ${innerWidth}×${innerHeight} viewport`);
      else {
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        // A control's own label (the <label> around an input) counts as the control.
        if (!hit || !(e.contains(hit) || hit.contains(e)))
          bad.push(`${name} ${box} is covered by ${hit ? hit.tagName + '.' + hit.className : 'nothing'}`);
      }
    }
    return bad;
  }, selector);
}

/** Controls, bars and the time machine strip that the element `over` (a toast) is drawn over. */
async function coveredBy(page: Page, over: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const t = document.querySelector(sel)!.getBoundingClientRect();
    const hit: string[] = [];
    if (t.width === 0) return ['(nothing shown)'];
    const under = 'button, select, input, label, a, [role=slider], .toolbar, .timeline, .footer, .connection-banner';
    for (const e of document.querySelectorAll(under)) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < t.right && t.left < r.right && r.top < t.bottom && t.top < r.bottom)
        hit.push(`${e.tagName.toLowerCase()}.${e.className} "${(e.textContent ?? '').trim().slice(0, 30)}"`);
    }
    return hit;
  }, over);
}

/** Rectangles of `selector`'s elements, in page order. */
async function boxes(page: Page, selector: string) {
  return page.locator(selector).evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    }),
  );
}

for (const vp of VIEWPORTS) {
  test.describe(`${vp.width}×${vp.height}`, () => {
    test.use({ viewport: vp });

    test('RAID 5: every disk control is drawn and usable in every palette, and after switching back', async ({
      page,
    }) => {
      await open(page, raid5);
      for (const palette of ['laptop', 'projector', 'cvd', 'laptop'] as const) {
        await page.getByRole('combobox', { name: 'palette' }).selectOption(palette);
        await page.waitForTimeout(300);
        const s = await shot(page, join(ART, `${vp.width}-palette-${palette}.png`));
        for (let n = 1; n <= 5; n++) {
          for (const [what, l] of Object.entries(diskControls(page, n)))
            expect(await drawnVisibly(s, l), `${palette}: disk ${n} ${what} drawn`).toBe(true);
        }
        // The panels' own background shows around the grids (the canvas is not covering them).
        expect(countColor(s, hex(PALETTES[palette].states[0]))).toBeGreaterThan(1000);
      }
      // A click on a control does what it shows.
      const box = page.getByRole('checkbox', { name: 'Disk 2 errors' });
      await box.check();
      await expect(box).toBeChecked();
      await expect(page.getByTestId('disk-2')).toContainText('FAILED');
      await box.uncheck();
    });

    test('RAID 5 in presentation mode: the grids cover at least 60 % of the screen', async ({ page }) => {
      await open(page, raid5, '?present=1');
      await expect(page.getByRole('button', { name: 'Exit presentation' })).toBeVisible();
      await page.waitForTimeout(300);
      const s = await shot(page, join(ART, `${vp.width}-present.png`));
      const covered = countColor(s, hex(L.states[0]), 2) / (s.width * s.height);
      console.log(`${vp.width}×${vp.height}: grids cover ${(covered * 100).toFixed(1)} % in presentation mode`);
      expect(covered).toBeGreaterThanOrEqual(0.6);
    });

    test('presentation mode: every disk has its Error toggle, large, and a click fails the disk', async ({ page }) => {
      await open(page, raid5, '?present=1');
      for (let n = 1; n <= 5; n++) {
        const toggle = page.getByRole('checkbox', { name: `Disk ${n} errors` });
        await expect(toggle).toBeVisible();
        // In the disk's title row, readable from the back of the room.
        const size = await toggle.locator('..').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
        expect(size, `disk ${n} toggle font`).toBeGreaterThanOrEqual(18);
      }
      expect(await unreachable(page, 'section.disk input[type=checkbox]')).toEqual([]);
      const toggle = page.getByRole('checkbox', { name: 'Disk 3 errors' });
      await toggle.click();
      await expect(toggle).toBeChecked();
      await expect(page.getByTestId('disk-3')).toContainText('FAILED');
      const engine = async () =>
        ((await (await fetch(raid5.api('/api/disks'))).json()) as Array<{ errorsOn: boolean }>)[2].errorsOn;
      await expect.poll(engine).toBe(true);
      await shot(page, join(ART, `${vp.width}-present-failed.png`));
      expect(await overflowing(page, 'section.disk')).toEqual([]);
      await toggle.click();
      await expect.poll(engine).toBe(false);
    });

    test('presentation mode: the time machine strip and the scale are large, the strip one row', async ({ page }) => {
      await open(page, raid5, '?present=1');
      const sizes = await page
        .locator('[data-testid=timeline] :is(button, select, label, [data-testid=timeline-position])')
        .evaluateAll((els) =>
          els
            .filter((e) => e.getBoundingClientRect().width > 0)
            .map((e) => [e.textContent?.trim().slice(0, 20), parseFloat(getComputedStyle(e).fontSize)] as const),
        );
      expect(sizes.length).toBeGreaterThan(5);
      for (const [what, px] of sizes) expect(px, `time machine "${what}"`).toBeGreaterThanOrEqual(18);
      // The scale is large where it is shown (narrow panels leave it out rather than cut it).
      for (const px of await page
        .locator('.scale-inline')
        .evaluateAll((els) =>
          els.filter((e) => e.getBoundingClientRect().width > 0).map((e) => parseFloat(getComputedStyle(e).fontSize)),
        ))
        expect(px, 'scale').toBeGreaterThanOrEqual(18);
      if (vp.width >= 1920) await expect(page.locator('.scale-inline').first()).toBeVisible();
      // One row: the grids keep their room.
      const [row] = await boxes(page, '.timeline-controls');
      expect(row.bottom - row.top).toBeLessThan(50);
      expect(await overflowing(page, '.timeline, section.disk')).toEqual([]);
    });

    test('a toast covers no control and not the time machine strip, normal and presentation mode', async ({ page }) => {
      await open(page, raid5);
      const toast = page.getByTestId('announce');
      for (const mode of ['normal', 'presentation'] as const) {
        if (mode === 'presentation') {
          await page.keyboard.press('f');
          await expect(toast).toHaveText('Presentation mode');
          expect(await coveredBy(page, '[data-testid=announce]'), `${mode}: "Presentation mode"`).toEqual([]);
        }
        await page.keyboard.press('c');
        await expect(toast).toHaveText('Pictures cleared');
        await page.waitForTimeout(300); // the layout after the mode change
        expect(await coveredBy(page, '[data-testid=announce]'), `${mode}: "Pictures cleared"`).toEqual([]);
        await shot(page, join(ART, `${vp.width}-toast-${mode}.png`));
      }
      await page.keyboard.press('f');
    });

    test('no element overflows its panel: toolbar, disks, footer; normal and presentation mode', async ({ page }) => {
      await open(page, raid5);
      // Busy counters: the widest numbers the panels will show.
      for (const u of raid5.uris) expect(qemuIo(u, 'write 0 16M', 'read 0 8M', 'discard 16M 4M').code).toBe(0);
      await page.waitForTimeout(1200);
      expect(await overflowing(page, '.toolbar, section.disk, .footer')).toEqual([]);
      await page.keyboard.press('f');
      await page.waitForTimeout(400);
      expect(await overflowing(page, '.toolbar, section.disk, .footer')).toEqual([]);
    });
  });
}

// The side panels beside the grids: Structure and Plots together share the height (the plots
// began below the fold at 1280×720), and the time machine strip keeps the window's width (a side
// panel squeezed it onto two rows at 1280×720).
let withFs: Served | undefined;
test.afterAll(async () => withFs?.stop());
for (const vp of [VIEWPORTS[0], VIEWPORTS[2]]) {
  test(`${vp.width}×${vp.height}: Structure and Plots open together both show; the strips stay one row`, async ({
    page,
  }) => {
    if (!withFs) {
      // RAID 5's disks with an ext4 on disk 3: a Structure list as long as a real one.
      requireBinary('nbdcopy', 'libnbd-bin');
      requireBinary('mke2fs', 'e2fsprogs');
      const img = join(mkdtempSync(join(tmpdir(), 'layout-side-')), 'fs.img');
      for (const [cmd, args] of [
        ['truncate', ['-s', '60M', img]],
        ['mke2fs', ['-q', '-F', '-t', 'ext4', img]],
      ] as const)
        expect(spawnSync(cmd, args).status, cmd).toBe(0);
      withFs = await serve(['--preset', 'raid5', '--port', '0', '--ui', '--delay', '0']);
      expect(spawnSync('nbdcopy', [img, withFs.uris[2]]).status, 'nbdcopy').toBe(0);
      rmSync(dirname(img), { recursive: true, force: true });
    }
    await page.setViewportSize(vp);
    await open(page, withFs, '?palette=projector');
    expect(qemuIo(withFs.uris[0], 'write 0 4M', 'read 0 1M').code).toBe(0);
    for (const [keys, what] of [
      [['g'], 'plots'],
      [['s'], 'structure and plots'],
      [['g'], 'structure'],
    ] as const) {
      for (const k of keys) await page.keyboard.press(k);
      await page.waitForTimeout(600);
      const where = `${vp.width}×${vp.height}, ${what}`;
      if (what !== 'structure') {
        // The first chart is whole and on screen.
        await expect(page.getByTestId('plot-throughput').locator('canvas')).toBeVisible();
        const [chart] = await boxes(page, '[data-testid=plot-throughput]');
        expect(chart.bottom, `${where}: the first plot above the fold`).toBeLessThanOrEqual(vp.height);
        expect(chart.top, where).toBeGreaterThanOrEqual(0);
      }
      if (what !== 'plots') {
        // The Structure panel's search and the first rows of its list are on screen too.
        const [search] = await boxes(page, '.structure-filter');
        expect(search.bottom, `${where}: the structure search`).toBeLessThanOrEqual(vp.height);
        expect(await unreachable(page, '.structure-filter'), where).toEqual([]);
      }
      // One row each: the toolbar, the time machine strip (everything in it level with Plots:
      // its recording state went onto a second line of its own).
      const [toolbar] = await boxes(page, '.toolbar');
      expect(toolbar.bottom - toolbar.top, `${where}: toolbar rows`).toBeLessThan(50);
      const level = await page.locator('.timeline-controls > *').evaluateAll((els) => {
        const mid = (e: Element) => (e.getBoundingClientRect().top + e.getBoundingClientRect().bottom) / 2;
        const plots = els.find((e) => e.textContent === 'Plots')!;
        return els
          .filter((e) => e.getBoundingClientRect().height > 0 && Math.abs(mid(e) - mid(plots)) > 6)
          .map((e) => e.textContent?.trim().slice(0, 30));
      });
      expect(level, `${where}: time machine on one row`).toEqual([]);
      expect(await unreachable(page, '[data-testid=timeline] :is(button, select, canvas)'), where).toEqual([]);
      // The disks stay beside the panels, none under them, none overlapping.
      const [side] = await boxes(page, '.side-region');
      for (const p of await boxes(page, 'section.disk')) expect(p.right, where).toBeLessThanOrEqual(side.left);
      expect(await overflowing(page, '.toolbar, section.disk, .footer'), where).toEqual([]);
      await shot(page, join(ART, `${vp.width}-side-${what.replaceAll(' ', '-')}.png`));
    }
    await page.keyboard.press('s');
  });
}

test.describe('1920×1080 projector', () => {
  test.use({ viewport: { width: 1920, height: 1080 } });

  test('presentation mode: one 4 KiB write is at least 4×4 screen pixels', async ({ page }) => {
    await open(page, raid5, '?present=1');
    expect(qemuIo(raid5.uris[1], 'write 8M 4k').code).toBe(0);
    let red: Blob[] = [];
    await expect
      .poll(
        async () => {
          red = await gridBlobs(page, hex(L.states[3]), join(ART, '1920-present-one-block.png'));
          return red.length;
        },
        { timeout: 30_000 },
      )
      .toBe(1);
    const [b] = red;
    console.log(`one 4 KiB block: ${b.w}×${b.h} px`);
    expect(b.w).toBeGreaterThanOrEqual(4);
    expect(b.h).toBeGreaterThanOrEqual(4);
    expect(b.pixels).toBeGreaterThanOrEqual(16);
  });

  test('presentation mode: the tooltip is set large enough to be read from the back of the room', async ({ page }) => {
    await open(page, raid5, '?present=1&palette=projector');
    const g = (await page.evaluate('window.__blockscope.gridRect(2)')) as { x: number; y: number; w: number };
    await page.mouse.move(g.x + g.w / 2, g.y + 20);
    const tip = page.getByRole('tooltip');
    await expect(tip).toContainText('disk 2 · block');
    // It was the laptop's 12 px: the presenter pointed at a block and the room could not read it.
    expect(parseFloat(await tip.evaluate((e) => getComputedStyle(e).fontSize))).toBeGreaterThanOrEqual(18);
    const t = (await tip.boundingBox())!;
    expect(t.x + t.width).toBeLessThanOrEqual(1920);
    expect(t.y + t.height).toBeLessThanOrEqual(1080);
  });
});

/** WCAG contrast of an element's text against the first opaque background behind it. */
const textContrast = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((els) =>
    els.map((e) => {
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
      const lum = (c: number[]) => {
        const [r, g, b] = c.slice(0, 3).map((v) => {
          const x = v / 255;
          return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      let bg: number[] = [];
      for (let n: Element | null = e; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length === 3 || c[3] > 0.9) {
          bg = c;
          break;
        }
      }
      const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(bg)].sort((x, y) => y - x);
      const name = e.getAttribute('aria-label') ?? e.textContent;
      return `${name}: ${((a + 0.05) / (b + 0.05)).toFixed(1)}`;
    }),
  );

test('typed text and links are legible in every palette: the structure search, the WebM fields, Save recording', async ({
  page,
}) => {
  for (const palette of ['laptop', 'projector', 'cvd']) {
    await open(page, raid5, `?palette=${palette}`);
    await page.getByRole('button', { name: 'Export…' }).click();
    await page.getByRole('button', { name: 'Structure' }).click();
    await page.getByRole('searchbox', { name: 'find a file or region' }).fill('superblock');
    await page.getByRole('textbox', { name: 'WebM from (session seconds)' }).fill('1.5');
    await expect(page.getByRole('link', { name: 'Save recording…' })).toBeVisible();
    // White on the browser's white field (about 1.2:1) and its link blue on the dark strip (2:1)
    // before; WCAG AA asks 4.5:1 of text.
    const fields = await textContrast(page, '.structure-filter, .timeline-export input, .timeline-export a');
    expect(fields).toHaveLength(5);
    for (const f of fields) expect(Number(f.split(': ').pop()), `${palette}: ${f}`).toBeGreaterThanOrEqual(4.5);
  }
});

// Browser zoom is a smaller viewport in CSS pixels: 200 % of 1280×720 is 640×360.
const ZOOMED = [
  { what: '1280×720 at 200 %', width: 640, height: 360 },
  { what: '1280×720 at 150 %', width: 853, height: 480 },
  { what: '1920×1080 at 200 %', width: 960, height: 540 },
  { what: '1024×768', width: 1024, height: 768 },
  { what: '800×600', width: 800, height: 600 },
];

test('browser zoom 150–200 % and small windows: every control can be clicked, nothing overlaps', async ({ page }) => {
  await page.setViewportSize(ZOOMED[0]);
  await open(page, raid5);
  for (const mode of ['normal', 'presentation'] as const) {
    if (mode === 'presentation') await page.keyboard.press('f');
    for (const vp of ZOOMED) {
      await page.setViewportSize(vp);
      await page.waitForTimeout(400);
      const where = `${vp.what}, ${mode}`;
      const [toolbar] = await boxes(page, '.toolbar');
      await expect(
        page.getByRole('button', { name: mode === 'normal' ? 'Present' : 'Exit presentation' }),
      ).toBeVisible();
      expect(await unreachable(page, '.toolbar :is(button, select, input)'), where).toEqual([]);
      expect(await unreachable(page, '[data-testid=timeline] :is(button, select, canvas)'), where).toEqual([]);
      expect(await unreachable(page, 'section.disk input[type=checkbox]'), where).toEqual([]);
      // The toolbar and the time machine stay one row each (what does not fit is in their More
      // menus), and every legend entry is whole and on screen.
      expect(toolbar.bottom - toolbar.top, `${where}: toolbar rows`).toBeLessThan(50);
      const [controls] = await boxes(page, '.timeline-controls');
      expect(controls.bottom - controls.top, `${where}: time machine rows`).toBeLessThan(50);
      expect(await overflowing(page, '.footer'), where).toEqual([]);
      expect(await unreachable(page, '.legend li'), where).toEqual([]);
      // The position text is beside or above the scrubber, never drawn over it.
      const [pos] = await boxes(page, '[data-testid=timeline-position]');
      const [scrub] = await boxes(page, '[data-testid=scrubber]');
      const apart =
        pos.right <= scrub.left + 1 ||
        scrub.right <= pos.left + 1 ||
        pos.bottom <= scrub.top + 1 ||
        scrub.bottom <= pos.top + 1;
      expect(apart, `${where}: position text ${JSON.stringify(pos)} over the scrubber ${JSON.stringify(scrub)}`).toBe(
        true,
      );
      // The grids get what is left between the (taller) toolbar and the time machine.
      const [timeline] = await boxes(page, '[data-testid=timeline]');
      const panels = await boxes(page, 'section.disk');
      expect(panels).toHaveLength(5);
      for (const [i, p] of panels.entries()) {
        expect(p.top, `${where}: disk ${i + 1} under the toolbar`).toBeGreaterThanOrEqual(toolbar.bottom);
        expect(p.bottom, `${where}: disk ${i + 1} above the time machine`).toBeLessThanOrEqual(timeline.top);
        expect(p.right, `${where}: disk ${i + 1} on screen`).toBeLessThanOrEqual(vp.width);
        for (const q of panels.slice(i + 1))
          expect(
            p.right <= q.left || q.right <= p.left || p.bottom <= q.top || q.bottom <= p.top,
            `${where}: disks overlap`,
          ).toBe(true);
      }
      // Each disk's name is whole.
      for (const n of await page.locator('section.disk .disk-name').allInnerTexts()) expect(n).toMatch(/^Disk \d+$/);
      expect(
        await page
          .locator('section.disk .disk-title')
          .evaluateAll(
            (els) =>
              els.filter(
                (e) =>
                  e.querySelector('.disk-name')!.getBoundingClientRect().right > e.getBoundingClientRect().right + 1,
              ).length,
          ),
        `${where}: a disk name cut`,
      ).toBe(0);
      await shot(page, join(ART, `zoom-${vp.width}x${vp.height}-${mode}.png`));
    }
  }
});

test('no text in a disk panel is cut short (640×360, 1280×720, 1920×1080; normal and presentation mode)', async ({
  page,
}) => {
  await page.setViewportSize(ZOOMED[0]);
  await open(page, raid5);
  // Busy counters: the widest numbers the panels will show.
  for (const u of raid5.uris) expect(qemuIo(u, 'write 0 16M', 'read 0 8M', 'discard 16M 4M').code).toBe(0);
  for (const mode of ['normal', 'presentation'] as const) {
    if (mode === 'presentation') await page.keyboard.press('f');
    for (const vp of [ZOOMED[0], ...VIEWPORTS.filter((v) => v.width !== 1366)]) {
      await page.setViewportSize(vp);
      await page.waitForTimeout(1000);
      expect(await cutText(page, 'section.disk'), `${vp.width}×${vp.height} ${mode}`).toEqual([]);
      expect(await overflowing(page, 'section.disk'), `${vp.width}×${vp.height} ${mode}`).toEqual([]);
    }
  }
  await page.keyboard.press('f');
});

test('at 200 % zoom (640×360) the grids get a fair share, and the More menus reach what gave way', async ({ page }) => {
  await page.setViewportSize(ZOOMED[0]);
  await open(page, raid5);
  // Measured before the More menus: 3 % (a toolbar and a time machine of two rows each left
  // the panels 8 px for their grids), 16 % in presentation mode; 25 % in presentation mode with
  // the disks in two rows of three, 43 % in one row.
  for (const [mode, least] of [
    ['normal', 0.25],
    ['presentation', 0.4],
  ] as const) {
    if (mode === 'presentation') await page.keyboard.press('f');
    await page.waitForTimeout(400);
    const covered = await gridCoverage(page);
    console.log(`640×360 ${mode}: the grids cover ${(covered * 100).toFixed(1)} %`);
    expect(covered, mode).toBeGreaterThanOrEqual(least);
  }
  await page.keyboard.press('f');
  for (const [more, inside] of [
    ['More controls', ['Commands', 'Structure', 'palette', 'read flash duration', 'Keyboard shortcuts']],
    ['More time machine controls', ['Step', 'Next burst', 'speed']],
  ] as const) {
    const button = page.getByRole('button', { name: more });
    await button.click();
    await expect(button).toHaveAttribute('aria-expanded', 'true');
    const menu = page.getByRole('group', { name: more });
    for (const name of inside) await expect(menu.getByLabel(name).or(menu.getByRole('button', { name }))).toBeVisible();
    expect(await unreachable(page, '.overflow-menu :is(button, select, input)'), more).toEqual([]);
    await shot(page, join(ART, `zoom-640-${more.replaceAll(' ', '-')}.png`));
    // Escape closes it and gives the focus back to its button (the keyboard path goes on from there).
    await menu.locator('button, select, input').first().focus();
    await page.keyboard.press('Escape');
    await expect(menu).toHaveCount(0);
    await expect(button).toBeFocused();
  }
  // What is in a menu works from there.
  await page.getByRole('button', { name: 'More controls' }).click();
  await page
    .getByRole('group', { name: 'More controls' })
    .getByRole('combobox', { name: 'palette' })
    .selectOption('projector');
  await expect(page.locator('.app')).toHaveClass(/palette-projector/);
  await page.mouse.click(320, 200);
  await expect(page.getByRole('group', { name: 'More controls' })).toHaveCount(0);
  await page.getByRole('button', { name: 'More controls' }).click();
  await page
    .getByRole('group', { name: 'More controls' })
    .getByRole('combobox', { name: 'palette' })
    .selectOption('laptop');
});

test.describe('1280×720 laptop', () => {
  test.use({ viewport: { width: 1280, height: 720 } });

  test("a label's control reads as enabled and stands apart from its word; normal and presentation mode", async ({
    page,
  }) => {
    await open(page, raid5);
    for (const mode of ['normal', 'presentation'] as const) {
      if (mode === 'presentation') await page.keyboard.press('f');
      await page.waitForTimeout(300);
      // A select's value in the muted colour of its label looked disabled ("Palette Laptop").
      const muted = await page.locator('.toolbar').evaluate((bar) => {
        const text = getComputedStyle(document.body).color;
        return [...bar.querySelectorAll<HTMLElement>('label :is(select, input[type=number])')]
          .filter((e) => !(e as HTMLInputElement).disabled && getComputedStyle(e).color !== text)
          .map((e) => `${e.getAttribute('aria-label') ?? e.textContent}: ${getComputedStyle(e).color}, not ${text}`);
      });
      expect(muted, `${mode}: a control in its label's muted colour`).toEqual([]);
      // "speed" ended where its select began.
      const gap = await page.getByRole('combobox', { name: 'speed', exact: true }).evaluate((select) => {
        const range = document.createRange();
        range.selectNodeContents(select.parentElement!.firstChild!);
        return select.getBoundingClientRect().left - range.getBoundingClientRect().right;
      });
      expect(gap, `${mode}: between "speed" and its select`).toBeGreaterThanOrEqual(3);
    }
    await page.keyboard.press('f');
    // The export row's fields too: "WebM from" ran into its field, "to" and "at" as well.
    await page.getByRole('button', { name: 'Export…' }).click();
    const gaps = await page.locator('.timeline-export label').evaluateAll((labels) =>
      labels.map((l) => {
        const range = document.createRange();
        range.selectNodeContents(l.firstChild!);
        return `${l.firstChild!.textContent}: ${l.querySelector('input')!.getBoundingClientRect().left - range.getBoundingClientRect().right}`;
      }),
    );
    expect(gaps).toHaveLength(3);
    for (const g of gaps) expect(Number(g.split(': ')[1]), g).toBeGreaterThanOrEqual(3);
  });

  test('a 1 GiB disk: every written block is visible (or the merge factor is said)', async ({ page }) => {
    const big = await serve(['--size', '1G', '--port', '0', '--ui']);
    try {
      await page.goto(big.ui);
      await expect(page.locator('section.disk')).toHaveCount(1);
      // 24 single blocks far apart (37 MiB + 4 KiB steps: different rows, never one texel).
      const offsets = Array.from({ length: 24 }, (_, i) => i * (37 * 1024 * 1024 + 4096));
      expect(qemuIo(big.uris[0], ...offsets.map((o) => `write ${o} 4k`)).code).toBe(0);
      await expect.poll(async () => (await gridBlobs(page, hex(L.states[3]))).length, { timeout: 30_000 }).toBe(24);
      await shot(page, join(ART, '1280-1GiB.png'));
      const scale = await page.getByTestId('disk-1').locator('.scale').innerText();
      expect(scale).toMatch(/= 4 KiB( ·|$)|blocks/); // one block a square, or the merge said
    } finally {
      await big.stop();
    }
  });

  test('16 disks: every disk size is shown whole, not cut to "6…"', async ({ page }) => {
    const sixteen = await serve(['--disks', '16', '--size', '64M', '--port', '0', '--ui', '--filter=error']);
    try {
      await page.goto(sixteen.ui);
      await expect(page.locator('section.disk')).toHaveCount(16);
      await expect(page.locator('section.disk.density-compact')).toHaveCount(16);
      for (let n = 1; n <= 16; n++) {
        const size = page.getByTestId(`disk-${n}`).getByText('64 MiB', { exact: true });
        await expect(size).toBeVisible();
        const [scroll, client] = await size.evaluate((e) => [e.scrollWidth, e.clientWidth]);
        expect(scroll, `disk ${n} size cut`).toBeLessThanOrEqual(client);
        // and nothing around it clips it
        expect(await overflowing(page, `[data-testid=disk-${n}]`)).toEqual([]);
      }
      await page.getByRole('checkbox', { name: 'Disk 12 errors' }).check();
      await expect(page.getByTestId('disk-12')).toContainText('FAILED');
      expect(await unreachable(page, 'section.disk :is(input, button)')).toEqual([]);
      await shot(page, join(ART, '1280-16disks.png'));
    } finally {
      await sixteen.stop();
    }
  });

  test('8 disks of 1 GiB: compact chrome, nothing overflows, merging is said, written blocks show', async ({
    page,
  }) => {
    const eight = await serve([
      '--disks',
      '8',
      '--size',
      '1G',
      '--port',
      '0',
      '--ui',
      '--filter=delay',
      'rdelay=0',
      'wdelay=0',
    ]);
    try {
      await page.goto(eight.ui);
      await expect(page.locator('section.disk')).toHaveCount(8);
      expect(await overflowing(page, '.toolbar, section.disk, .footer')).toEqual([]);
      for (let n = 1; n <= 8; n++) {
        await expect(page.getByRole('checkbox', { name: `Disk ${n} errors` })).toBeVisible();
        // The merge, as shown (not in hidden text): a square of more than one 4 KiB block, and the
        // block count where the panel has room for it.
        await expect(page.getByTestId(`disk-${n}`).locator('.scale')).toContainText(/■ = (?!4 KiB)\d+ [KMG]iB/, {
          useInnerText: true,
        });
      }
      expect(qemuIo(eight.uris[6], 'write 0 4k', 'write 512M 4k', 'write 1020M 4k').code).toBe(0);
      await expect.poll(async () => (await gridBlobs(page, hex(L.states[3]))).length, { timeout: 30_000 }).toBe(3);
      // The hidden controls are one click away, with unique names.
      await page.getByRole('button', { name: 'Disk 7 details' }).click();
      const details = page.getByRole('dialog', { name: 'Disk 7 details' });
      await expect(details.getByRole('slider', { name: 'Disk 7 write delay' })).toBeVisible();
      await expect(details.getByRole('table', { name: 'Disk 7 counters' })).toContainText('write');
      await shot(page, join(ART, '1280-8disks-details.png'));
    } finally {
      await eight.stop();
    }
  });
});

// Laptop widths between the More menu's breakpoint (1100 px) and 1280: the toolbar wrapped onto
// two rows from 1101 to about 1230 px (1152 and 1200 are common laptop widths), and at 1280 too
// once paused and held ("Resume view", "Release I/O"), pushing every grid down. Swept in both
// presenter palettes, normal and presentation mode, with the short labels and the long ones.
// The height does not change the toolbar: 1080 only where a laptop or a projector has it.
const SWEEP = [
  ...[1100, 1101, 1152, 1180, 1200, 1230, 1280, 1340, 1341, 1366, 1600, 1920].map((width) => ({ width, height: 720 })),
  ...[1152, 1230, 1920].map((width) => ({ width, height: 1080 })),
];

/** The toolbar's height and its rows: the tops of its visible controls (one row: one top, ±3 px). */
async function toolbarRows(page: Page) {
  return page.locator('.toolbar').evaluate((bar) => {
    const rows = new Map<number, string[]>();
    for (const e of bar.querySelectorAll<HTMLElement>('.brand, button, select, input')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || e.closest('.overflow-menu')) continue;
      const mid = (r.top + r.bottom) / 2;
      const row = [...rows.keys()].find((m) => Math.abs(m - mid) <= 3) ?? mid;
      rows.set(row, [...(rows.get(row) ?? []), e.getAttribute('aria-label') ?? e.textContent!.trim().slice(0, 20)]);
    }
    return {
      height: Math.round(bar.getBoundingClientRect().height),
      rows: [...rows.entries()].map(([mid, names]) => `y ${Math.round(mid)}: ${names.join(', ')}`),
    };
  });
}

test('the toolbar is one row and nothing overflows at every width from 1100 to 1920 px', async ({ page }) => {
  const shots = process.env.TOOLBAR_SHOTS; // before/after pictures at 1152×720, where asked for
  const failures: string[] = [];
  await page.setViewportSize(SWEEP[0]);
  for (const palette of ['laptop', 'projector'] as const) {
    await open(page, raid5, `?palette=${palette}`);
    for (const mode of ['normal', 'presentation'] as const) {
      if (mode === 'presentation') await page.keyboard.press('f');
      // Short labels ("Pause view", "Hold I/O"), then the long ones ("Resume view", "Release I/O").
      for (const labels of ['short', 'long'] as const) {
        if (labels === 'long') {
          await page.keyboard.press('p');
          await page.keyboard.press('h');
          await expect(page.getByRole('button', { name: 'Release I/O' })).toBeVisible();
        }
        for (const vp of SWEEP) {
          await page.setViewportSize(vp);
          await page.waitForTimeout(100);
          const where = `${vp.width}×${vp.height} ${palette} ${mode} ${labels} labels`;
          const { height, rows } = await toolbarRows(page);
          if (rows.length !== 1 || height >= 50)
            failures.push(`${where}: toolbar ${height} px high, ${rows.join(' | ')}`);
          for (const o of await overflowing(page, '.toolbar')) failures.push(`${where}: ${o}`);
          const wide = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
          if (wide > 0) failures.push(`${where}: the page is ${wide} px wider than the window`);
          expect(await unreachable(page, '.toolbar :is(button, select, input)'), where).toEqual([]);
          if (shots && vp.width === 1152 && vp.height === 720)
            await shot(page, join(shots, `1152x720-${palette}-${mode}-${labels}.png`));
        }
        if (labels === 'long') {
          await page.keyboard.press('h');
          await page.keyboard.press('p');
          await expect(page.getByRole('button', { name: 'Hold I/O' })).toBeVisible();
        }
      }
      if (mode === 'presentation') await page.keyboard.press('f');
    }
  }
  expect(failures).toEqual([]);
});
