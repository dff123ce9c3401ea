// The two classic demos as data: each step has a caption and the guestfish commands that make
// it happen. `!` lines run on the host in the middle of guestfish's script: the driver uses them
// to learn when a step starts, and the RAID demo flips Blockscope's own Error toggles with them.

import { extLayout, filesUnder, parityRotation, rebuildProgress, type DemoFacts } from './facts.ts';

export interface DemoContext {
  /** guestfish `add-drive` targets, one per disk: "tcp:127.0.0.1:PORT". */
  servers: string[];
  /** Blockscope's control API base, e.g. http://127.0.0.1:PORT/api */
  api: string;
  /** A file holding the `Authorization: Bearer …` header the API requires (curl -H @FILE: the token stays out of `ps`). */
  apiAuthHeader: string;
  /** A small tarball of files to unpack, on the host. */
  tarball: string;
  /** The directory the tarball unpacks into (inside the guest filesystem). */
  tarDir: string;
}

export interface DemoStep {
  title: string;
  text: string;
  commands: (c: DemoContext) => string[];
  /** Words from the structure decoder added to the caption when the step starts (what the overlay shows). */
  facts?: (f: DemoFacts) => string | null;
  /** Re-evaluated every second while the step runs (rebuild progress). */
  live?: (f: DemoFacts) => string | null;
  /** Switch the viewers' Structure overlay on when the step starts (what the caption explains). */
  showStructure?: boolean;
}

export interface Demo {
  name: 'single' | 'raid5';
  disks: number;
  title: string;
  /** Kernel command line additions (before `run`). */
  append?: string;
  steps: DemoStep[];
}

/**
 * Wait (at most 60 s) until the kernel's ext4lazyinit thread has finished zeroing the inode
 * tables: the thread exits when it has no filesystem left to initialise. (guestfish splits
 * `debug sh` arguments on spaces and drops single quotes: none are used here.)
 */
const waitForLazyInit =
  'debug sh "i=0; while grep -qs ext4lazyinit /proc/[0-9]*/comm && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"';

/**
 * The guest kernel's name of a disk (SCSI target = disk number - 1): guestfish's /dev/sdX follow the order the disks were added,
 * but the kernel names them in the order its SCSI scan finishes, which under load is not always
 * that order (disk 3 can be sdd). The SCSI target number is the add order. (No `#` here: guestfish
 * would take it for a comment.)
 */
const kernelNameOfTarget = (target: string) => `$(ls /sys/bus/scsi/devices/*:0:${target}:0/block)`;

/** Prints "diskN is sdX" for every disk, so that the kernel's messages can be read (and tested). */
const printKernelNames = (disks: number) =>
  `debug sh "for n in ${Array.from({ length: disks }, (_, i) => i + 1).join(' ')}; do echo disk$n is ${kernelNameOfTarget('$((n-1))')}; done"`;

/**
 * Wait (at most 120 s) until md has marked disk 3 faulty and finished rebuilding onto the spare.
 * `mdadm --wait` alone can return before md has even noticed the failure.
 */
const waitForRebuild = `debug sh "d=${kernelNameOfTarget('2')}; i=0; until grep -qs faulty /sys/block/md127/md/dev-\${d}1/state && grep -q idle /sys/block/md127/md/sync_action && grep -q UUUU /proc/mdstat || [ $i -ge 1200 ]; do sleep 0.1; i=$((i+1)); done; cat /proc/mdstat"`;

/** The host command (a guestfish `!` line) that flips a disk's Error toggle through the control API. */
export const toggle = (c: DemoContext, disk: number, on: boolean) =>
  `! curl -sS --fail -o /dev/null -H @${c.apiAuthHeader} -X POST -d '{"on":${on}}' ${c.api}/disks/${disk}/errors`;

export const SINGLE: Demo = {
  name: 'single',
  disks: 1,
  title: "A filesystem's life on one disk",
  steps: [
    {
      title: 'Boot',
      text: 'The appliance kernel boots and probes the disk: partition tables, filesystem signatures (black flashes).',
      commands: () => ['run'],
    },
    {
      title: 'GPT',
      text: 'part-disk writes a GPT: the protective MBR and primary table at the start, the backup table at the very end (red at both ends).',
      commands: () => ['part-disk /dev/sda gpt'],
    },
    {
      title: 'mkfs.ext4',
      text: 'mkfs discards the whole partition (purple), zeroes the journal and inode tables with write-zeroes requests (white), then writes superblocks, backups, group descriptors and bitmaps (red).',
      commands: () => ['mkfs ext4 /dev/sda1'],
    },
    {
      title: 'Mount',
      text: 'mkfs left the inode tables to the kernel (lazy_itable_init): a few seconds after mount, the ext4lazyinit thread zeroes them one block group at a time (white spreading over purple).',
      commands: () => ['mount /dev/sda1 /', waitForLazyInit],
      facts: (f) => extLayout(f, 1),
      showStructure: true,
    },
    {
      title: 'Unpack + sync',
      text: 'A tarball is unpacked: file data lands first, then sync writes the metadata and the journal.',
      commands: (c) => [`mkdir /${c.tarDir}`, `tar-in ${c.tarball} /${c.tarDir}`, 'sync'],
    },
    {
      title: 'Delete + sync',
      text: 'Deleting the files changes a few metadata blocks only: the data blocks are simply forgotten, still red.',
      facts: (f) => filesUnder(f, '/src'),
      commands: (c) => [`rm-rf /${c.tarDir}`, 'sync'],
    },
    {
      title: 'fstrim',
      text: 'fstrim tells the disk which blocks are free: the freed data turns purple.',
      commands: () => ['fstrim /'],
    },
    {
      title: 'blkdiscard',
      text: 'Unmount and discard the whole device: everything is purple.',
      commands: () => ['umount-all', 'blkdiscard /dev/sda'],
    },
  ],
};

