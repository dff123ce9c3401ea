// The palettes are checked with a colour-vision simulator, not by eye: states stay apart for
// people with a colour-vision deficiency (the cvd palette), on a washed-out projector (every
// palette: failed must not fade into zeroed), and a read flash contrasts with every state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contrastRatio,
  deltaE2000,
  deltaE2000Lab,
  hexToRgb,
  simulateCvd,
  washOut,
  type Deficiency,
  type Rgb,
} from './color-vision.ts';
import { PALETTES, type Palette } from './palette.ts';

const DEFICIENCIES: Deficiency[] = ['protanopia', 'deuteranopia', 'tritanopia'];
/** CIEDE2000: ~2 is just noticeable; 12+ reads as a different colour at a glance. */
const DISTINCT = 12;

function meanings(p: Palette): Array<[string, Rgb]> {
  return [
    ['untouched', hexToRgb(p.states[0])],
    ['trimmed', hexToRgb(p.states[1])],
    ['zeroed', hexToRgb(p.states[2])],
    ['written', hexToRgb(p.states[3])],
    ['failed', hexToRgb(p.error)],
  ];
}

/** The closest pair of meanings after `view`. */
function closest(p: Palette, view: (c: Rgb) => Rgb): { d: number; pair: string } {
  const m = meanings(p).map(([n, c]) => [n, view(c)] as const);
  let best = { d: Infinity, pair: '' };
  for (let i = 0; i < m.length; i++)
    for (let j = i + 1; j < m.length; j++) {
      const d = deltaE2000(m[i][1], m[j][1]);
      if (d < best.d) best = { d, pair: `${m[i][0]}/${m[j][0]}` };
    }
  return best;
}

test('the simulator itself: CIEDE2000 matches Sharma et al.; Machado turns red and green alike', () => {
  // Published test pairs (Sharma, Wu & Dalal 2005, table 1).
  assert.ok(Math.abs(deltaE2000Lab([50, 2.6772, -79.7751], [50, 0, -82.7485]) - 2.0425) < 1e-3);
  assert.ok(Math.abs(deltaE2000Lab([50, -1, 2], [50, 0, 0]) - 2.3669) < 1e-3);
  assert.ok(Math.abs(deltaE2000Lab([2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514]) - 0.9082) < 1e-3);
  // The classic confusion: pure red and a matching green look alike to a deuteranope, not to others.
  const red: Rgb = [200, 60, 20];
  const green: Rgb = [110, 120, 20];
  assert.ok(deltaE2000(red, green) > 20);
  assert.ok(deltaE2000(simulateCvd(red, 'deuteranopia'), simulateCvd(green, 'deuteranopia')) < 8);
  // Washing out lifts black and leaves white alone.
  assert.ok(washOut([0, 0, 0])[0] > 100);
  assert.deepEqual(washOut([255, 255, 255]), [255, 255, 255]);
});

test('the colour-blind-safe palette keeps every state apart under protanopia, deuteranopia and tritanopia', () => {
  const p = PALETTES.cvd;
  for (const kind of DEFICIENCIES) {
    const c = closest(p, (x) => simulateCvd(x, kind));
    assert.ok(c.d >= 15, `${kind}: ${c.pair} only ΔE ${c.d.toFixed(1)} apart`);
  }
  assert.ok(closest(p, (x) => x).d >= 15);
});

test('every palette survives a washed-out projector; failed never fades into zeroed', () => {
  for (const p of Object.values(PALETTES)) {
    const c = closest(p, washOut);
    assert.ok(c.d >= DISTINCT, `${p.name} washed out: ${c.pair} only ΔE ${c.d.toFixed(1)} apart`);
    const fz = deltaE2000(washOut(hexToRgb(p.error)), washOut(hexToRgb(p.states[2])));
    assert.ok(fz >= 18, `${p.name}: failed vs zeroed washed out ΔE ${fz.toFixed(1)}`);
    // Even washed out and seen by a deuteranope, failed is not zeroed.
    const fzd = deltaE2000(
      simulateCvd(washOut(hexToRgb(p.error)), 'deuteranopia'),
      simulateCvd(washOut(hexToRgb(p.states[2])), 'deuteranopia'),
    );
    assert.ok(fzd >= DISTINCT, `${p.name}: failed vs zeroed, washed out, deuteranopia ΔE ${fzd.toFixed(1)}`);
  }
});

test('a read flash contrasts with every state on every palette (reads of untouched blocks show)', () => {
  for (const p of Object.values(PALETTES)) {
    for (const [name, c] of meanings(p)) {
      const ratio = contrastRatio(hexToRgb(p.read), c);
      assert.ok(ratio >= 3, `${p.name}: read flash on ${name} has contrast ${ratio.toFixed(2)}`);
    }
    // A rewrite blink must differ from the written colour it interrupts.
    assert.ok(deltaE2000(hexToRgb(p.rewrite), hexToRgb(p.states[3])) >= 20, `${p.name}: rewrite blink`);
  }
});
