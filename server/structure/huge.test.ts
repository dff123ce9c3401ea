// 64-bit offsets end to end: a 7 EiB disk whose GPT puts partition 1 at 1 EiB, holding an ext4
// made by mke2fs. Every label lands at its exact byte (far beyond 2^53), the backup GPT is
// found in the disk's last sectors, and the one-block chain query works out there too.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodeDisks, leavesOf } from './decode.ts';
import { DecodeError } from './model.ts';
import type { ByteSource } from './source.ts';
import { run } from './test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'blockscope-huge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse disk: zeroes except for a few written pieces. */
class SparseSource implements ByteSource {
  private pieces: Array<{ at: bigint; data: Buffer }> = [];
  constructor(readonly size: bigint) {}
  put(at: bigint, data: Buffer): void {
    this.pieces.push({ at, data });
  }
  async read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.size) throw new DecodeError('outside');
    const out = Buffer.alloc(length);
    for (const p of this.pieces) {
      const end = p.at + BigInt(p.data.length);
      if (end <= offset || p.at >= offset + BigInt(length)) continue;
      const from = p.at > offset ? p.at : offset;
      const to = end < offset + BigInt(length) ? end : offset + BigInt(length);
      p.data.copy(out, Number(from - offset), Number(from - p.at), Number(to - p.at));
    }
    return out;
  }
}

const guid = (s: string) => {
  const h = s.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
};

/** GPT header (LBA `self`) and its 128 entries, entry 0 = [first, last] LBA, named "far". */
function gpt(self: bigint, backup: bigint, tableLba: bigint, lastUsable: bigint, first: bigint, last: bigint) {
  const entries = Buffer.alloc(128 * 128);
  guid('0FC63DAF-8483-4772-8E79-3D69D8477DE4').copy(entries, 0);
  guid('11111111-2222-3333-4444-555555555555').copy(entries, 16);
  entries.writeBigUInt64LE(first, 32);
  entries.writeBigUInt64LE(last, 40);
  entries.write('far', 56, 'utf16le');
  const h = Buffer.alloc(512);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(self, 24);
  h.writeBigUInt64LE(backup, 32);
  h.writeBigUInt64LE(34n, 40);
  h.writeBigUInt64LE(lastUsable, 48);
  guid('AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE').copy(h, 56);
  h.writeBigUInt64LE(tableLba, 72);
  h.writeUInt32LE(128, 80);
  h.writeUInt32LE(128, 84);
  h.writeUInt32LE(crc32(entries) >>> 0, 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)) >>> 0, 16);
  return { header: h, entries };
}

test('a 7 EiB disk with ext4 at 1 EiB: exact labels past 2^53, both GPT copies', async () => {
  const size = 7n << 60n;
  const lastLba = size / 512n - 1n;
  const partFirst = (1n << 60n) / 512n;
  const fs = join(dir, 'fs.img');
  run('truncate', ['-s', '16M', fs]);
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', fs]);
  const partLast = partFirst + 16n * 2048n - 1n;
  const disk = new SparseSource(size);
  const primary = gpt(1n, lastLba, 2n, lastLba - 33n, partFirst, partLast);
  const backup = gpt(lastLba, 1n, lastLba - 32n, lastLba - 33n, partFirst, partLast);
  disk.put(512n, primary.header);
  disk.put(1024n, primary.entries);
  disk.put((lastLba - 32n) * 512n, backup.entries);
  disk.put(lastLba * 512n, backup.header);
  disk.put(partFirst * 512n, readFileSync(fs));

  const r = await decodeDisks([{ disk: 1, source: disk }]);
  assert.deepEqual(r.warnings, []);
  const partStart = partFirst * 512n;
  const leaves = leavesOf(r, 1, 0n, size);
  const sb = leaves.find((l) => l.chain.at(-1)!.label.startsWith('superblock'))!;
  assert.equal(sb.start, partStart, 'block 0 of a 4 KiB ext4 holds the superblock');
  assert.ok(sb.start > BigInt(Number.MAX_SAFE_INTEGER));
  assert.deepEqual(
    sb.chain.map((c) => c.label),
    ['GPT partition 1 "far"', 'ext4', 'superblock (block 0: boot area + superblock)'],
  );
  const backupHeader = leaves.find((l) => l.chain.at(-1)!.label === 'GPT header (backup)')!;
  assert.equal(backupHeader.start, size - 512n);
  assert.equal(backupHeader.end, size);
  // One block far out: the journal's first block.
  const j = leaves.find((l) => l.kind === 'journal')!;
  const parts = leavesOf(r, 1, j.start, j.start + 4096n);
  assert.equal(parts[0].start, j.start);
  assert.equal(parts[0].chain.at(-1)!.label, 'journal superblock');
});
