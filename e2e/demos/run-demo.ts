// `npm run demo -- single|raid5`: run a classic demo with real Linux I/O (guestfish) against
// Blockscope's disks, narrated on screen. Options:
//   --delay MS         delay filter on reads and writes (default 40: slow enough to follow)
//   --port P           NBD ports P, P+1, … (fixed URIs for a presenter; default: any free ports)
//   --api P            the UI and control API on port P (a fixed URL; default: any free port)
//   --step             wait between steps for the presenter: N, PageDown or → in the page,
//                      a click on Next, Enter in this terminal, or POST /api/demo {"action":"next"}
//   --min-caption MS   keep each caption up at least MS ms (default: reading time; 0: off)
//   --present, --palette NAME, --flash MS   UI settings for the printed URL
//   --headless         start at once (no wait for a page) and stop when done
//   --keep-open        with --headless: still serve until Ctrl-C when done
//   --wait-viewer      with --headless: still wait for a page to connect before starting
//   --linger MS        with --headless: keep serving MS ms after the end (for a last look)
//   --report FILE      write the per-step report (JSON)
//   --record FILE      keep the demo's recording in FILE (.bsrec); without it the time machine
//                      records to a temporary file (save it from the UI), as `serve` does
//   --record-limit SIZE, --no-record   as for `serve`
//   --probes FILE      with --record: every 2 s and at each step, the exact state of every disk
//                      and the instant it was taken (JSON), to check the recording against
import { writeFileSync } from 'node:fs';
import {
  CliError,
  UI_OPTIONS,
  intOption,
  one,
  parseArgs,
  recordOption,
  startRecording,
  uiQuery,
} from '../../server/cli/args.ts';
import { Engine } from '../../server/engine.ts';
import { stateDigest, type StateDigest } from '../../server/timeline/digest.ts';
import { DEMOS } from '../../server/demos/demos.ts';
import { kernelNbdClient, runDemo, type DemoReport } from '../../server/demos/driver.ts';

