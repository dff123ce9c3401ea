// Runs a demo end to end: Blockscope's disks (in-process engine + UI server), real Linux I/O
// from guestfish's appliance (qemu under TCG), captions pushed to every viewer, and a report of
// what each disk saw at each step boundary (for the acceptance tests and the closing notes).
// Longer than most engine files: one run of guestfish is one state machine (steps, waits for the
// presenter, evidence, captions with the decoders' facts, per-step snapshots) and reads best whole;
// pacing and facts already live apart (pacing.ts, facts.ts).

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer, type ControlServer } from '../control/http.ts';
import { Engine, type DemoControl } from '../engine.ts';
import { presetSpecs } from '../presets.ts';
import type { BlockStateName, DiskInfo, OpCounter, Op } from '../shared/types.ts';
import { arrayStatus } from '../structure/array-status.ts';
import type { Demo, DemoContext, DemoStep } from './demos.ts';
import type { DemoFacts } from './facts.ts';
import { readingTimeMs, StepPacer } from './pacing.ts';

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
  /** First NBD port (disk i listens on port + i − 1); 0 or absent: any free ports. */
  port?: number;
  /** Control API / UI port; 0 or absent: any free port. */
  apiPort?: number;
  /** Wait for the presenter (key, click, Enter, POST /api/demo) between steps. */
  stepMode?: boolean;
  /** Minimum time a caption stays up (ms), or 'auto' (reading time); ignored in step mode. */
  minCaptionMs?: number | 'auto';
  /** UI settings appended to the UI URL reported to onReady (`?present=1`). */
  query?: string;
  /** The disks and UI are up; `advance` goes on to the next step (step mode). */
  onReady?: (ui: string, uris: string[], advance: () => void) => void;
  onStep?: (step: number, total: number, title: string, text: string) => void;
  onOutput?: (line: string) => void;
  /** Step mode: the presenter is being waited for before `next`. */
  onWaiting?: (next: number, total: number) => void;
}