export const RAID5: Demo = {
  name: 'raid5',
  disks: 5,
  title: 'RAID 5 with a hot spare: failure and rebuild',
  append: 'raid456.devices_handle_discard_safely=1',
  steps: [
    {
      title: 'Boot',
      text: 'Five disks: four for RAID 5, one hot spare. The appliance boots and probes them.',
      commands: () => ['run'],
    },
    {
      title: 'GPT on each disk',
      text: 'Every member gets a GPT: red at the start and at the end of each disk.',
      commands: () => ['a', 'b', 'c', 'd', 'e'].map((x) => `part-disk /dev/sd${x} gpt`),
    },
    {
      title: 'md-create RAID 5',
      text: 'mdadm builds the array over disks 1–4 with disk 5 as spare; the initial sync reads disks 1–3 and writes parity onto the last member.',
      commands: () => [
        'md-create md0 "/dev/sda1 /dev/sdb1 /dev/sdc1 /dev/sdd1 /dev/sde1" level:raid5 nrdevices:4 spare:1',
        'debug sh "mdadm --wait /dev/md127; cat /proc/mdstat"',
      ],
    },
    {
      title: 'mkfs.ext4 on the array',
      text: 'mkfs discards the array: data and parity regions on every member turn purple, then metadata is written.',
      facts: (f) => parityRotation(f, [1, 2, 3, 4]),
      showStructure: true,
      commands: () => ['mkfs ext4 /dev/md127'],
    },
    {
      title: 'Mount, unpack',
      text: 'After mount the kernel initialises the inode tables (plain writes: RAID 5 has no write-zeroes); then files are unpacked, striped over the members with parity.',
      commands: (c) => [
        'mount /dev/md127 /',
        waitForLazyInit,
        'write /hello.txt "hello from the array"',
        `mkdir /${c.tarDir}`,
        `tar-in ${c.tarball} /${c.tarDir}`,
        'sync',
      ],
    },
    {
      title: 'Delete + fstrim',
      text: 'Delete the files and fstrim: discards pass through RAID 5 to the members.',
      commands: (c) => [`rm-rf /${c.tarDir}`, 'sync', 'fstrim /'],
    },
    {
      title: 'Disk 3 fails',
      text: 'Error on disk 3: md marks it faulty and rebuilds onto the spare — reads on the survivors, writes on disk 5 — while the array keeps serving.',
      commands: (c) => [
        printKernelNames(5),
        toggle(c, 3, true),
        'fill 98 4194304 /after-failure',
        'sync',
        waitForRebuild,
      ],
      live: (f) => rebuildProgress(f, 5),
    },
    {
      title: '/proc/mdstat',
      text: 'Disk 3 shows (F); the spare has taken its place: [UUUU].',
      facts: (f) => rebuildProgress(f, 5),
      // /proc/mdstat last: it is what stays in view beside the caption.
      commands: () => ['md-stat /dev/md127', 'debug sh "cat /proc/mdstat"'],
    },
    {
      title: 'Disk 4 fails',
      text: "Error on disk 4 too: the array runs degraded [UUU_]; with the page cache dropped, the files still read back (disk 4's share rebuilt from parity).",
      commands: (c) => [
        toggle(c, 4, true),
        'fill 99 1048576 /degraded',
        'sync',
        // Out of the page cache: the reads really go to the degraded array (disk 4's share
        // rebuilt from parity on the fly).
        'drop-caches 3',
        'cat /hello.txt',
        'debug sh "md5sum /sysroot/after-failure; cat /proc/mdstat"',
      ],
    },
    {
      title: 'Kernel messages',
      text: 'What the kernel said: I/O errors, md disabling each failed member, the recovery onto the spare.',
      // md's lines and the I/O errors, without the SCSI sense chatter that would push them out.
      commands: () => ['debug sh "dmesg | grep -e md -e I/O | tail -30"'],
    },
  ],
};

export const DEMOS = { single: SINGLE, raid5: RAID5 };
