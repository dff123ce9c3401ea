// What the screen shows, measured from screenshots (PNG decoded in Node): colour counts and
// blobs of one colour. The e2e specs assert on these and on the accessibility tree, never on
// the UI's internal state.
import { expect, type Locator, type Page } from '@playwright/test';
import { PNG } from 'pngjs';

export type Rgb = [number, number, number];

export interface Shot {
  width: number;
  height: number;
  data: Buffer;
}

export async function shot(page: Page, path?: string): Promise<Shot> {
  const png = PNG.sync.read(await page.screenshot({ path }));
  return { width: png.width, height: png.height, data: png.data };
}

export function hex(h: string): Rgb {
  const v = parseInt(h.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

const near = (s: Shot, i: number, c: Rgb, tol: number) =>
  Math.abs(s.data[i] - c[0]) <= tol && Math.abs(s.data[i + 1] - c[1]) <= tol && Math.abs(s.data[i + 2] - c[2]) <= tol;

/** Pixels of colour `c` (± tol per channel), optionally inside a rectangle. */
export function countColor(
  s: Shot,
  c: Rgb,
  tol = 2,
  r: { x: number; y: number; w: number; h: number } = { x: 0, y: 0, w: s.width, h: s.height },
): number {
  let n = 0;
  const x1 = Math.min(s.width, Math.ceil(r.x + r.w));
  const y1 = Math.min(s.height, Math.ceil(r.y + r.h));
  for (let y = Math.max(0, Math.floor(r.y)); y < y1; y++)
    for (let x = Math.max(0, Math.floor(r.x)); x < x1; x++) if (near(s, (y * s.width + x) * 4, c, tol)) n++;
  return n;
}

export interface Blob {
  x: number;
  y: number;
  w: number;
  h: number;
  pixels: number;
}

/** A rectangle of the screenshot (e.g. one grid, so UI swatches of the same colour do not count). */
export function crop(s: Shot, r: { x: number; y: number; w: number; h: number }): Shot {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const w = Math.min(s.width - x0, Math.ceil(r.w));
  const h = Math.min(s.height - y0, Math.ceil(r.h));
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    s.data.copy(data, y * w * 4, ((y0 + y) * s.width + x0) * 4, ((y0 + y) * s.width + x0 + w) * 4);
  return { width: w, height: h, data };
}

/** The drawing areas of the disks' grids, from the accessibility tree (role application). */
export async function gridBoxes(page: Page): Promise<Array<{ x: number; y: number; w: number; h: number }>> {
  const out = [];
  for (const g of await page.getByRole('application', { name: /^Disk \d+ grid/ }).all()) {
    const b = (await g.boundingBox())!;
    out.push({ x: b.x, y: b.y, w: b.width, h: b.height });
  }
  return out;
}

/** Blobs of colour `c` inside the disks' grids only. */
export async function gridBlobs(page: Page, c: Rgb, path?: string): Promise<Blob[]> {
  const s = await shot(page, path);
  return (await gridBoxes(page)).flatMap((r) => blobs(crop(s, r), c));
}

/** Connected regions (4-neighbour) of colour `c`. */
export function blobs(s: Shot, c: Rgb, tol = 2): Blob[] {
  const seen = new Uint8Array(s.width * s.height);
  const out: Blob[] = [];
  for (let start = 0; start < seen.length; start++) {
    if (seen[start] || !near(s, start * 4, c, tol)) continue;
    const stack = [start];
    seen[start] = 1;
    let [x0, y0, x1, y1, n] = [Infinity, Infinity, -1, -1, 0];
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % s.width;
      const y = Math.floor(p / s.width);
      n++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      for (const q of [p - 1, p + 1, p - s.width, p + s.width]) {
        if (q < 0 || q >= seen.length || seen[q]) continue;
        if (Math.abs((q % s.width) - x) > 1) continue;
        if (!near(s, q * 4, c, tol)) continue;
        seen[q] = 1;
        stack.push(q);
      }
    }
    out.push({ x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1, pixels: n });
  }
  return out;
}

/** How many distinct colours a region of the screenshot has (a covered control has one). */
export function distinctColors(s: Shot, r: { x: number; y: number; w: number; h: number }): number {
  const set = new Set<number>();
  for (let y = Math.max(0, Math.floor(r.y)); y < Math.min(s.height, r.y + r.h); y++)
    for (let x = Math.max(0, Math.floor(r.x)); x < Math.min(s.width, r.x + r.w); x++) {
      const i = (y * s.width + x) * 4;
      set.add((s.data[i] << 16) | (s.data[i + 1] << 8) | s.data[i + 2]);
    }
  return set.size;
}

/** A control is really visible: in the accessibility tree, laid out, and drawn (not covered). */
export async function drawnVisibly(s: Shot, l: Locator): Promise<boolean> {
  if (!(await l.isVisible())) return false;
  const b = await l.boundingBox();
  if (!b || b.width < 4 || b.height < 4) return false;
  return distinctColors(s, { x: b.x, y: b.y, w: b.width, h: b.height }) >= 3;
}

/**
 * Elements that stick out of the box that clips them (their nearest ancestor with overflow
 * other than visible, up to `root`), or roots whose content is larger than they are. Empty when
 * nothing overflows. Text cut with an ellipsis stays inside its box and is not counted.
 */
export async function overflowing(page: Page, rootSelector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const bad: string[] = [];
    const name = (e: Element) =>
      `${e.tagName.toLowerCase()}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''}${e.textContent ? ` "${e.textContent.trim().slice(0, 30)}"` : ''}`;
    for (const root of document.querySelectorAll(sel)) {
      const rr = root.getBoundingClientRect();
      if (rr.width === 0) continue;
      if (root.scrollHeight > root.clientHeight + 1 || root.scrollWidth > root.clientWidth + 1)
        bad.push(
          `${name(root)}: content ${root.scrollWidth}×${root.scrollHeight} in ${root.clientWidth}×${root.clientHeight}`,
        );
      for (const e of root.querySelectorAll('*')) {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        let clip: Element = root;
        for (let a = e.parentElement; a && a !== root; a = a.parentElement) {
          if (getComputedStyle(a).overflow !== 'visible') {
            clip = a;
            break;
          }
        }
        const c = clip.getBoundingClientRect();
        if (r.left < c.left - 1 || r.top < c.top - 1 || r.right > c.right + 1 || r.bottom > c.bottom + 1)
          bad.push(
            `${name(e)} [${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}] outside ${name(clip).slice(0, 40)} [${Math.round(c.left)},${Math.round(c.top)} ${Math.round(c.width)}×${Math.round(c.height)}]`,
          );
      }
    }
    return bad;
  }, rootSelector);
}