/** The evidence shown beside a caption: the step's last lines of guest output. */
const EVIDENCE_LINES = 40;
const EVIDENCE_PUSH_MS = 250;

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
  const minCaption = o.minCaptionMs ?? 'auto';
  const pacer = new StepPacer(dir, {
    stepMode: o.stepMode ?? false,
    minCaptionMs: (step) =>
      minCaption === 'auto' ? readingTimeMs(demo.steps[step - 1]?.text ?? '') : Math.max(0, minCaption),
  });
  const t0 = performance.now();
  const close = async () => {
    pacer.close();
    if (engine.demo === demoControl) engine.demo = null;
    await control?.close();
    // A borrowed engine keeps its disks: the picture stays for the audience.
    if (ownEngine) await engine.closeAll();
    rmSync(dir, { recursive: true, force: true });
  };
  const total = demo.steps.length;
  let current = 0;
  let running = true;
  const demoControl: DemoControl = {
    status: () => ({
      demo: demo.name,
      running,
      step: current,
      total,
      waiting: pacer.waitingFor !== null,
      stepMode: pacer.stepMode,
    }),
    next: () => pacer.advance(),
  };
  try {
    const presetDefaults = {
      host: '127.0.0.1',
      port: o.port ?? 0,
      unixDir: null,
      size: 64n << 20n,
      delayMs: o.delayMs,
      logDir: dir,
    };
    await engine.replace(presetSpecs(demo.name, presetDefaults));
    engine.preset = demo.name;
    engine.demo = demoControl;
    // The RAID demo flips Error toggles through this API (Blockscope's own control API).
    control = await startControlServer(engine, { port: o.apiPort ?? 0, ui: o.ui ?? ownEngine, presetDefaults });
    const servers = engine.disks.map((d) => `tcp:127.0.0.1:${d.port}`);
    o.onReady?.(
      `${control.url}${o.query ?? ''}`,
      engine.disks.map((d) => d.path!.uris[0]),
      () => pacer.advance(),
    );
    if (o.waitForViewer) while (control.pump.subscribers === 0) await new Promise((r) => setTimeout(r, 100));

    const apiAuthHeader = join(dir, 'api-auth.header');
    writeFileSync(apiAuthHeader, `Authorization: Bearer ${control.token}\n`, { mode: 0o600 });
    const ctx: DemoContext = {
      servers,
      api: `${control.origin}/api`,
      apiAuthHeader,
      tarball: makeTarball(dir),
      tarDir: 'src',
    };
    const lines = servers.map((s) => `add-drive "" protocol:nbd server:${s} format:raw discard:enable`);
    if (demo.append) lines.push(`set-append "${demo.append}"`);
    demo.steps.forEach((step, i) => {
      // Between steps: say the previous one is done, then wait at the gate for the pacer.
      if (i > 0) lines.push(`! echo BLOCKSCOPE-WAIT ${i + 1}`, pacer.gateCommand(i + 1));
      lines.push(`! echo BLOCKSCOPE-STEP ${i + 1}`);
      lines.push(...step.commands(ctx));
    });
    lines.push(`! echo BLOCKSCOPE-WAIT ${total + 1}`, pacer.gateCommand(total + 1));
    lines.push(`! echo BLOCKSCOPE-STEP ${total + 1}`);
    const script = join(dir, 'demo.gf');
    writeFileSync(script, lines.join('\n') + '\n');

    const env = { ...process.env };
    // KVM hangs the appliance on machines like these; TCG always works (a bit slower).
    env.LIBGUESTFS_BACKEND ??= 'direct';
    env.LIBGUESTFS_BACKEND_SETTINGS ??= 'force_tcg';
    const steps: StepReport[] = [];
    let output = '';
    let stepOutput = '';
    let stepEnded = true;
    let stepStart = performance.now();
    let phase: 'running' | 'waiting' = 'running';
    let pushTimer: NodeJS.Timeout | null = null;
    // The step's caption text: its own words, then the decoder's facts once they are current
    // (waited for off the step's path), then the latest live line (a rebuild's progress).
    let stepText = '';
    let liveLines: string[] = [];
    let liveTimer: NodeJS.Timeout | null = null;
    let factsDone: Promise<void> = Promise.resolve();
    const stopLive = () => {
      if (liveTimer) clearInterval(liveTimer);
      liveTimer = null;
    };
    const addFacts = async (step: number, s: DemoStep) => {
      const extra = s.facts ? await withFacts(engine, s.facts) : null;
      const base = extra ? `${s.text} ${extra}` : s.text;
      // A quick step may have ended while the decoder caught up: its report still gets the words.
      const ended = steps.find((r) => r.step === step);
      if (ended) ended.caption = base;
      if (step !== current) return;
      stepText = base;
      if (extra) caption();
      if (!s.live || ended) return;
      const liveFn = s.live;
      let last = '';
      liveTimer = setInterval(() => {
        const line = liveFn(demoFacts(engine));
        if (!line || step !== current || line === last) return;
        last = line;
        liveLines.push(line);
        stepText = `${base} ${line}`;
        caption();
      }, 1000);
    };
    const caption = () => {
      const s = demo.steps[current - 1];
      if (!s) return;
      const evidence = stepOutput.trimEnd().split('\n').slice(-EVIDENCE_LINES).join('\n');
      engine.push({
        event: 'caption',
        demo: demo.title,
        step: current,
        total,
        title: s.title,
        text: stepText,
        evidence,
        phase,
      });
    };
    const pushSoon = () => {
      pushTimer ??= setTimeout(() => {
        pushTimer = null;
        caption();
      }, EVIDENCE_PUSH_MS);
    };
    const endStep = () => {
      stopLive();
      if (current === 0 || stepEnded) return;
      stepEnded = true;
      const disks = engine.disks.map((d) => snapshot(d.info(), engine));
      steps.push({
        step: current,
        title: demo.steps[current - 1].title,
        caption: stepText,
        live: liveLines,
        seconds: (performance.now() - stepStart) / 1000,
        after: disks,
        output: stepOutput,
      });
    };
    const exitCode = await new Promise<number | null>((resolve) => {
      const gf = spawn('guestfish', ['-f', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const line of parts) {
          const wait = /^BLOCKSCOPE-WAIT (\d+)$/.exec(line);
          const m = /^BLOCKSCOPE-STEP (\d+)$/.exec(line);
          if (wait) {
            // The step's commands are done: its report, then the pause before the next one.
            endStep();
            const next = Number(wait[1]);
            void pacer.release(next, () => {
              phase = 'waiting';
              caption();
              o.onWaiting?.(next, total);
            });
            continue;
          }
          if (!m) {
            output += line + '\n';
            stepOutput += line + '\n';
            o.onOutput?.(line);
            if (line.trim()) pushSoon();
            continue;
          }
          endStep();
          current = Number(m[1]);
          stepStart = performance.now();
          stepOutput = '';
          stepEnded = false;
          phase = 'running';
          const s = demo.steps[current - 1];
          if (s) {
            pacer.shown(current);
            stepText = s.text;
            liveLines = [];
            caption();
            if (s.showStructure) engine.push({ event: 'action', action: 'structureShow' });
            o.onStep?.(current, total, s.title, s.text);
            if (s.facts || s.live) factsDone = addFacts(current, s);
          }
        }
      };
      gf.stdout.on('data', onData);
      gf.stderr.on('data', onData);
      gf.on('close', (code) => resolve(code));
    });
    await factsDone;
    stopLive();
    if (pushTimer) clearTimeout(pushTimer);
    if (current <= total) endStep();
    running = false;
    const report: DemoReport = {
      demo: demo.name,
      ok: exitCode === 0,
      exitCode,
      seconds: (performance.now() - t0) / 1000,
      steps,
      output,
    };
    // The end stays on screen: what happened, per step and per disk, until the page closes it.
    engine.push({ event: 'caption', demo: demo.title, step: total, total, ...summaryCaption(demo, report, engine) });
    return { report, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The sticky end-of-demo caption: the outcome, each step's time, and each disk's blocks. */
export function summaryCaption(
  demo: Demo,
  r: DemoReport,
  engine: Engine,
): { title: string; text: string; evidence: string; phase: 'done' } {
  const failedIn = r.steps.length ? r.steps[r.steps.length - 1].title : 'start';
  const stepLines = r.steps.map(
    (s) => `${String(s.step).padStart(2)}. ${s.title.padEnd(24)} ${s.seconds.toFixed(1)} s`,
  );
  const diskLines = engine.disks.map((d) => {
    const i = d.info();
    const b = i.blocks;
    return `disk ${i.number}: ${b.written} written, ${b.trimmed} trimmed, ${b.zeroed} zeroed${i.errorsOn ? ' — FAILED' : ''}`;
  });
  return {
    title: r.ok ? 'Demo finished' : 'The demo stopped',
    text: r.ok
      ? `${demo.title}: ${r.steps.length} steps in ${r.seconds.toFixed(0)} s. The disks stay up: explore the picture.`
      : `guestfish failed in step "${failedIn}" (exit ${r.exitCode}); its messages are in the terminal.`,
    evidence: [...stepLines, '', ...diskLines].join('\n'),
    phase: 'done',
  };
}
