// The two classic demos as data: each step has a caption and the guestfish commands that make
// it happen. `!` lines run on the host in the middle of guestfish's script: the driver uses them
// to learn when a step starts, and the RAID demo flips Blockscope's own Error toggles with them.

export interface DemoContext {
  /** guestfish `add-drive` targets, one per disk: "tcp:127.0.0.1:PORT". */
  servers: string[];
  /** Blockscope's control API base, e.g. http://127.0.0.1:PORT/api */
  api: string;
  /** A small tarball of files to unpack, on the host. */
  tarball: string;
  /** The directory the tarball unpacks into (inside the guest filesystem). */
  tarDir: string;
}

export interface DemoStep {
  title: string;
  text: string;
  commands: (c: DemoContext) => string[];
}

export interface Demo {
  name: 'single' | 'raid5';
  disks: number;
  title: string;
  /** Kernel command line additions (before `run`). */
  append?: string;
  steps: DemoStep[];
}

const toggle = (c: DemoContext, disk: number, on: boolean) =>
  `! curl -s -o /dev/null -X POST -d '{"on":${on}}' ${c.api}/disks/${disk}/errors`;

export const SINGLE: Demo = {
  name: 'single',
  disks: 1,
  title: "A filesystem's life on one disk",
  steps: [
    { title: 'Boot', text: 'The appliance kernel boots and probes the disk: partition tables, filesystem signatures (black flashes).', commands: () => ['run'] },
    { title: 'GPT', text: 'part-disk writes a GPT: the protective MBR and primary table at the start, the backup table at the very end (red at both ends).', commands: () => ['part-disk /dev/sda gpt'] },
    {
      title: 'mkfs.ext4',
      text: 'mkfs discards the whole partition (purple), zeroes the journal and inode tables with write-zeroes requests (white), then writes superblocks, backups, group descriptors and bitmaps (red).',
      commands: () => ['mkfs ext4 /dev/sda1'],
    },
    {
      title: 'Mount',
      text: 'Mounting writes a little metadata. ext4 would zero inode tables lazily after mount, but mkfs already zeroed them (white) on this disk, so the lazy-init thread has nothing left to do.',
      commands: () => ['mount /dev/sda1 /', 'debug sh "sleep 3"'],
    },
    { title: 'Unpack + sync', text: 'A tarball is unpacked: file data lands first, then sync writes the metadata and the journal.', commands: (c) => [`mkdir /${c.tarDir}`, `tar-in ${c.tarball} /${c.tarDir}`, 'sync'] },
    { title: 'Delete + sync', text: 'Deleting the files changes a few metadata blocks only: the data blocks are simply forgotten, still red.', commands: (c) => [`rm-rf /${c.tarDir}`, 'sync'] },
    { title: 'fstrim', text: 'fstrim tells the disk which blocks are free: the freed data turns purple.', commands: () => ['fstrim /'] },
    { title: 'blkdiscard', text: 'Unmount and discard the whole device: everything is purple.', commands: () => ['umount-all', 'blkdiscard /dev/sda'] },
  ],
};

export const RAID5: Demo = {
  name: 'raid5',
  disks: 5,
  title: 'RAID 5 with a hot spare: failure and rebuild',
  append: 'raid456.devices_handle_discard_safely=1',
  steps: [
    { title: 'Boot', text: 'Five disks: four for RAID 5, one hot spare. The appliance boots and probes them.', commands: () => ['run'] },
    {
      title: 'GPT on each disk',
      text: 'Every member gets a GPT: red at the start and at the end of each disk.',
      commands: () => ['a', 'b', 'c', 'd', 'e'].map((x) => `part-disk /dev/sd${x} gpt`),
    },
    {
      title: 'md-create RAID 5',
      text: 'mdadm builds the array over disks 1–4 with disk 5 as spare; the initial sync reads disks 1–3 and writes parity onto the last member.',
      commands: () => ['md-create md0 "/dev/sda1 /dev/sdb1 /dev/sdc1 /dev/sdd1 /dev/sde1" level:raid5 nrdevices:4 spare:1', 'debug sh "mdadm --wait /dev/md127; cat /proc/mdstat"'],
    },
    { title: 'mkfs.ext4 on the array', text: 'mkfs discards the array: data and parity regions on every member turn purple, then metadata is written.', commands: () => ['mkfs ext4 /dev/md127'] },
    { title: 'Mount, unpack', text: 'Files are unpacked: writes are striped over the members, with parity.', commands: (c) => ['mount /dev/md127 /', 'write /hello.txt "hello from the array"', `mkdir /${c.tarDir}`, `tar-in ${c.tarball} /${c.tarDir}`, 'sync'] },
    { title: 'Delete + fstrim', text: 'Delete the files and fstrim: discards pass through RAID 5 to the members.', commands: (c) => [`rm-rf /${c.tarDir}`, 'sync', 'fstrim /'] },
    {
      title: 'Disk 3 fails',
      text: 'Error on disk 3: md marks it faulty and rebuilds onto the spare — reads on the survivors, writes on disk 5 — while the array keeps serving.',
      commands: (c) => [toggle(c, 3, true), 'fill 98 4194304 /after-failure', 'sync', 'debug sh "sleep 1; mdadm --wait /dev/md127; cat /proc/mdstat"'],
    },
    { title: '/proc/mdstat', text: 'Disk 3 shows (F); the spare has taken its place: [UUUU].', commands: () => ['debug sh "cat /proc/mdstat"', 'md-stat /dev/md127'] },
    {
      title: 'Disk 4 fails',
      text: 'Error on disk 4 too: the array runs degraded [UUU_], and the files are still readable.',
      commands: (c) => [toggle(c, 4, true), 'cat /hello.txt', 'fill 99 1048576 /degraded', 'sync', 'debug sh "cat /proc/mdstat"'],
    },
    { title: 'Kernel messages', text: 'What the kernel said about it.', commands: () => ['debug sh "dmesg | tail -25"'] },
  ],
};

export const DEMOS = { single: SINGLE, raid5: RAID5 };
