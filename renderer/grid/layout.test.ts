import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestWidth, cellsOfTexel, fitDisplay } from './display-geometry.ts';
import { CHROME, chromeFor, computeLayout, gridRect, type Layout } from './layout.ts';
import { clampView, panBy, viewRect, zoomAt } from './view.ts';

const disks = (n: number, cells: number) => Array.from({ length: n }, (_, i) => ({ number: i + 1, cells }));
const coverage = (l: Layout, w: number, h: number) =>
  l.placements.reduce((a, p) => {
    const r = gridRect(p);
    return a + r.w * r.h;
  }, 0) /
  (w * h);
const inside = (a: { x: number; y: number; w: number; h: number }, b: typeof a) =>
  a.x >= b.x - 0.01 && a.y >= b.y - 0.01 && a.x + a.w <= b.x + b.w + 0.01 && a.y + a.h <= b.y + b.h + 0.01;

test('fitDisplay: the row width fills the box; never less than a pixel per texel without merging', () => {
  // 64 MiB in a tall narrow slot: not the 128×128 square, a shape that fills it.
  const tall = fitDisplay(16384, 370, 960);
  assert.equal(tall.display.merge, 1);
  assert.ok(tall.scale > 4, `scale ${tall.scale}`);
  assert.ok(tall.display.width * tall.scale <= 370 && tall.display.height * tall.scale <= 960);
  assert.ok(tall.display.width * tall.display.height >= 16384);
  // 1 GiB (262144 blocks) in 1264×560: fits at more than one pixel per block.
  const big = fitDisplay(262144, 1264, 560);
  assert.equal(big.display.merge, 1);
  assert.ok(big.scale >= 1);
  // Too many cells for the pixels: merge, and each texel still gets at least one pixel.
  const tiny = fitDisplay(262144, 140, 500);
  assert.ok(tiny.display.merge > 1);
  assert.ok(tiny.scale >= 1);
  assert.ok(tiny.display.width * tiny.scale <= 140 + 1e-9);
  assert.deepEqual(cellsOfTexel(tiny.display, 262144, 2), [2 * tiny.display.merge, 3 * tiny.display.merge]);
  // Widths are multiples of 8 (aligned structures line up), or a power of two.
  for (const [t, w, h] of [
    [16384, 500, 300],
    [100000, 800, 333],
    [9, 100, 100],
  ]) {
    const b = bestWidth(t, w, h);
    assert.ok(b.width % 8 === 0 || (b.width & (b.width - 1)) === 0 || b.width === t, `width ${b.width}`);
  }
});

test('layout: RAID 5 in presentation mode at 1920×1080 covers well over 60 % and draws a block as 4×4 or more', () => {
  // The stage is the window minus the thin strip, footer and margins.
  const l = computeLayout({ width: 1904, height: 990, disks: disks(5, 16384), mode: 'present', enlarged: null });
  assert.ok(coverage(l, 1920, 1080) >= 0.6, `coverage ${coverage(l, 1920, 1080)}`);
  for (const p of l.placements) assert.ok(p.fit.scale >= 4, `disk ${p.number} scale ${p.fit.scale}`);
});

test('layout: panels never overlap or leave the stage; chrome fits its panel (every size, 1–16 disks)', () => {
  for (const [w, h] of [
    [1904, 990],
    [1350, 680],
    [1264, 630],
    [800, 500],
  ]) {
    for (const n of [1, 2, 5, 8, 16]) {
      for (const mode of ['normal', 'present'] as const) {
        const l = computeLayout({ width: w, height: h, disks: disks(n, 16384), mode, enlarged: null });
        const stage = { x: 0, y: 0, w, h };
        assert.equal(l.placements.length, n);
        for (const p of l.placements) {
          const c = chromeFor(p.density, p.panel.w);
          assert.ok(inside(p.panel, stage), `${w}×${h} ${n} ${mode}: disk ${p.number} panel leaves the stage`);
          assert.ok(inside(p.slot, p.panel), `slot inside panel`);
          assert.ok(inside(gridRect(p), p.slot), `grid inside slot`);
          assert.ok(p.panel.h >= c.top + c.bottom + 2 * c.pad, `chrome fits (${p.density})`);
          assert.ok(p.fit.scale >= 1, `a pixel or more per texel (${w}×${h}, ${n} disks)`);
        }
        for (const a of l.placements)
          for (const b of l.placements) {
            if (a === b) continue;
            const apart =
              a.panel.x + a.panel.w <= b.panel.x ||
              b.panel.x + b.panel.w <= a.panel.x ||
              a.panel.y + a.panel.h <= b.panel.y ||
              b.panel.y + b.panel.h <= a.panel.y;
            assert.ok(apart, `disks ${a.number} and ${b.number} overlap`);
          }
      }
    }
  }
});

