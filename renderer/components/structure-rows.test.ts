import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StructureObject } from '../../server/shared/structure.ts';
import { disksText, objectRows } from './structure-rows.ts';

const obj = (
  id: string,
  kind: StructureObject['kind'],
  label: string,
  where: string,
  disks: number[],
): StructureObject => ({ id, kind, label, where, bytes: '4096', disks });

const objects = [
  obj('f', 'file', '/etc/passwd', 'ext4 on md0', [1, 2, 3, 4]),
  obj('g2', 'partition-table', 'GPT', 'disk 2', [2]),
  obj('g1', 'partition-table', 'GPT', 'disk 1', [1]),
  obj('j', 'journal', 'journal', 'ext4 on md0', [1, 2, 3, 4]),
  obj('a', 'array', 'md0 (RAID 5, 4 members)', 'disk 1, disk 2, disk 3, disk 4', [1, 2, 3, 4]),
  obj('x', 'filesystem', 'vfat', 'disk 5', [5]),
];
const view = (rows: ReturnType<typeof objectRows>) => rows.map((r) => [r.object.id, r.disks ?? null, r.place ?? null]);

test('structure rows with several disks: each row says its disks; structural first, then regions, then files', () => {
  assert.deepEqual(view(objectRows(objects, '', true)), [
    ['a', 'disks 1–4', null],
    ['x', 'disk 5', null],
    ['g1', 'disk 1', null],
    ['g2', 'disk 2', null],
    ['j', 'disks 1–4', null],
    ['f', 'disks 1–4', null],
  ]);
});

test('structure rows on one disk: no disk said; a repeated label names its place', () => {
  const one = [
    obj('s1', 'superblock', 'superblocks', 'ext4 on GPT partition 1 of disk 1', [1]),
    obj('s2', 'superblock', 'superblocks', 'ext4 on GPT partition 2 of disk 1', [1]),
    obj('h', 'file', '/hello', 'ext4 on GPT partition 1 of disk 1', [1]),
  ];
  assert.deepEqual(view(objectRows(one, '', false)), [
    ['s1', null, 'ext4 on GPT partition 1 of disk 1'],
    ['s2', null, 'ext4 on GPT partition 2 of disk 1'],
    ['h', null, null],
  ]);
  // The same label on one of several disks still needs its place; on two disks it does not.
  assert.deepEqual(view(objectRows(one, 'superblocks', true)), [
    ['s1', 'disk 1', 'ext4 on GPT partition 1 of disk 1'],
    ['s2', 'disk 1', 'ext4 on GPT partition 2 of disk 1'],
  ]);
});

test('structure rows: the filter matches label, place or disk', () => {
  assert.deepEqual(
    objectRows(objects, ' DISK 2 ', true).map((r) => r.object.id),
    ['a', 'g2'],
  );
  assert.deepEqual(
    objectRows(objects, 'disk 5', true).map((r) => r.object.id),
    ['x'],
  );
  assert.deepEqual(
    objectRows(objects, 'md0', true).map((r) => r.object.id),
    ['a', 'j', 'f'],
  );
});

test('disks text: one, a run, a list', () => {
  assert.equal(disksText([]), '');
  assert.equal(disksText([3]), 'disk 3');
  assert.equal(disksText([1, 2, 3]), 'disks 1–3');
  assert.equal(disksText([1, 3]), 'disks 1, 3');
});
