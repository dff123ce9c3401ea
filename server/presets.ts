// Layout presets: the disk sets people build with Blockscope, and the client commands that
// turn them into an array (guestfish + mdadm lines with the URIs filled in).

import { join } from 'node:path';
import type { TlsSettings } from './connection/tls.ts';
import type { DataPathThread } from './data-path/data-path.ts';
import type { DiskSpec } from './disk.ts';
import { libnbdUri, qemuCanReadPsk, qemuImage, qemuTlsObject } from './tls-client-args.ts';
import type { PresetName } from './shared/types.ts';

export const PRESETS: Record<PresetName, { disks: number; title: string }> = {
  single: { disks: 1, title: 'Single disk' },
  raid1: { disks: 2, title: 'RAID 1 (2 disks)' },
  raid5: { disks: 5, title: 'RAID 5 (4 disks + 1 hot spare)' },
  raid6: { disks: 6, title: 'RAID 6 (5 disks + 1 hot spare)' },
  raid10: { disks: 4, title: 'RAID 10 (4 disks)' },
  custom: { disks: 1, title: 'Custom' },
};

export function isPreset(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

export interface ListenOptions {
  host: string;
  /** First TCP port (disk i gets port + i - 1); 0 = any free port; null = no TCP. */
  port: number | null;
  /** Directory for Unix sockets (disk%d.sock), or null. */
  unixDir: string | null;
  /** serve --tls…: every disk of the preset gets the same credentials. */
  tls?: TlsSettings;
  /** serve --handshake-timeout, in ms. */
  handshakeTimeoutMs?: number;
  /** serve --no-sr. */
  noStructuredReplies?: boolean;
  /** serve --data-path. */
  thread?: DataPathThread;
}

export interface PresetOptions extends ListenOptions {
  size: bigint;
  /** Custom preset only: 1..16. */
  disks?: number;
  /** rdelay/wdelay in ms (the original demo used 40). */
  delayMs: number;
  /** Where the log filter writes log%d. */
  logDir: string;
}

/** Disk specs for a preset: every disk gets the error, log and delay filters (RAID demo order). */
export function presetSpecs(name: PresetName, o: PresetOptions): DiskSpec[] {
  const n = name === 'custom' ? (o.disks ?? 1) : PRESETS[name].disks;
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`preset ${name}: disks must be 1..16, got ${n}`);
  return Array.from({ length: n }, (_, i): DiskSpec => {
    const d = i + 1;
    const filters: DiskSpec['filters'] = [
      { name: 'error', params: { 'error-rate': '0' } },
      { name: 'log', params: { logfile: join(o.logDir, `log${d}`) } },
      { name: 'delay', params: { rdelay: `${o.delayMs}ms`, wdelay: `${o.delayMs}ms` } },
    ];
    return {
      number: d,
      size: o.size,
      backend: 'memory',
      backendParams: {},
      readonly: false,
      exportName: '',
      filters,
      tcp: o.port === null ? undefined : { host: o.host, port: o.port === 0 ? 0 : o.port + i },
      unixSocket: o.unixDir ? join(o.unixDir, `disk${d}.sock`) : undefined,
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
      ...(o.noStructuredReplies ? { noStructuredReplies: true } : {}),
      ...(o.thread ? { thread: o.thread } : {}),
    };
  });
}

/** guestfish's way to name an NBD disk from its URI. */
function guestfishDrive(uri: string): string {
  const tcp = /^nbd:\/\/([^/:]+|\[[^\]]+\]):(\d+)/.exec(uri);
  if (tcp) return `add-drive "" protocol:nbd server:tcp:${tcp[1]}:${tcp[2]} format:raw discard:enable`;
  const unix = /socket=([^&]+)/.exec(uri);
  return `add-drive "" protocol:nbd server:unix:${unix?.[1] ?? '?'} format:raw discard:enable`;
}

/** Shell-quote one argument when it needs it. */
const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * The commands to build the preset's array from a client, URIs (and TLS credentials) filled in.
 * The guestfish line is one command list: every item after the first (each add-drive too)
 * starts with ':'.
 */
export function presetCommands(name: PresetName | null, uris: string[], tls?: TlsSettings): string[] {
  const cmds: string[] = [];
  if (!uris.length) return cmds;
  const env = 'export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg   # where KVM hangs';
  const drives = uris.map((u, i) => `  ${i ? ': ' : ''}${guestfishDrive(u)} \\`);
  const devs = uris.map((_, i) => `/dev/sd${String.fromCharCode(97 + i)}`);
  const parts = devs.map((d) => `${d}1`);
  const gpt = devs.map((d) => `part-disk ${d} gpt`).join(' : ');
  const md = (level: string, active: number, spare: number) =>
    `md-create md0 "${parts.join(' ')}" level:${level} nrdevices:${active}${spare ? ` spare:${spare}` : ''}`;
  let array: string | null = null;
  if (name === 'raid1' && uris.length >= 2) array = md('raid1', 2, uris.length - 2);
  if (name === 'raid5' && uris.length >= 3) array = md('raid5', uris.length - 1, 1);
  if (name === 'raid6' && uris.length >= 4) array = md('raid6', uris.length - 1, 1);
  if (name === 'raid10' && uris.length >= 4) array = md('raid10', uris.length, 0);
  cmds.push(env);
  if (tls && tls.mode !== 'off') {
    cmds.push(
      tls.mode === 'require'
        ? '# guestfish cannot pass TLS credentials to qemu: it cannot reach disks started with --tls=require'
        : '# guestfish cannot pass TLS credentials: it connects in plaintext (allowed by --tls=on)',
    );
    if (!qemuCanReadPsk(tls))
      cmds.push('# qemu reads PSKs only from a file named keys.psk: copy the --tls-psk file to one');
  }
  if (array) {
    cmds.push(
      [
        'guestfish -- \\',
        ...drives,
        // Without this md drops discards on RAID 4/5/6, and mkfs/fstrim would show no purple.
        '  : set-append "raid456.devices_handle_discard_safely=1" : run \\',
        `  : ${gpt} \\`,
        `  : ${array} \\`,
        '  : mkfs ext4 /dev/md127 : mount /dev/md127 / : fstrim / : umount-all',
      ].join('\n'),
    );
  } else {
    cmds.push(
      ['guestfish -- \\', ...drives, `  : run : ${gpt} : mkfs ext4 /dev/sda1 : mount /dev/sda1 / : fstrim /`].join(
        '\n',
      ),
    );
  }
  for (const u of uris) {
    const image = [...qemuTlsObject(tls), ...qemuImage(u, tls)].map(q).join(' ');
    cmds.push(`qemu-io ${image} -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M'`);
  }
  cmds.push(`nbdinfo --map '${libnbdUri(uris[0], tls)}'`);
  return cmds;
}
