// Runs a demo end to end: Blockscope's disks (in-process engine + UI server), real Linux I/O
// from guestfish's appliance (qemu under TCG), captions pushed to every viewer, and a report of
// what each disk saw at each step boundary (for the acceptance tests and the closing notes).

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer, type ControlServer } from '../control/http.ts';
import { Engine } from '../engine.ts';
import { presetSpecs } from '../presets.ts';
import type { BlockStateName, DiskInfo, OpCounter, Op } from '../shared/types.ts';
import { arrayStatus } from '../structure/array-status.ts';
import type { Demo, DemoContext } from './demos.ts';
import type { DemoFacts } from './facts.ts';

function demoFacts(engine: Engine): DemoFacts {
  const snapshot = engine.structure?.snapshot ?? null;
  return { snapshot, arrays: () => arrayStatus(engine, snapshot?.result.arrays ?? []) };
}

/** The decoder's words for a caption, once its answers are current (at most a few seconds' wait). */
async function withFacts(engine: Engine, facts: (f: DemoFacts) => string | null): Promise<string | null> {
  if (!engine.structure) return null;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([engine.structure.whenCurrent(), new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  return facts(demoFacts(engine));
}

export interface DiskSnapshot {
  number: number;
  blocks: Record<BlockStateName, number>;
  counters: Record<Op, OpCounter>;
  firstCell: string;
  lastCell: string;
}

export interface StepReport {
  step: number;
  title: string;
  /** The caption as shown when the step started (with the decoder's facts, if the step has any). */
  caption: string;
  /** Live caption lines pushed while the step ran (rebuild progress). */
  live: string[];
  seconds: number;
  /** What every disk had seen when the step ended. */
  after: DiskSnapshot[];
  /** guestfish's output during this step. */
  output: string;
}

export interface DemoReport {
  demo: string;
  ok: boolean;
  exitCode: number | null;
  seconds: number;
  steps: StepReport[];
  /** guestfish's output (mdstat, dmesg, file contents). */
  output: string;
}

export interface DemoOptions {
  delayMs: number;
  /** Run on this engine (the desktop app's): its disk set is replaced by the demo's. */
  engine?: Engine;
  /** Serve the UI over HTTP too (headless CLI); the app has its own window. */
  ui?: boolean;
  /** Wait for a viewer (a WebSocket client) before starting. */
  waitForViewer?: boolean;
  onReady?: (ui: string, uris: string[]) => void;
  onStep?: (step: number, total: number, title: string, text: string) => void;
  onOutput?: (line: string) => void;
}

/** Say exactly what is missing (the tests fail with this, they never skip). */
export function checkDemoPrerequisites(): void {
  if (spawnSync('sh', ['-c', 'command -v guestfish']).status !== 0)
    throw new Error('guestfish not found: apt-get install libguestfs-tools');
  if (!readdirSync('/boot').some((f) => f.startsWith('vmlinuz')))
    throw new Error('no kernel in /boot for the libguestfs appliance: apt-get install linux-image-amd64');
  if (spawnSync('sh', ['-c', 'command -v curl']).status !== 0) throw new Error('curl not found: apt-get install curl');
}

/**
 * Is the host kernel's NBD client usable (nbd-client + /dev/nbd*)? Where it is, a demo could
 * attach Blockscope's disks as /dev/nbdN directly; guestfish works everywhere, so the demos use it.
 */
export function kernelNbdClient(): { usable: boolean; why: string } {
  let devices: string;
  try {
    devices = readFileSync('/proc/devices', 'utf8');
  } catch {
    return { usable: false, why: 'no /proc/devices' };
  }
  if (!/\bnbd\b/.test(devices)) return { usable: false, why: 'the kernel has no nbd driver (modprobe nbd)' };
  if (spawnSync('sh', ['-c', 'command -v nbd-client']).status !== 0)
    return { usable: false, why: 'nbd-client not installed (apt-get install nbd-client)' };
  return { usable: true, why: 'attach a disk with: nbd-client 127.0.0.1 PORT /dev/nbd0 -N ""' };
}

/** A few MiB of small files, like unpacking a source tree. */
function makeTarball(dir: string): string {
  const src = join(dir, 'tree');
  for (let d = 0; d < 8; d++) {
    mkdirSync(join(src, `dir${d}`), { recursive: true });
    for (let f = 0; f < 12; f++)
      writeFileSync(join(src, `dir${d}`, `file${f}.bin`), randomBytes(4096 + (((d * 12 + f) * 7919) % 90_000)));
  }
  const tar = join(dir, 'tree.tar');
  const r = spawnSync('tar', ['-cf', tar, '-C', src, '.']);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return tar;
}

function snapshot(d: DiskInfo, engine: Engine): DiskSnapshot {
  const stats = engine.disk(d.number).stats;
  return {
    number: d.number,
    blocks: d.blocks,
    counters: d.counters,
    firstCell: stats.inspectCell(0).state,
    lastCell: stats.inspectCell(d.grid.cells - 1).state,
  };
}

export interface DemoRun {
  report: DemoReport;
  /** Stop the disks and the UI server (the CLI keeps them open for the audience first). */
  close(): Promise<void>;
}

export async function runDemo(demo: Demo, o: DemoOptions): Promise<DemoRun> {
  checkDemoPrerequisites();
  const dir = mkdtempSync(join(tmpdir(), `blockscope-demo-${demo.name}-`));
  const ownEngine = !o.engine;
  const engine = o.engine ?? new Engine();
  let control: ControlServer | null = null;
  const t0 = performance.now();
  const close = async () => {
    await control?.close();
    // A borrowed engine keeps its disks: the picture stays for the audience.
    if (ownEngine) await engine.closeAll();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const presetDefaults = {
      host: '127.0.0.1',
      port: 0,
      unixDir: null,
      size: 64n << 20n,
      delayMs: o.delayMs,
      logDir: dir,
    };
    await engine.replace(presetSpecs(demo.name, presetDefaults));
    engine.preset = demo.name;
    // The RAID demo flips Error toggles through this API (Blockscope's own control API).
    control = await startControlServer(engine, { port: 0, ui: o.ui ?? ownEngine, presetDefaults });
    const servers = engine.disks.map((d) => `tcp:127.0.0.1:${d.server!.port}`);
    o.onReady?.(
      control.url,
      engine.disks.map((d) => d.server!.uris[0]),
    );
    if (o.waitForViewer) while (control.pump.subscribers === 0) await new Promise((r) => setTimeout(r, 100));

    const ctx: DemoContext = { servers, api: `${control.url}api`, tarball: makeTarball(dir), tarDir: 'src' };
    const lines = servers.map((s) => `add-drive "" protocol:nbd server:${s} format:raw discard:enable`);
    if (demo.append) lines.push(`set-append "${demo.append}"`);
    demo.steps.forEach((step, i) => {
      lines.push(`! echo BLOCKSCOPE-STEP ${i + 1}`);
      lines.push(...step.commands(ctx));
    });
    lines.push(`! echo BLOCKSCOPE-STEP ${demo.steps.length + 1}`);
    const script = join(dir, 'demo.gf');
    writeFileSync(script, lines.join('\n') + '\n');

    const env = { ...process.env };
    // KVM hangs the appliance on machines like these; TCG always works (a bit slower).
    env.LIBGUESTFS_BACKEND ??= 'direct';
    env.LIBGUESTFS_BACKEND_SETTINGS ??= 'force_tcg';
    const steps: StepReport[] = [];
    let output = '';
    let stepOutput = '';
    let current = 0;
    let stepStart = performance.now();
    let caption = '';
    let live: string[] = [];
    let liveTimer: NodeJS.Timeout | null = null;
    // Captions wait for the decoder (briefly), so they are pushed in order, one after another.
    let captions = Promise.resolve();
    const endStep = () => {
      if (liveTimer) clearInterval(liveTimer);
      liveTimer = null;
      if (current === 0) return;
      const disks = engine.disks.map((d) => snapshot(d.info(), engine));
      steps.push({
        step: current,
        title: demo.steps[current - 1].title,
        caption,
        live,
        seconds: (performance.now() - stepStart) / 1000,
        after: disks,
        output: stepOutput,
      });
      stepOutput = '';
    };
    const exitCode = await new Promise<number | null>((resolve) => {
      const gf = spawn('guestfish', ['-f', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const line of parts) {
          const m = /^BLOCKSCOPE-STEP (\d+)$/.exec(line);
          if (!m) {
            output += line + '\n';
            stepOutput += line + '\n';
            o.onOutput?.(line);
            continue;
          }
          endStep();
          current = Number(m[1]);
          stepStart = performance.now();
          const s = demo.steps[current - 1];
          const step = current;
          caption = s?.text ?? '';
          live = [];
          captions = captions.then(async () => {
            if (!s) return engine.push({ event: 'caption', step: 0, total: demo.steps.length, title: '', text: '' });
            const extra = s.facts ? await withFacts(engine, s.facts) : null;
            const text = extra ? `${s.text} ${extra}` : s.text;
            if (step === current) caption = text;
            engine.push({ event: 'caption', step, total: demo.steps.length, title: s.title, text });
            if (s.showStructure) engine.push({ event: 'action', action: 'structureShow' });
            o.onStep?.(step, demo.steps.length, s.title, text);
            if (s.live && step === current) {
              const liveFn = s.live;
              liveTimer = setInterval(() => {
                const line = liveFn(demoFacts(engine));
                if (!line || step !== current || line === live.at(-1)) return;
                live.push(line);
                engine.push({
                  event: 'caption',
                  step,
                  total: demo.steps.length,
                  title: s.title,
                  text: `${text} ${line}`,
                });
              }, 1000);
            }
          });
        }
      };
      gf.stdout.on('data', onData);
      gf.stderr.on('data', onData);
      gf.on('close', (code) => resolve(code));
    });
    await captions;
    if (current <= demo.steps.length) endStep();
    return {
      report: {
        demo: demo.name,
        ok: exitCode === 0,
        exitCode,
        seconds: (performance.now() - t0) / 1000,
        steps,
        output,
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
