// `npm run demo -- single|raid5`: run a classic demo with real Linux I/O (guestfish) against
// Blockscope's disks, narrated on screen. Options:
//   --delay MS       delay filter on reads and writes (default 40: slow enough to follow)
//   --headless       start at once (no wait for a page) and stop when done
//   --keep-open      with --headless: still serve until Ctrl-C when done
//   --wait-viewer    with --headless: still wait for a page to connect before starting
//   --linger MS      with --headless: keep serving MS ms after the end (for a last look)
//   --report FILE    write the per-step report (JSON)
import { writeFileSync } from 'node:fs';
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
  const name = argv.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? '';
  const demo = DEMOS[name as keyof typeof DEMOS];
  if (!demo) {
    console.error(`blockscope demo: choose one of: ${Object.keys(DEMOS).join(', ')} (npm run demo -- raid5)`);
    return 2;
  }
  const opt = (k: string) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : undefined);
  const delayMs = Number(opt('--delay') ?? 40);
  if (!Number.isInteger(delayMs) || delayMs < 0) {
    console.error('blockscope demo: --delay takes milliseconds (e.g. 40)');
    return 2;
  }
  const headless = argv.includes('--headless');
  console.log(`${demo.title} — ${demo.disks} disk(s), delay ${delayMs} ms`);
  const k = kernelNbdClient();
  console.log(
    `kernel NBD client: ${k.usable ? `available (${k.why})` : `not usable here: ${k.why}`}; the demo drives the disks with guestfish`,
  );
  const run = await runDemo(demo, {
    delayMs,
    waitForViewer: !headless || argv.includes('--wait-viewer'),
    onReady: (ui, uris) => {
      uris.forEach((u, i) => console.log(`disk${i + 1} ${u}`));
      console.log(`ui ${ui}`);
      if (!headless) console.log('Open the URL above: the demo starts when the page is connected.');
    },
    onStep: (step, total, title, text) => console.log(`\nSTEP ${step}/${total} ${title}: ${text}`),
    onOutput: (line) => line.trim() && console.log(`  | ${line}`),
  });
  const r = run.report;
  console.log(`\n${r.ok ? 'demo finished' : `guestfish failed (exit ${r.exitCode})`} in ${r.seconds.toFixed(1)} s`);
  for (const s of r.steps)
    console.log(`  ${String(s.step).padStart(2)}. ${s.title.padEnd(24)} ${s.seconds.toFixed(1)} s`);
  if (!r.ok) console.log(diagnose(r));
  const report = opt('--report');
  if (report) writeFileSync(report, JSON.stringify(r, null, 2));
  const linger = Number(opt('--linger') ?? 0);
  if (headless && linger > 0) await new Promise((res) => setTimeout(res, linger));
  if (!headless || argv.includes('--keep-open')) {
    console.log('The disks stay up so the picture can be explored; Ctrl-C to stop.');
    await new Promise<void>((res) => {
      process.once('SIGINT', () => res());
      process.once('SIGTERM', () => res());
    });
  }
  await run.close();
  return r.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (c) => process.exit(c),
  (e) => {
    console.error(`blockscope demo: ${e.message}`);
    process.exit(1);
  },
);