/** One line saying where it broke and what to try. */
function diagnose(r: DemoReport): string {
  const failedIn = r.steps.length > 0 ? r.steps[r.steps.length - 1].title : 'start';
  // `run` (the Boot step) is where the appliance starts: qemu, kernel, supermin.
  if (failedIn === 'Boot' || /guestfs_launch|appliance/.test(r.output))
    return `the libguestfs appliance did not start (step "${failedIn}"): run LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg libguestfs-test-tool to see why`;
  return `guestfish stopped in step "${failedIn}": its messages are above`;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: [
      '--delay',
      '--port',
      '--api',
      '--min-caption',
      '--linger',
      '--report',
      '--record',
      '--record-limit',
      '--probes',
      ...UI_OPTIONS.values,
    ],
    flags: ['--headless', '--keep-open', '--wait-viewer', '--step', '--no-record', ...UI_OPTIONS.flags],
  });
  const name = args.positional[0] ?? '';
  const demo = DEMOS[name as keyof typeof DEMOS];
  if (!demo || args.positional.length > 1) {
    console.error(`blockscope demo: choose one of: ${Object.keys(DEMOS).join(', ')} (npm run demo -- raid5)`);
    return 2;
  }
  const opt = (k: string) => one(args, k);
  const delayMs = intOption(args, '--delay', 0, 600_000) ?? 40;
  const port = intOption(args, '--port', 0, 65535 - demo.disks);
  const apiPort = intOption(args, '--api', 0, 65535);
  const minText = opt('--min-caption') ?? 'auto';
  if (minText !== 'auto' && !/^\d+$/.test(minText))
    throw new CliError(`--min-caption: expected milliseconds or auto, got '${minText}'`);
  const minCaptionMs = minText === 'auto' ? 'auto' : Number(minText);
  const stepMode = args.flags.has('--step');
  const query = uiQuery(args);
  const headless = args.flags.has('--headless');
  // Recorded unless --no-record, as `serve` is: the audience can be taken back to any step.
  const recordChoice = recordOption(args);
  const probesPath = opt('--probes');
  if (probesPath && !recordChoice?.path) throw new CliError('--probes: needs --record FILE (it checks that recording)');
  console.log(`${demo.title} — ${demo.disks} disk(s), delay ${delayMs} ms`);
  const k = kernelNbdClient();
  console.log(
    `kernel NBD client: ${k.usable ? `available (${k.why})` : `not usable here: ${k.why}`}; the demo drives the disks with guestfish`,
  );
  const engine = recordChoice ? new Engine() : undefined;
  const recording = engine ? await startRecording(engine, recordChoice, 'serve') : null;
  const probes: Array<{ step: number; disks: Array<StateDigest & { sec: number }> }> = [];
  let step = 0;
  /**
   * Each disk's exact live state at an instant of its own: its data path (a worker thread) says
   * when every event up to that instant has reached the engine, and none after it has.
   */
  const probe = async () => {
    const rec = engine?.timeline?.recorder;
    if (!rec || !engine.disks.length) return;
    const at = step;
    const disks: Array<StateDigest & { sec: number }> = [];
    await Promise.all(
      engine.disks.map(
        (d) =>
          d.path?.barrier((us) => disks.push({ ...stateDigest(d.stats), sec: rec.timeOf(us) / 1e6 })).catch(() => {}), // a disk already closed has no instant to offer
      ),
    );
    if (disks.length) probes.push({ step: at, disks: disks.sort((a, b) => a.disk - b.disk) });
  };
  const timer = probesPath ? setInterval(() => void probe(), 2000) : null;
  // Step mode: Enter in this terminal goes on too.
  let advance: (() => void) | null = null;
  const onEnter = () => advance?.();
  if (stepMode && process.stdin.isTTY) process.stdin.on('data', onEnter);
  const demoRun = await runDemo(demo, {
    ...(engine ? { engine, ui: true } : {}),
    delayMs,
    port,
    apiPort,
    stepMode,
    minCaptionMs,
    query,
    waitForViewer: !headless || args.flags.has('--wait-viewer'),
    onWaiting: (next, total) =>
      console.log(
        next > total
          ? '\nLast step done: N / → in the page, or Enter here, for the summary'
          : `\nWaiting for the presenter: N / → in the page, or Enter here, for step ${next}/${total}`,
      ),
    onReady: (ui, uris, next) => {
      advance = next;
      uris.forEach((u, i) => console.log(`disk${i + 1} ${u}`));
      console.log(`ui ${ui}`);
      if (!headless) console.log('Open the URL above: the demo starts when the page is connected.');
    },
    onStep: (n, total, title, text) => {
      void probe();
      step = n;
      console.log(`\nSTEP ${n}/${total} ${title}: ${text}`);
    },
    onOutput: (line) => line.trim() && console.log(`  | ${line}`),
  });
  if (timer) clearInterval(timer);
  await probe();
  if (probesPath) writeFileSync(probesPath, JSON.stringify(probes, null, 1));
  process.stdin.off('data', onEnter);
  process.stdin.pause();
  const r = demoRun.report;
  console.log(`\n${r.ok ? 'demo finished' : `guestfish failed (exit ${r.exitCode})`} in ${r.seconds.toFixed(1)} s`);
  for (const s of r.steps)
    console.log(`  ${String(s.step).padStart(2)}. ${s.title.padEnd(24)} ${s.seconds.toFixed(1)} s`);
  if (!r.ok) console.log(diagnose(r));
  const report = opt('--report');
  if (report) writeFileSync(report, JSON.stringify(r, null, 2));
  const linger = Number(opt('--linger') ?? 0);
  if (headless && linger > 0) await new Promise((res) => setTimeout(res, linger));
  if (!headless || args.flags.has('--keep-open')) {
    console.log('The disks stay up so the picture can be explored; Ctrl-C to stop.');
    await new Promise<void>((res) => {
      process.once('SIGINT', () => res());
      process.once('SIGTERM', () => res());
    });
  }
  await demoRun.close();
  await recording?.close();
  if (recordChoice?.path) console.log(`recording ${recordChoice.path}`);
  await engine?.closeAll();
  return r.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (c) => process.exit(c),
  (e) => {
    console.error(`blockscope demo: ${e.message}`);
    process.exit(e instanceof CliError ? 2 : 1);
  },
);
