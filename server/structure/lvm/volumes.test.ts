// LVM checked against the real LVM (one guestfish run under TCG): a volume group over two
// disks with a striped LV and a linear LV in two segments, each filled with random bytes and
// downloaded as LVM maps it; every PV byte labelled "LV vg/lv block N" must be that LV byte.
// A second volume group on a small metadata area is changed until its metadata text wraps
// around the end of the ring: the newest metadata must still be found.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Leaf } from '../flatten.ts';
import { applianceDiskBySize, decodeImages, readAt, run } from '../test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-lvm-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DISKS = ['pv1', 'pv2', 'pv3'];
/** Each disk has a size of its own, so that `debug sh` can find it (applianceDiskBySize). */
const SIZE_MIB: Record<string, number> = { pv1: 32, pv2: 33, pv3: 34 };
const [PV1, PV2, PV3] = DISKS.map((d) => applianceDiskBySize(SIZE_MIB[d]));
const disk = (name: string) => join(dir, `${name}.img`);
const lvImage = (lv: string) => join(dir, `${lv}.lv`);
const LVS = ['str', 'lin'];
const TAG = 'x'.repeat(100);

/**
 * vg2 on a 64 KiB metadata area, changed (a 100-character tag added each time) until the
 * current metadata text runs past the end of the ring and continues after its header. The
 * mda_header is read with O_DIRECT (LVM writes around the page cache): area size at byte 32,
 * the text's offset and length at 40 and 48.
 */
const WRAP_VG2 = [
  `lvm pvcreate --metadatasize 64k --dataalignment 64k ${PV3}`,
  `lvm vgcreate -s 1M vg2 ${PV3}`,
  'lvm lvcreate -y -Zn -L 4M -n keep vg2',
  `mda() { dd if=${PV3} bs=4096 skip=1 count=1 iflag=direct 2>/dev/null | od -An -t u8 -j 32 -N 24; }`,
  'for i in $(seq 300); do lvm vgchange -q --addtag t$i' +
    TAG +
    ' vg2 >/dev/null || exit 1; set -- $(mda); [ $(($2 + $3)) -gt $1 ] && exit 0; done',
  'exit 1',
].join('; ');

/** guestfish's commands name the disks /dev/sda… in add-drive order (whole disks, no partitions); `debug sh` finds them by size. */
const SCRIPT = `
${DISKS.map((d) => `add-drive ${disk(d)} format:raw`).join('\n')}
run
pvcreate /dev/sda
pvcreate /dev/sdb
vgcreate vg1 "/dev/sda /dev/sdb"
debug sh "lvm lvcreate -y -Zn -i2 -I64k -L 8M -n str vg1 ${PV1} ${PV2} && lvm lvcreate -y -Zn -L 3M -n lin vg1 ${PV1} && lvm lvcreate -y -Zn -L 2M -n gap vg1 ${PV2} && lvm lvextend -L +2M vg1/lin ${PV2} && lvm lvremove -y vg1/gap"
debug sh "${WRAP_VG2}"
debug sh "for lv in ${LVS.join(' ')}; do dd if=/dev/urandom of=/dev/vg1/$lv bs=64k 2>/dev/null; done; sync; true"
${LVS.map((lv) => `download /dev/vg1/${lv} ${lvImage(lv)}`).join('\n')}
! echo LVS-BEGIN
debug sh "lvm lvs --noheadings --segments -o lv_name,seg_pe_ranges vg1 vg2"
! echo LVS-END
`;

let leaves: Leaf[][];
let warnings: string[];
let segments = '';

before(async () => {
  for (const d of DISKS) run('truncate', ['-s', `${SIZE_MIB[d]}M`, disk(d)]);
  writeFileSync(join(dir, 'build.gf'), SCRIPT);
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  const out = run('guestfish', ['-f', join(dir, 'build.gf')], { env, timeoutMs: 600_000 });
  segments = out.slice(out.indexOf('LVS-BEGIN'), out.indexOf('LVS-END'));
  const decoded = await decodeImages(DISKS.map(disk));
  ({ leaves } = decoded);
  warnings = decoded.result.warnings;
});

const LV_LABEL = /^LV (\w+)\/(\w+) blocks? (\d+)(?:–\d+)? \(PV extents (\d+)–(\d+)\)$/;

describe('LVM volumes', () => {
  it('striped and two-segment linear LVs: every PV block labelled "LV vg1/<lv> block N" is that LV block', () => {
    assert.match(segments, /str\s+\/dev\/sd[a-z]:\d+-\d+ \/dev\/sd[a-z]:\d+-\d+/, 'str is striped over two PVs');
    assert.equal([...segments.matchAll(/^\s*lin\s/gm)].length, 2, `lin has two segments:\n${segments}`);
    const labelled = new Map(LVS.map((lv) => [lv, 0]));
    for (const [i, d] of ['pv1', 'pv2'].entries())
      for (const leaf of leaves[i]) {
        const m = leaf.chain.map((c) => LV_LABEL.exec(c.label)).find(Boolean);
        if (!m) continue;
        assert.equal(m[1], 'vg1');
        const len = Number(leaf.end - leaf.start);
        const at = Number(m[3]) * 4096 + Number(leaf.start % 4096n);
        assert.ok(
          readAt(disk(d), Number(leaf.start), len).equals(readAt(lvImage(m[2]), at, len)),
          `${d} bytes ${leaf.start}+${len} should be ${m[2]} bytes ${at}+${len}`,
        );
        labelled.set(m[2], labelled.get(m[2])! + len);
      }
    for (const lv of LVS) assert.equal(labelled.get(lv), statSync(lvImage(lv)).size, `${lv}: bytes labelled`);
  });

  it('a metadata text that wraps around the end of the ring is read whole (the newest VG with its LV)', () => {
    // The wrap itself, from the mda header: raw_locn offset + size past the end of the area.
    const mda = readAt(disk('pv3'), 4096, 512);
    const [size, offset, length] = [mda.readBigUInt64LE(32), mda.readBigUInt64LE(40), mda.readBigUInt64LE(48)];
    assert.ok(
      offset + length > size,
      `metadata at ${offset}+${length} of ${size} does not wrap: the loop in WRAP_VG2 stopped too early`,
    );
    assert.deepEqual(warnings, []);
    assert.ok(
      leaves[2].some((l) => l.chain.some((c) => LV_LABEL.exec(c.label)?.[2] === 'keep')),
      'vg2/keep is labelled',
    );
  });
});
