// Structure labels on vs off under the same write flood. The disk holds an ext4 with many
// small files (so a decode is real work) and one big file; fio floods the big file's blocks
// with 4 KiB random writes while a second client rewrites the superblock with its own bytes
// every 20 ms — each rewrite touches decoded metadata, so with labels on the engine keeps
// re-decoding during the whole flood. Throughput is compared on vs off in the same round; the
// label lag is the time from the flood's end until the labels are current again.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.ts';
import { apiUrl, spawnBlockscope, waitFor } from './servers.ts';

type Sh = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => Promise<{ out: string; ms: number }>;
export type AddRow = (name: string, unit: string, value: number, target: string, met: boolean) => void;

interface Served {
  uri: string;
  /** GET /api/structure (the status), token included. */
  api: string;
  stop(): Promise<void>;
}

async function serve(dir: string, labels: boolean): Promise<Served> {
  const sockDir = join(dir, labels ? 'on' : 'off');
  mkdirSync(sockDir, { recursive: true });
  const p = spawnBlockscope([
    'serve',
    '--size',
    '256M',
    '--unix',
    sockDir,
    '--api',
    '0',
    ...(labels ? [] : ['--no-structure']),
  ]);
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  await waitFor(p, () => (/^api /m.test(out) && /^disk1 /m.test(out) ? 'ok' : null));
  return {
    uri: /^disk1 (\S+)/m.exec(out)![1],
    api: apiUrl(/^api (\S+)/m.exec(out)![1], 'structure'),
    stop: () =>
      new Promise((resolve) => {
        if (p.exitCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      }),
  };
}

interface Status {
  version: number;
  stale: boolean;
  decodes: number;
  lastDecodeMs: number;
}
const status = async (api: string) => (await (await fetch(api)).json()) as Status;

async function current(api: string, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (!(await status(api)).stale) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('labels still stale 30 s after the flood');
}

/**
 * The image: ext4 (4 KiB blocks) with `files` small files and a 120 MiB file to flood. 256 MiB
 * holds the full run's 20,000 files (a block each), the flood file, the journal and the tables.
 */
function makeImage(dir: string, files: number, sh: Sh): Promise<string> {
  const src = join(dir, 'src');
  for (let d = 0; d < Math.ceil(files / 500); d++) {
    mkdirSync(join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 500 && d * 500 + f < files; f++) writeFileSync(join(src, `d${d}`, `f${f}`), `${d}/${f}\n`);
  }
  writeFileSync(join(src, 'flood.bin'), Buffer.alloc(120 << 20, 1));
  const img = join(dir, 'fs.img');
  return sh('truncate', ['-s', '256M', img]).then(() =>
    sh('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', src, img]).then(() => img),
  );
}

export async function structureFlood(
  quick: boolean,
  rounds: number,
  seconds: number,
  sh: Sh,
  add: AddRow,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-structure-'));
  try {
    const img = await makeImage(dir, quick ? 4000 : 20000, sh);
    // Where the big file lies: fio writes only inside its longest extent, so the filesystem
    // (and its metadata between extents) survives the flood.
    const blocks = (await sh('debugfs', ['-R', 'blocks /flood.bin', img])).out
      .split(/\s+/)
      .filter((w) => /^\d+$/.test(w))
      .map(Number);
    let best: [number, number] = [0, 0];
    for (let i = 0, start = 0; i < blocks.length; i++) {
      if (i + 1 < blocks.length && blocks[i + 1] === blocks[i] + 1) continue;
      if (blocks[i] + 1 - blocks[start] > best[1] - best[0]) best = [blocks[start], blocks[i] + 1];
      start = i + 1;
    }
    const first = best[0] * 4096;
    const span = (best[1] - best[0]) * 4096;
    if (span < 16 << 20) throw new Error(`the flood file's longest extent is only ${span} bytes`);
    const iops = { on: [] as number[], off: [] as number[] };
    const lag: number[] = [];
    const decodes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const labels of r % 2 ? [false, true] : [true, false]) {
        const s = await serve(dir, labels);
        try {
          await sh('nbdcopy', [img, s.uri]);
          if (labels) await current(s.api);
          const before = labels ? await status(s.api) : null;
          // The metadata toucher: read the superblock once, write it back every 20 ms.
          const toucher: Promise<unknown> = sh(
            'nbdsh',
            [
              '-u',
              s.uri,
              '-c',
              `import time\nb=h.pread(1024,1024)\nt=time.monotonic()\nwhile time.monotonic()-t < ${seconds}:\n    h.pwrite(b,1024)\n    time.sleep(0.02)`,
            ],
            { ...process.env, PATH: `/usr/bin:${process.env.PATH}` },
          );
          toucher.catch(() => {}); // awaited below; fio failing first must not leave it unhandled
          const f = await sh('fio', [
            '--name=flood',
            '--ioengine=nbd',
            `--uri=${s.uri}`,
            '--rw=randwrite',
            '--bs=4k',
            '--iodepth=16',
            `--offset=${first}`,
            `--size=${span}`,
            '--time_based',
            `--runtime=${seconds}`,
            '--output-format=json',
          ]);
          await toucher;
          const json = JSON.parse(f.out.slice(f.out.indexOf('{')));
          (labels ? iops.on : iops.off).push(json.jobs[0].write.iops);
          if (labels) {
            lag.push(await current(s.api));
            decodes.push((await status(s.api)).decodes - before!.decodes);
          }
        } finally {
          await s.stop();
        }
      }
    }
    const on = median(iops.on);
    const off = median(iops.off);
    console.log(`  labels on ${on.toFixed(0)} IOPS, off ${off.toFixed(0)} IOPS`);
    add(
      '4 KiB randwrite QD16 under metadata churn: IOPS labels on / off',
      '× off',
      on / off,
      '≥ 0.95×',
      on / off >= 0.95,
    );
    add('re-decodes during that flood (labels on)', 'decodes', median(decodes), '> 0', median(decodes) > 0);
    add('label lag after the flood stops', 'ms', median(lag), '< 1000 ms', median(lag) < 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
