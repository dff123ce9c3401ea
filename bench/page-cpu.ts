// Where the CPU goes with the UI open: the page in headless Chromium (Debian's, no GPU: WebGL in
// software) shows N disks, idle or under a fio random-write flood, and this prints the CPU of
// Blockscope, fio and each kind of Chromium process (cores, from /proc) over a few seconds,
// with the page's frames and canvas draws. Not part of `npm run bench`: a tool for the
// "page's cost" figures in docs/performance.md.
//   node --import tsx bench/page-cpu.ts [--disks 16] [--flood] [--seconds 4] [--query fps=30]

import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { flood, serve } from './renderer.ts';

const { values: o } = parseArgs({
  options: {
    disks: { type: 'string', default: '16' },
    flood: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '4' },
    query: { type: 'string', default: '' },
  },
});
const disks = Number(o.disks);
const seconds = Number(o.seconds);
const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux

/** CPU ticks so far of every process of interest, by kind. */
function cpuByKind(): Map<string, number> {
  const m = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const kind = /chromium/.test(cmd)
        ? `chromium ${/--type=([\w-]+)/.exec(cmd)?.[1] ?? 'browser'}`
        : /blockscope/.test(cmd)
          ? 'blockscope'
          : /^fio\0/.test(cmd)
            ? 'fio'
            : null;
      if (!kind) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      m.set(kind, (m.get(kind) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  return m;
}

const s = await serve(disks, '64M');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(o.query ? `${s.ui}&${o.query}` : s.ui);
  await page.waitForFunction('window.__blockscope && window.__blockscope.geometry(1) !== null');
  const floods = o.flood ? flood(s.uris, '64M', seconds + 2) : [];
  await page.waitForTimeout(1500);
  // Builds before the draws() hook (for comparisons) count as NaN.
  const draws = () => page.evaluate('window.__blockscope.draws?.() ?? NaN') as Promise<number>;
  const [c0, d0, t0] = [cpuByKind(), await draws(), performance.now()];
  await page.waitForTimeout(seconds * 1000);
  const [c1, d1, t1] = [cpuByKind(), await draws(), performance.now()];
  const wall = (t1 - t0) / 1000;
  const fps = await page.evaluate('window.__blockscope.fps()');
  const cpu = [...c1].map(([k, v]) => `${k} ${((v - (c0.get(k) ?? v)) / TICKS / wall).toFixed(2)}`);
  console.log(
    `${disks} disks, ${o.flood ? 'flood' : 'idle'}: frames ${fps}/s, canvas draws ${((d1 - d0) / wall).toFixed(1)}/s; CPU (cores): ${cpu.join(', ')}`,
  );
  await Promise.all(floods.map((f) => new Promise((r) => (f.exitCode !== null ? r(null) : f.once('exit', r)))));
} finally {
  await browser.close();
  s.proc.kill('SIGTERM');
}