test('layout: 8 disks at 1280×720 get compact chrome at least as wide as it needs', () => {
  const l = computeLayout({ width: 1264, height: 620, disks: disks(8, 16384), mode: 'normal', enlarged: null });
  for (const p of l.placements) {
    assert.equal(p.density, 'compact');
    assert.ok(p.panel.w >= CHROME.compact.minWidth);
  }
  const five = computeLayout({ width: 1904, height: 990, disks: disks(5, 16384), mode: 'normal', enlarged: null });
  assert.ok(
    five.placements.every((p) => p.density === 'full'),
    'room to spare: full chrome',
  );
});

test('layout: five disks at browser zoom 200 % (a 622×245 stage): one row in presentation mode, two-line counters', () => {
  const present = computeLayout({ width: 622, height: 245, disks: disks(5, 16384), mode: 'present', enlarged: null });
  assert.equal(present.columns, 5, 'one row gives the grids more than two rows of three');
  const normal = computeLayout({ width: 622, height: 245, disks: disks(5, 16384), mode: 'normal', enlarged: null });
  for (const p of normal.placements) {
    assert.equal(p.density, 'compact');
    assert.equal(
      chromeFor(p.density, p.panel.w).bottom,
      52,
      'a narrow compact panel: room for the counters on two lines',
    );
  }
  assert.equal(chromeFor('compact', 300).bottom, CHROME.compact.bottom, 'a wider one keeps them on one');
});

test('layout: an enlarged disk takes most of the stage, the others a column beside it', () => {
  const l = computeLayout({ width: 1904, height: 990, disks: disks(5, 16384), mode: 'present', enlarged: 3 });
  const big = l.placements.find((p) => p.number === 3)!;
  assert.ok(big.panel.w > 1904 * 0.7);
  for (const p of l.placements) if (p !== big) assert.ok(p.panel.x >= big.panel.x + big.panel.w);
  assert.deepEqual(
    l.placements.map((p) => p.number),
    [1, 2, 3, 4, 5],
  );
});

test('view: zoom keeps the point under the pointer still; pan stays inside the slot', () => {
  const slot = { x: 0, y: 0, w: 400, h: 400 };
  const fit = { x: 0, y: 0, w: 400, h: 400 };
  let v = { zoom: 1, panX: 0, panY: 0 };
  const px = 100;
  const py = 300;
  const texel = (vv: typeof v) => {
    const r = viewRect(fit, vv);
    return [(px - r.x) / vv.zoom, (py - r.y) / vv.zoom];
  };
  const before = texel(v);
  v = zoomAt(fit, slot, v, 2, px, py);
  assert.equal(v.zoom, 2);
  assert.deepEqual(texel(v), before, 'same point under the pointer after zooming in');
  v = zoomAt(fit, slot, v, 2, px, py);
  assert.deepEqual(texel(v), before, 'and again');
  v = panBy(fit, slot, v, 10_000, 10_000);
  const r = viewRect(fit, v);
  assert.deepEqual([r.x, r.y], [0, 0], 'dragged far: the grid edge stops at the slot edge');
  assert.deepEqual(clampView(fit, slot, { zoom: 1, panX: 50, panY: 0 }), { zoom: 1, panX: 0, panY: 0 });
});
