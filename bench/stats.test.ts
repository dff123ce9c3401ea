import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownTable, median, parseFioJson, percentile } from './stats.ts';

test('median and percentiles', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(percentile([1, 2, 3, 4, 5], 0.99), 4.96);
  assert.ok(Number.isNaN(median([])));
});

test('fio JSON after its banner line', () => {
  const text =
    'fio: connected to NBD server\n' +
    JSON.stringify({
      jobs: [
        {
          read: { io_bytes: 0, iops: 0, bw_bytes: 0, total_ios: 0 },
          write: {
            io_bytes: 4096,
            iops: 1234.5,
            bw_bytes: 5e6,
            total_ios: 99,
            clat_ns: { percentile: { '50.000000': 20000, '99.000000': 90000 } },
          },
        },
      ],
    });
  assert.deepEqual(parseFioJson(text), { iops: 1234.5, bwBytes: 5e6, clatP50Us: 20, clatP99Us: 90, ios: 99 });
  assert.throws(() => parseFioJson('garbage'), /no JSON/);
});

test('the table shows ratios', () => {
  const t = markdownTable([
    { name: 'x', unit: 'MB/s', blockscope: 50, nbdkit: 100, better: 'higher', target: '≥ 0.7×', met: false },
  ]);
  assert.match(t, /\| x \(MB\/s\) \| 50\.0 \| 100 \| 0\.50× \| ≥ 0\.7× \| no \|/);
});
