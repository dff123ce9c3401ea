import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StructureObject } from '../../server/shared/structure.ts';
import { objectRows } from './structure-rows.ts';

const obj = (id: string, kind: StructureObject['kind'], label: string, where: string): StructureObject => ({
  id,
  kind,
  label,
  where,
  bytes: '4096',
});

const objects = [
  obj('f', 'file', '/etc/passwd', 'ext4 on md0'),
  obj('g2', 'partition', 'GPT', 'disk 2'),
  obj('g1', 'partition', 'GPT', 'disk 1'),
  obj('j', 'journal', 'journal', 'ext4 on md0'),
  obj('a', 'array', 'md0 (RAID 5, 4 members)', 'disks 1–4'),
];

test('structure rows: structural first, then regions, then files; a repeated label names its place', () => {
  const rows = objectRows(objects, '');
  assert.deepEqual(
    rows.map((r) => [r.object.id, r.place ?? null]),
    [
      ['g1', 'disk 1'],
      ['g2', 'disk 2'],
      ['a', null],
      ['j', null],
      ['f', null],
    ],
  );
});

test('structure rows: the filter matches label or place; a label repeated only outside the filter is not', () => {
  assert.deepEqual(
    objectRows(objects, ' DISK 2 ').map((r) => [r.object.id, r.place ?? null]),
    [['g2', null]],
  );
  assert.deepEqual(
    objectRows(objects, 'md0').map((r) => r.object.id),
    ['a', 'j', 'f'],
  );
});
