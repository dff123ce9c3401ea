// Acceptance: "a filesystem's life on one disk" under guestfish tells its story on the grid.
import { expect, test } from '@playwright/test';
import { checkDemoPrerequisites } from '../../server/demos/driver.ts';
import type { BlockChain, DiskMap } from '../../server/shared/structure.ts';
import { pixel, runDemoInPage, type ApiGet } from './run.ts';

test('demo single: GPT at both ends, mkfs discard and journal zeroing, lazy inode-table init, data, fstrim, blkdiscard', async ({
  page,
}) => {
  test.setTimeout(240_000);
  checkDemoPrerequisites();
  // What the decoder says once mkfs is done and the files are being unpacked (step 5 starts).
  let mapAfterMkfs: DiskMap | null = null;
  let journalBlock: BlockChain | null = null;
  const onStep = async (step: number, get: ApiGet) => {
    if (step !== 5) return;
    mapAfterMkfs = await get<DiskMap>('/api/disks/1/map');
    const j = mapAfterMkfs.ranges.find((x) => x.kind === 'journal' && x.chain.at(-1)!.label === 'journal');
    if (j) journalBlock = await get<BlockChain>(`/api/disks/1/blocks/${Number(BigInt(j.start) / 4096n) + 1}`);
  };
  const MIN_CAPTION_MS = 1500;
  const { report: r, stepTimes } = await runDemoInPage(
    page,
    'single',
    2,
    async (p) => {
      // After blkdiscard the whole disk is trimmed: purple at both ends and in the middle.
      // (Polled: the last reads' flashes may still be fading.)
      for (const cell of [0, 8192, 16383])
        await expect
          .poll(async () => (await pixel(p, 1, cell)).slice(0, 3), { timeout: 3000 })
          .toEqual([0xc9, 0xa7, 0xff]);
      // The end of the demo stays on screen: a summary, not an empty bar.
      const caption = p.getByRole('region', { name: 'demo caption' });
      await expect(caption).toContainText('Demo finished');
      await expect(caption).toContainText('blkdiscard');
      await expect(caption).toContainText('disk 1: 0 written, 16384 trimmed');
      // Recorded by default, as `serve` is: the time machine can take the audience back to mkfs.
      await expect(p.getByRole('group', { name: 'time machine' })).toBeVisible();
    },
    { args: ['--min-caption', String(MIN_CAPTION_MS)], onStep },
  );
  expect(r.ok).toBe(true);
  // Every caption stayed up at least the minimum, however quick its step (Boot excepted: it
  // is the appliance's start, seconds long anyway).
  for (let i = 1; i < stepTimes.length; i++)
    expect(stepTimes[i] - stepTimes[i - 1], `step ${i} shown long enough`).toBeGreaterThanOrEqual(MIN_CAPTION_MS - 50);
  const by = (title: string) => r.steps.find((s) => s.title === title)!.after[0];
  const boot = by('Boot');
  expect(boot.counters.read.count).toBeGreaterThan(10); // probing
  expect(boot.blocks.written).toBe(0);
  const gpt = by('GPT');
  expect([gpt.firstCell, gpt.lastCell]).toEqual(['written', 'written']);
  const mkfs = by('mkfs.ext4');
  expect(mkfs.blocks.trimmed).toBeGreaterThan(14_000); // the discard over the partition
  expect(mkfs.blocks.zeroed).toBeGreaterThan(1000); // the 4 MiB journal, by write-zeroes
  expect(mkfs.blocks.written).toBeGreaterThan(gpt.blocks.written);
  // Lazy inode-table init: after mount the kernel zeroes the tables mkfs left (trimmed → zeroed).
  const mount = by('Mount');
  expect(mount.counters.zero.count).toBeGreaterThan(mkfs.counters.zero.count);
  expect(mount.blocks.zeroed - mkfs.blocks.zeroed).toBeGreaterThan(500);
  expect(mkfs.blocks.trimmed - mount.blocks.trimmed).toBeGreaterThan(500);
  const unpack = by('Unpack + sync');
  expect(unpack.blocks.written - mkfs.blocks.written).toBeGreaterThan(500); // ~5 MiB of files
  const del = by('Delete + sync');
  expect(del.counters.write.count - unpack.counters.write.count).toBeLessThan(20); // almost nothing
  expect(del.counters.trim.count).toBe(unpack.counters.trim.count);
  const fstrim = by('fstrim');
  expect(fstrim.counters.trim.count).toBeGreaterThan(del.counters.trim.count);
  expect(fstrim.blocks.written).toBeLessThan(del.blocks.written - 500); // freed data turned purple
  const end = by('blkdiscard');
  expect(end.blocks.trimmed).toBe(16384);

  // The captions name what the overlay shows, in the decoder's words, and the API agrees.
  const caption = (title: string) => r.steps.find((s) => s.title === title)!.caption;
  const mountCaption = caption('Mount');
  const m =
    /On the overlay: the journal \((\d+(?:\.\d)?) MiB at [\d.]+–[\d.]+ MiB\), the inode tables of all (\d+) groups in one band at [\d.]+–[\d.]+ MiB \(flex_bg\), backup superblocks at groups ([\d, and]+)\./.exec(
      mountCaption,
    );
  expect(m, mountCaption).not.toBeNull();
  const [, journalMiB, groups, backups] = m!;
  const map = mapAfterMkfs as DiskMap | null;
  expect(map).not.toBeNull();
  const ranges = map!.ranges;
  const bytes = (kind: string) =>
    ranges.filter((x) => x.kind === kind).reduce((n, x) => n + Number(x.end) - Number(x.start), 0);
  expect(bytes('journal') / 2 ** 20).toBe(Number(journalMiB));
  const itableGroups = new Set(ranges.filter((x) => x.kind === 'inode-table').map((x) => x.chain.at(-2)!.label));
  expect(itableGroups.size).toBe(Number(groups));
  const backupGroups = ranges
    .map((x) => /^backup superblock \(group (\d+)\)$/.exec(x.chain.at(-1)!.label)?.[1])
    .filter(Boolean)
    .map(Number);
  expect(backups.split(/, | and /).map(Number)).toEqual(backupGroups);
  expect(backupGroups.slice(0, 4)).toEqual([1, 3, 5, 7]); // sparse_super: groups 1 and powers of 3, 5, 7
  expect((journalBlock as BlockChain | null)?.parts[0].chain.map((c) => c.label)).toEqual([
    'GPT partition 1 "p1"',
    'ext4',
    'journal',
  ]);
  expect(caption('Delete + sync')).toMatch(/On the overlay: 96 files under \/src fill [\d.]+ MiB of data blocks\./);
  console.log(
    `demo single: ${r.seconds.toFixed(1)} s; ${r.steps.map((s) => `${s.title} ${s.seconds.toFixed(1)} s`).join(', ')}`,
  );
});
