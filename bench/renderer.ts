// Renderer benchmark: frames per second in headless Chromium (Debian's, software WebGL) while
// fio floods every disk with random 4 KiB writes, and the time from a request completing to
// its pixel changing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chromium } from 'playwright-core';
import { median, percentile } from './stats.ts';
import { spawnBlockscope } from './servers.ts';

/** `serve --disks N --size S --ui`, started: its UI URL and the disks' NBD URIs. */
export async function serve(disks: number, size: string): Promise<{ proc: ChildProcess; ui: string; uris: string[] }> {
  const proc = spawnBlockscope(['serve', '--disks', String(disks), '--size', size, '--port', '0', '--ui']);
  let out = '';
  const ui = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('serve --ui did not start')), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /^ui (\S+)/m.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
  });
  return { proc, ui, uris: [...out.matchAll(/^disk\d+ (\S+)/gm)].map((m) => m[1]) };
}

/** One fio per disk: 4 KiB random writes at QD8 for `seconds` over a disk of `size`. */
export function flood(uris: string[], size: string, seconds: number): ChildProcess[] {
  return uris.map((uri) =>
    spawn(
      'fio',
      [
        '--name=flood',
        '--ioengine=nbd',
        `--uri=${uri}`,
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=8',
        `--size=${size}`,
        '--time_based',
        `--runtime=${seconds}`,
      ],
      { stdio: 'ignore' },
    ),
  );
}

export async function measureRenderer(
  disks: number,
  size: string,
  seconds: number,
): Promise<{ fps: number; pixelP50Ms: number; pixelP99Ms: number; loopP99Ms: number; loopMaxMs: number }> {
  const s = await serve(disks, size);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    // String evaluation (see below) needs the page's CSP bypassed: test harness only.
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, bypassCSP: true });
    await page.goto(s.ui);
    await page.waitForFunction('window.__blockscope && window.__blockscope.geometry(1) !== null', null, {
      timeout: 20_000,
    });
    const floods = flood(s.uris, size === '16G' ? '16G' : '64M', seconds + 1);
    // Listened for now: a fio that ends while fps is still sampled must not be waited for forever.
    const floodsDone = floods.map((f) => new Promise((r) => f.once('exit', r)));
    await page.waitForTimeout(1000);
    // The control server's event-loop delay over the sampled seconds (issue 13: it is the
    // engine's thread too, so a flood delays everything it answers).
    const health = new URL('/api/health', s.ui);
    health.searchParams.set('token', new URL(s.ui).searchParams.get('token') ?? '');
    await fetch(health);
    const samples: number[] = [];
    for (let i = 0; i < seconds; i++) {
      await page.waitForTimeout(1000);
      samples.push((await page.evaluate('window.__blockscope.fps()')) as number);
    }
    const loop = ((await (await fetch(health)).json()) as { eventLoopDelayMs: { p99: number; max: number } })
      .eventLoopDelayMs;
    await Promise.all(floodsDone);
    // Request → pixel: fresh cells on a cleared picture, one qemu-io write each.
    const clear = new URL('/api/disks/1/clear', s.ui);
    clear.searchParams.set('token', new URL(s.ui).searchParams.get('token') ?? '');
    await fetch(clear, { method: 'POST' });
    await page.waitForTimeout(300);
    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const cell = 100 + i * 101;
      // A string, not a function: tsx's transform would inject helpers the page doesn't have.
      const watcher = page.evaluate(`new Promise((resolve) => {
        const h = window.__blockscope;
        const f = () => {
          const px = h.canvasPixel(1, ${cell});
          if (px && px[0] > 200 && px[1] < 80) resolve(performance.timeOrigin + performance.now());
          else requestAnimationFrame(f);
        };
        f();
      })`) as Promise<number>;
      watcher.catch(() => {});
      const g = (await page.evaluate('window.__blockscope.geometry(1)')) as { blocksPerCell: number };
      const offset = cell * g.blocksPerCell * 4096;
      spawnSync('qemu-io', ['-f', 'raw', s.uris[0], '-c', `write ${offset} 4k`]);
      const done = Date.now();
      lat.push(Math.max(0, (await watcher) - done));
    }
    return {
      fps: median(samples),
      pixelP50Ms: median(lat),
      pixelP99Ms: percentile(lat, 0.99),
      loopP99Ms: loop.p99,
      loopMaxMs: loop.max,
    };
  } finally {
    await browser.close();
    s.proc.kill('SIGTERM');
  }
}
