// Formats made by their own mkfs are named "(not decoded)" with their header labelled, on a
// whole disk and inside a partition, and do not pass for empty space; the places agree with
// blkid's (wipefs lists where each signature sits). btrfs, XFS, exFAT and NTFS are decoded
// (btrfs/, xfs/, exfat/, ntfs/); their fallback to "btrfs (not decoded)" / "XFS (not decoded)" /
// "exFAT (not decoded)" / "NTFS (not decoded)" when the superblock or boot sector is refused is
// tested in btrfs/btrfs.test.ts, xfs/xfs.test.ts, exfat/exfat.test.ts and ntfs/ntfs.test.ts.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Leaf } from './flatten.ts';
import { decodeImages, run } from './test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-sigs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const chain = (l: Leaf | undefined) => l?.chain.map((c) => c.label).join(' › ') ?? '(nothing)';
const at = (leaves: Leaf[], byte: bigint) => leaves.find((l) => l.start <= byte && byte < l.end);

/** Where wipefs (blkid) finds the signature of `img`, in bytes. */
function wipefsOffset(img: string): bigint {
  const found = JSON.parse(run('wipefs', ['-J', img])) as { signatures: Array<{ offset: string; type: string }> };
  assert.ok(found.signatures.length > 0, `wipefs found no signature in ${img}`);
  return BigInt(found.signatures[0].offset);
}

const FORMATS: Array<{ name: string; mkfs: (img: string) => void; sizeMiB: number }> = [
  { name: 'Linux swap', mkfs: (img) => run('mkswap', [img]), sizeMiB: 16 },
];

describe('formats recognised but not decoded', () => {
  for (const f of FORMATS)
    it(`${f.name}: the whole disk is "${f.name} (not decoded)", its header labelled where blkid finds it`, async () => {
      const img = join(dir, `${f.name.replace(' ', '-')}.img`);
      run('truncate', ['-s', `${f.sizeMiB}M`, img]);
      f.mkfs(img);
      const magic = wipefsOffset(img);
      const { result, leaves } = await decodeImages([img]);
      assert.deepEqual(result.warnings, []);
      assert.match(
        chain(at(leaves[0], magic)),
        new RegExp(`^${f.name} \\(not decoded\\) › ${f.name === 'Linux swap' ? 'swap' : f.name}`),
      );
      assert.equal(at(leaves[0], magic)!.kind, 'superblock');
      // The rest of the space belongs to it too: not unlabelled like a blank disk.
      assert.equal(chain(at(leaves[0], BigInt(f.sizeMiB) * 1024n * 1024n - 1n)), `${f.name} (not decoded)`);
    });

  it('inside a GPT partition', async () => {
    const img = join(dir, 'gpt-swap.img');
    run('truncate', ['-s', '32M', img]);
    run('sgdisk', ['-n', '1:2048:0', img]);
    const part = join(dir, 'part.img');
    run('truncate', ['-s', `${32 * 1024 * 1024 - 2048 * 512 - 34 * 512}`, part]);
    run('mkswap', [part]);
    run('dd', [`if=${part}`, `of=${img}`, 'bs=512', 'seek=2048', 'conv=notrunc,sparse', 'status=none']);
    const { leaves } = await decodeImages([img]);
    assert.equal(
      chain(at(leaves[0], 2048n * 512n + 4086n)),
      'GPT partition 1 › Linux swap (not decoded) › swap header',
    );
  });

  it('random bytes are not taken for any of them', async () => {
    const img = join(dir, 'random.img');
    run('dd', ['if=/dev/urandom', `of=${img}`, 'bs=1M', 'count=4', 'status=none']);
    const { result } = await decodeImages([img]);
    assert.equal(result.trees.get(1), null);
  });
});
