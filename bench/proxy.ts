// Proxy overhead: the same upstream (nbdkit memory on a Unix socket) measured directly, through
// Blockscope's nbd backend, and through nbdkit's nbd plugin with the log filter (the logging
// proxy people use today). Values are throughput relative to going direct in the same round, so
// the target (≥ 0.8× of direct) reads straight off the Blockscope column; the ratio column
// compares the two proxies.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.ts';
import { spawnBlockscope, waitFor } from './servers.ts';

type Measure = (uri: string) => Promise<number>;
export type AddRow = (name: string, values: { blockscope: number; nbdkit: number }, target: number) => void;

interface Proc {
  uri: string;
  stop(): Promise<void>;
}

function stopper(p: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
}

async function nbdkit(dir: string, name: string, args: string[]): Promise<Proc> {
  const sock = join(dir, `${name}.sock`);
  const p = spawn('nbdkit', ['-f', '-U', sock, ...args], { stdio: 'ignore' });
  await waitFor(p, () => (existsSync(sock) ? 'ok' : null));
  return { uri: `nbd+unix:///?socket=${sock}`, stop: stopper(p) };
}

async function blockscopeProxy(dir: string, upstreamSock: string): Promise<Proc> {
  const p = spawnBlockscope(['serve', '--backend', 'nbd', `socket=${upstreamSock}`, '--unix', join(dir, 'bs')]);
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  const uri = await waitFor(p, () => /^disk1 (\S+)/m.exec(out)?.[1] ?? null);
  return { uri, stop: stopper(p) };
}

/** Direct, Blockscope proxy and nbdkit proxy on one fresh upstream per round; medians of the ratios. */
export async function proxyOverhead(
  rounds: number,
  size: string,
  measures: Array<{ name: string; prepare?: Measure; run: Measure }>,
  add: AddRow,
): Promise<void> {
  const ratios = measures.map(() => ({ blockscope: [] as number[], nbdkit: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-proxy-'));
    const up = await nbdkit(dir, 'upstream', ['memory', `size=${size}`]);
    const upSock = join(dir, 'upstream.sock');
    const bs = await blockscopeProxy(dir, upSock);
    const nk = await nbdkit(dir, 'nbdkit-proxy', [
      '--filter=log',
      'nbd',
      `socket=${upSock}`,
      `logfile=${join(dir, 'log')}`,
    ]);
    try {
      for (const [i, m] of measures.entries()) {
        await m.prepare?.(up.uri);
        // Alternate the order so neither path always runs first on a warm cache.
        const order = r % 2 ? [nk, bs, up] : [up, bs, nk];
        const v = new Map<Proc, number>();
        for (const p of order) v.set(p, await m.run(p.uri));
        ratios[i].blockscope.push(v.get(bs)! / v.get(up)!);
        ratios[i].nbdkit.push(v.get(nk)! / v.get(up)!);
        // Each round's figures: on this noisy machine the spread says how far to trust the median.
        console.log(
          `  round ${r + 1} ${m.name}: direct ${v.get(up)!.toFixed(0)}, blockscope ${v.get(bs)!.toFixed(0)} ` +
            `(${(v.get(bs)! / v.get(up)!).toFixed(2)}×), nbdkit ${v.get(nk)!.toFixed(0)} (${(v.get(nk)! / v.get(up)!).toFixed(2)}×)`,
        );
      }
    } finally {
      await Promise.all([bs.stop(), nk.stop()]);
      await up.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  measures.forEach((m, i) =>
    add(
      `proxy: ${m.name}, relative to direct`,
      { blockscope: median(ratios[i].blockscope), nbdkit: median(ratios[i].nbdkit) },
      0.8,
    ),
  );
}
