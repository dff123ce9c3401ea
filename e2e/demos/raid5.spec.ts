// Acceptance: the RAID 5 demo under guestfish — a member fails, md rebuilds onto the spare,
// a second failure leaves the array degraded but readable — and the grid shows it.
import { createHash } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { checkDemoPrerequisites, type DiskSnapshot } from '../../server/demos/driver.ts';
import { pixel, runDemoInPage } from './run.ts';

test('demo raid5: GPT, initial sync, discard, failure, rebuild onto the spare, degraded', async ({ page }) => {
  test.setTimeout(420_000);
  checkDemoPrerequisites();
  const r = await runDemoInPage(page, 'raid5', 0, async (p) => {
    // Disk 3's failed requests show in the warning colour somewhere on its grid start.
    await expect(p.getByTestId('error-3')).toBeChecked();
    await expect(p.getByTestId('error-4')).toBeChecked();
    const gptEnd = (await pixel(p, 5, 16383)).slice(0, 3);
    expect(gptEnd).not.toEqual([0x5c, 0x64, 0x74]); // the spare's backup GPT is not untouched
  });
  expect(r.ok).toBe(true);
  const idx = (title: string) => r.steps.findIndex((s) => s.title === title);
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
  const output = (title: string) => r.steps[idx(title)].output;
  expect(output('Disk 3 fails')).toMatch(/sdc1\[\d+\]\(F\)/);
  expect(output('Disk 3 fails')).toMatch(/\[4\/4\] \[UUUU\]/); // rebuilt onto the spare
  expect(output('/proc/mdstat')).toMatch(/sde1\[\d+\](?!\(S\))/); // the spare is a member now
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
  expect(output('Kernel messages')).toMatch(/Disk failure on sdc1/);
  expect(output('Kernel messages')).toMatch(/Disk failure on sdd1/);
  expect(output('Kernel messages')).toMatch(/md127: recovery done/);
  console.log(
    `demo raid5: ${r.seconds.toFixed(1)} s; ${r.steps.map((s) => `${s.title} ${s.seconds.toFixed(1)} s`).join(', ')}`,
  );
});