/**
 * Text cut short inside `rootSelector`: elements holding text whose content is wider than their
 * box (scrollWidth > clientWidth), which an ellipsis or a clipping box hides ("0 fai…"). Empty
 * when every text is shown whole or its tooltip (title) has it whole. Inline elements have no box of their own; their block or
 * flex-item ancestor is measured instead.
 */
export async function cutText(page: Page, rootSelector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const bad: string[] = [];
    for (const root of document.querySelectorAll(sel))
      for (const e of [root, ...root.querySelectorAll<HTMLElement>('*')]) {
        const text = (e as HTMLElement).innerText?.trim();
        if (!text || e.clientWidth === 0 || e.scrollWidth <= e.clientWidth + 1) continue;
        if (e.getAttribute('title')?.includes(text)) continue; // cut on purpose: the tooltip has it whole
        bad.push(
          `${e.tagName.toLowerCase()}.${String(e.className).trim().replaceAll(' ', '.')} "${text.replaceAll('\n', ' ').slice(0, 40)}": ${e.scrollWidth} px of text in ${e.clientWidth}`,
        );
      }
    return bad;
  }, rootSelector);
}

/** The real canvas pixel (RGBA) at the centre of the square showing `cell` of `disk` (null before it is placed). */
export const cellPixel = (page: Page, disk: number, cell: number) =>
  page.evaluate(
    ([d, c]) =>
      (
        window as unknown as { __blockscope: { canvasPixel(d: number, c: number): number[] | null } }
      ).__blockscope.canvasPixel(d, c),
    [disk, cell] as const,
  );

/** Wait until every one of `cells` of `disk` is drawn in `rgb` (± 3 per channel). */
export async function expectCellColor(page: Page, disk: number, cells: number[], rgb: number[], timeout = 5000) {
  for (const cell of cells) {
    await expect
      .poll(async () => !!(await cellPixel(page, disk, cell))?.slice(0, 3).every((v, i) => Math.abs(v - rgb[i]) <= 3), {
        message: `disk ${disk} cell ${cell} should be rgb(${rgb})`,
        timeout,
      })
      .toBe(true);
  }
}

/** The fraction of the viewport the disks' drawn grids cover (their texels, not the panels' chrome). */
export async function gridCoverage(page: Page): Promise<number> {
  return page.evaluate(() => {
    type R = { w: number; h: number } | null;
    const hooks = (window as unknown as { __blockscope: { gridRect(n: number): R } }).__blockscope;
    let area = 0;
    for (const e of document.querySelectorAll('section.disk')) {
      const r = hooks.gridRect(Number(e.getAttribute('data-testid')!.slice('disk-'.length)));
      if (r) area += r.w * r.h;
    }
    return area / (innerWidth * innerHeight);
  });
}
