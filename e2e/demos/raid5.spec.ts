// Acceptance: the RAID 5 demo under guestfish — a member fails, md rebuilds onto the spare,
// a second failure leaves the array degraded but readable — and the grid shows it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { checkDemoPrerequisites, type DiskSnapshot } from '../../server/demos/driver.ts';
import type { ArrayStatus, StructureStatus } from '../../server/shared/structure.ts';
import { ARTIFACTS, apiGet, pixel, runDemoInPage } from './run.ts';

test('demo raid5: GPT, initial sync, discard, failure, rebuild onto the spare, degraded', async ({ page }) => {
  // Generous: under TCG on a shared 2-core machine the appliance alone can take minutes.
  test.setTimeout(900_000);
  checkDemoPrerequisites();
  const dir = mkdtempSync(join(tmpdir(), 'raid5-recording-'));
  const recording = join(dir, 'raid5.bsrec');
  const probes = join(dir, 'probes.json');
  const evidence = new Map<number, string>();
  let arrays: ArrayStatus[] = [];
  const caption = page.getByRole('region', { name: 'demo caption' });
  const { report: r } = await runDemoInPage(
    page,
    'raid5',
    0,
    async (p) => {
      // The decoder's view at the end: disk 5 took role 2 and holds every stripe; 3 and 4 are stale.
      // Read once the labels have caught up with md's last superblock writes (a decode is
      // deferred while the disks are busy; with worker threads the last events come a little later).
      await expect
        .poll(async () => (await apiGet(p.url())<StructureStatus>('/api/structure')).stale, { timeout: 30_000 })
        .toBe(false);
      arrays = await apiGet(p.url())<ArrayStatus[]>('/api/structure/arrays');
      await expect(p.getByRole('checkbox', { name: 'Disk 3 errors' })).toBeChecked();
      await expect(p.getByRole('checkbox', { name: 'Disk 4 errors' })).toBeChecked();
      // Failed disks are unmistakable: a FAILED badge in their panel.
      await expect(p.getByTestId('disk-3')).toContainText('FAILED');
      await expect(p.getByTestId('disk-2')).not.toContainText('FAILED');
      const gptEnd = (await pixel(p, 5, 16383)).slice(0, 3);
      expect(gptEnd).not.toEqual([0x5c, 0x64, 0x74]); // the spare's backup GPT is not untouched
      await expect(caption).toContainText('Demo finished');
      await expect(caption).toContainText('disk 3:');
    },
    {
      // Step mode: the test is the presenter. At each pause it reads what the guest printed for
      // the step just done (shown in the page beside the caption), then goes on with a key press
      // or the Next button.
      args: ['--step', '--record', recording, '--probes', probes],
      onWaiting: async (p, next) => {
        await expect(caption).toContainText('step done');
        const done = Number.isFinite(next) ? next - 1 : 10;
        evidence.set(done, (await p.getByLabel('what the guest printed').textContent({ timeout: 15_000 })) ?? '');
        // The docs' demo picture: disk 3 failed and rebuilt, mdstat beside the caption.
        if (done === 8) await p.screenshot({ path: join(ARTIFACTS, 'raid5-waiting-after-step8.png') });
        if (done % 2) await p.keyboard.press('n');
        else await p.getByRole('button', { name: /Next step|Finish/ }).click();
      },
    },
  );
  expect(r.ok).toBe(true);
  const idx = (title: string) => r.steps.findIndex((s) => s.title === title);
  const output = (title: string) => r.steps[idx(title)].output;
  // The guest kernel names the disks in the order its scan finishes (disk 3 may be sdd): the
  // demo prints its names, and the kernel's messages are read with them.
  const kernel = (disk: number) => {
    const name = new RegExp(`disk${disk} is (sd[a-z]+)`).exec(output('Disk 3 fails'))?.[1];
    expect(name, `the demo printed disk ${disk}'s kernel name`).toBeTruthy();
    return name!;
  };
  const [sd3, sd4, sd5] = [kernel(3), kernel(4), kernel(5)];
  // The guest's own evidence, as the audience saw it next to the captions.
  expect(evidence.get(7)).toMatch(/\[UUUU\]/); // "Disk 3 fails": rebuilt onto the spare
  expect(evidence.get(8)).toMatch(new RegExp(`${sd3}1\\[\\d+\\]\\(F\\)`)); // "/proc/mdstat"
  expect(evidence.get(10)).toMatch(`Disk failure on ${sd4}1`); // "Kernel messages"
  const after = (title: string) => r.steps[idx(title)].after;
  const before = (title: string) => r.steps[idx(title) - 1].after;
  const delta = (title: string, disk: number, f: (d: DiskSnapshot) => number) =>
    f(after(title)[disk - 1]) - f(before(title)[disk - 1]);

  for (const d of after('GPT on each disk'))
    expect([d.number, d.firstCell, d.lastCell]).toEqual([d.number, 'written', 'written']);
  // Initial sync: md reads the data members and writes parity.
  for (const disk of [1, 2, 3])
    expect(delta('md-create RAID 5', disk, (d) => d.counters.read.count)).toBeGreaterThan(0);
  expect(delta('md-create RAID 5', 4, (d) => d.counters.write.bytes)).toBeGreaterThan(1 << 20);
  // mkfs discards data and parity on every active member.
  for (const disk of [1, 2, 3, 4])
    expect(delta('mkfs.ext4 on the array', disk, (d) => d.blocks.trimmed)).toBeGreaterThan(1000);
  // Disk 3 fails: its requests error, the survivors are read and the spare is written.
  expect(delta('Disk 3 fails', 3, (d) => d.counters.read.errors + d.counters.write.errors)).toBeGreaterThan(0);
  for (const disk of [1, 2, 4]) expect(delta('Disk 3 fails', disk, (d) => d.counters.read.count)).toBeGreaterThan(0);
  expect(delta('Disk 3 fails', 5, (d) => d.counters.write.bytes)).toBeGreaterThan(8 << 20);
  expect(output('Disk 3 fails')).toMatch(new RegExp(`${sd3}1\\[\\d+\\]\\(F\\)`));
  expect(output('Disk 3 fails')).toMatch(/\[4\/4\] \[UUUU\]/); // rebuilt onto the spare
  expect(output('/proc/mdstat')).toMatch(new RegExp(`${sd5}1\\[\\d+\\](?!\\(S\\))`)); // the spare is a member now
  // Disk 4 fails too: degraded, still readable from the disks (page cache dropped): the 4 MiB
  // file written during the rebuild reads back intact, rebuilt from disks 1, 2 and 5.
  expect(delta('Disk 4 fails', 4, (d) => d.counters.read.errors + d.counters.write.errors)).toBeGreaterThan(0);
  for (const disk of [1, 2, 5]) expect(delta('Disk 4 fails', disk, (d) => d.counters.read.count)).toBeGreaterThan(0);
  expect(output('Disk 4 fails')).toMatch(/hello from the array/);
  const md5 = createHash('md5')
    .update(Buffer.alloc(4 << 20, 98))
    .digest('hex');
  expect(output('Disk 4 fails')).toContain(`${md5}  /sysroot/after-failure`);
  expect(output('Disk 4 fails')).toMatch(/\[4\/3\] \[UUU_\]/);
  expect(output('Kernel messages')).toMatch(`Disk failure on ${sd3}1`);
  expect(output('Kernel messages')).toMatch(`Disk failure on ${sd4}1`);
  expect(output('Kernel messages')).toMatch(/md127: recovery done/);
  // The recording plays back identically where guestfish does not exist: the exact state of
  // every disk (every block, error marks, counters) at each probed instant of the live run.
  const probed = JSON.parse(readFileSync(probes, 'utf8')) as unknown[];
  expect(probed.length).toBeGreaterThanOrEqual(20);
  const verify = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'verify-recording.ts'), recording, probes],
    { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, PATH: '/nonexistent' }, encoding: 'utf8' },
  );
  expect(verify.status, verify.stderr).toBe(0);
  const v = JSON.parse(verify.stdout.trim().split('\n').pop()!) as {
    guestfish: boolean;
    checked: number;
    mismatches: unknown[];
  };
  expect(v.guestfish).toBe(false);
  expect(v.checked).toBeGreaterThanOrEqual(20);
  expect(v.mismatches).toEqual([]);

  // Parity placement in the caption, as md's left-symmetric arithmetic has it: stripe s on
  // role n-1 - (s mod n), i.e. disk 4 - s for the first four stripes.
  const stepCaption = (title: string) => r.steps[idx(title)].caption;
  expect(stepCaption('mkfs.ext4 on the array')).toContain(
    'Parity (P) rotates from stripe to stripe: stripe 0 on disk 4, stripe 1 on disk 3, stripe 2 on disk 2, stripe 3 on disk 1, then round again.',
  );
  const md0 = arrays.find((a) => a.name === 'md0')!;
  expect(md0.description).toBe('RAID 5, left-symmetric, 512 KiB chunks');
  const member = (disk: number) => md0.members.find((x) => x.disk === disk)!;
  expect([member(5).role, member(5).state, member(5).stripesWritten]).toEqual([2, 'active', md0.stripes]);
  expect([member(3).state, member(4).state]).toEqual(['stale', 'stale']);
  // Disk 4 failed after the rebuild: md runs the array without its role, and the array says so.
  expect([md0.missing, md0.notFound]).toEqual([[member(4).role], []]);
  expect(stepCaption('/proc/mdstat')).toContain(
    `Rebuild onto disk 5 (md0 role 2): ${md0.stripes} of ${md0.stripes} stripes reconstructed`,
  );
  console.log(
    `demo raid5: ${r.seconds.toFixed(1)} s; ${r.steps.map((s) => `${s.title} ${s.seconds.toFixed(1)} s`).join(', ')}`,
  );
});
