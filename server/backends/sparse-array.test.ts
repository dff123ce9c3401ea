import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EXTENT_HOLE, EXTENT_ZERO } from './backend.ts';
import { PAGE_SIZE, SparseArray } from './sparse-array.ts';

test('unwritten space reads as zeroes and allocates nothing', () => {
  const a = new SparseArray();
  const buf = Buffer.alloc(100_000, 0xff);
  a.read(buf, 5n << 50n);
  assert.ok(buf.every((b) => b === 0));
  assert.equal(a.allocatedBytes, 0);
});

test('writes across page boundaries read back; memory grows with data, not offsets', () => {
  const a = new SparseArray();
  const data = Buffer.from(Array.from({ length: 3 * PAGE_SIZE }, (_, i) => i % 251));
  const off = (7n << 60n) - BigInt(4 * PAGE_SIZE) + 100n;
  a.write(data, off);
  const back = Buffer.alloc(data.length);
  a.read(back, off);
  assert.ok(back.equals(data));
  assert.equal(a.allocatedBytes, 4 * PAGE_SIZE);
});

test('zero frees whole pages and partial pages that become all zero', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(3 * PAGE_SIZE, 1), 0n);
  a.zero(PAGE_SIZE, BigInt(PAGE_SIZE));
  assert.equal(a.allocatedBytes, 2 * PAGE_SIZE);
  a.zero(100, 0n);
  assert.equal(a.allocatedBytes, 2 * PAGE_SIZE, 'partial page still has data');
  a.zero(PAGE_SIZE - 100, 100n);
  assert.equal(a.allocatedBytes, PAGE_SIZE, 'page became all zero: freed');
});

test('extents: hole|zero, zero and data at page granularity', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(10, 1), 0n);
  a.write(Buffer.alloc(10, 1), BigInt(2 * PAGE_SIZE));
  a.write(Buffer.alloc(PAGE_SIZE, 0), BigInt(4 * PAGE_SIZE)); // allocated but zero
  const e = a.extents(5 * PAGE_SIZE, 0n);
  assert.deepEqual(
    e.map((x) => [Number(x.length) / PAGE_SIZE, x.type]),
    [
      [1, 0],
      [1, EXTENT_HOLE | EXTENT_ZERO],
      [1, 0],
      [1, EXTENT_HOLE | EXTENT_ZERO],
      [1, EXTENT_ZERO],
    ],
  );
});

/** What extents() must say, worked out the slow way: page by page, reading the bytes. */
function referenceExtents(a: SparseArray, count: number, offset: bigint): Array<[bigint, number]> {
  const out: Array<[bigint, number]> = [];
  const end = offset + BigInt(count);
  let pos = offset;
  const page = Buffer.alloc(PAGE_SIZE);
  const zeroes = Buffer.alloc(PAGE_SIZE);
  while (pos < end) {
    const start = pos - (pos % BigInt(PAGE_SIZE));
    const len = start + BigInt(PAGE_SIZE) - pos;
    const allocated = a.allocatedPage(start);
    let type = EXTENT_HOLE | EXTENT_ZERO;
    if (allocated) {
      a.read(page, start);
      type = page.equals(zeroes) ? EXTENT_ZERO : 0;
    }
    const last = out[out.length - 1];
    if (last && last[1] === type) last[0] += len;
    else out.push([len, type]);
    pos += len;
  }
  return out;
}

test('extents agree with a byte-by-byte reference after random writes, zeroes and trims (group edges, 2^62 offsets)', () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const GROUP = 512 * PAGE_SIZE;
  for (const base of [0n, 1n << 62n]) {
    const a = new SparseArray();
    const span = 16 * GROUP;
    /** Recent data writes, so zeroes can be written exactly over them (data → zero pages). */
    const recent: Array<[bigint, number]> = [];
    for (let i = 0; i < 1500; i++) {
      // Mostly near group edges, where a skip that goes one page too far or short shows.
      const edge = rand(16) * GROUP + rand(8) * PAGE_SIZE - 4 * PAGE_SIZE;
      const off = base + BigInt(Math.max(0, rand(3) ? edge + rand(PAGE_SIZE) : rand(span)));
      const len = 1 + rand(rand(4) ? PAGE_SIZE : 3 * PAGE_SIZE);
      const kind = rand(6);
      if (kind === 0 || kind === 1) {
        a.write(Buffer.alloc(len, 1 + rand(255)), off);
        recent.push([off, len]);
      } else if (kind === 2 && recent.length) {
        const [o, l] = recent.splice(rand(recent.length), 1)[0];
        a.write(Buffer.alloc(l), o); // zeroes over data: the page may now be all zero
      } else if (kind === 3) a.write(Buffer.alloc(len), off);
      else if (kind === 4) a.zero(len, off);
      else {
        const which = rand(20);
        if (which === 0)
          a.write(Buffer.alloc(GROUP), base + BigInt(rand(16) * GROUP)); // a whole zero group
        else if (which === 1) a.zero(GROUP, base + BigInt(rand(16) * GROUP)); // an empty group again
      }
      if (i % 50 === 0) {
        for (let q = 0; q < 4; q++) {
          const qOff = base + BigInt(q === 0 ? 0 : rand(span));
          const qLen = q === 0 ? span : 1 + rand(span);
          const got = a.extents(qLen, qOff).map((e): [bigint, number] => [e.length, e.type]);
          assert.deepEqual(got, referenceExtents(a, qLen, qOff), `after op ${i}, query ${q}`);
        }
      }
    }
  }
});

test('extents over 1 GiB of written zeroes: one ZERO extent, without reading the pages', () => {
  const a = new SparseArray();
  const chunk = Buffer.alloc(32 << 20);
  for (let off = 0; off < 1 << 30; off += chunk.length) a.write(chunk, BigInt(off));
  assert.equal(a.allocatedBytes, 1 << 30);
  assert.deepEqual(a.extents(1 << 30, 0n), [{ length: 1n << 30n, type: EXTENT_ZERO }]);
  a.write(Buffer.from([7]), 5n << 20n);
  assert.deepEqual(
    a.extents(1 << 30, 0n).map((e) => [Number(e.length), e.type]),
    [
      [(5 << 20) - 0, EXTENT_ZERO],
      [PAGE_SIZE, 0],
      [(1 << 30) - (5 << 20) - PAGE_SIZE, EXTENT_ZERO],
    ],
  );
});

test('lend: views of the pages and shared zeroes for holes, read back like read()', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(PAGE_SIZE + 100, 5), BigInt(PAGE_SIZE - 50));
  const off = 10n;
  const count = 3 * PAGE_SIZE;
  const lent = a.lend(count, off);
  const copy = Buffer.alloc(count);
  a.read(copy, off);
  assert.ok(Buffer.concat(lent.buffers).equals(copy));
  assert.equal(lent.buffers.length, 4, 'one view per page touched');
  assert.equal(a.lentPages, 3, 'the three written pages are lent, the hole after them is not');
  lent.release();
  lent.release(); // a second release changes nothing
  assert.equal(a.lentPages, 0);
});

test('a lent page is copied before a write or a partial zero changes it; after release, changed in place', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(2 * PAGE_SIZE, 1), 0n);
  const lent = a.lend(2 * PAGE_SIZE, 0n);
  const [first, second] = lent.buffers;
  a.write(Buffer.alloc(10, 2), 5n);
  a.zero(100, BigInt(PAGE_SIZE) + 7n);
  assert.ok(first.every((b) => b === 1) && second.every((b) => b === 1), 'a lent view changed under its reply');
  const now = Buffer.alloc(2 * PAGE_SIZE);
  a.read(now, 0n);
  assert.equal(now[5], 2);
  assert.equal(now[PAGE_SIZE + 7], 0);
  assert.equal(now[4], 1);
  lent.release();
  assert.equal(a.lentPages, 0);
  // Not lent any more: the same page object takes the next write.
  const again = a.lend(PAGE_SIZE, 0n);
  const view = again.buffers[0];
  again.release();
  a.write(Buffer.alloc(1, 9), 0n);
  assert.equal(view[0], 9, 'a page no longer lent was copied anyway');
  // Two lends of one page: it stays protected until both are back.
  const x = a.lend(PAGE_SIZE, 0n);
  const y = a.lend(PAGE_SIZE, 0n);
  x.release();
  a.write(Buffer.alloc(1, 3), 0n);
  assert.equal(y.buffers[0][0], 9);
  y.release();
});

test('a freed page goes back to its slab only when no reply holds it', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(PAGE_SIZE, 0xaa), 0n);
  const lent = a.lend(PAGE_SIZE, 0n);
  const view = lent.buffers[0];
  a.zero(PAGE_SIZE, 0n); // freed while lent
  a.write(Buffer.alloc(PAGE_SIZE, 0xbb), BigInt(PAGE_SIZE));
  a.write(Buffer.alloc(PAGE_SIZE, 0xcc), BigInt(2 * PAGE_SIZE));
  assert.ok(
    view.every((b) => b === 0xaa),
    'a freed page was handed out again while still lent',
  );
  lent.release();
  // Now its slot is free: the next new page takes it, and a partial write zeroes the rest.
  a.write(Buffer.alloc(10, 7), BigInt(3 * PAGE_SIZE) + 100n);
  assert.equal(view[100], 7, 'the released slot was not reused');
  const back = Buffer.alloc(PAGE_SIZE);
  a.read(back, BigInt(3 * PAGE_SIZE));
  assert.ok(back.subarray(100, 110).every((b) => b === 7));
  assert.ok(
    back.subarray(0, 100).every((b) => b === 0) && back.subarray(110).every((b) => b === 0),
    'old bytes leaked into a new page',
  );
});

test('a page replaced by its copy while lent is reused only after release', () => {
  const a = new SparseArray();
  a.write(Buffer.alloc(PAGE_SIZE, 1), 0n);
  const lent = a.lend(PAGE_SIZE, 0n);
  const view = lent.buffers[0];
  a.write(Buffer.alloc(10, 2), 0n); // copy on write: the copy is now the page
  a.write(Buffer.alloc(PAGE_SIZE, 3), BigInt(PAGE_SIZE));
  assert.ok(view.every((b) => b === 1));
  lent.release();
  a.write(Buffer.alloc(PAGE_SIZE, 4), BigInt(2 * PAGE_SIZE));
  assert.ok(
    view.every((b) => b === 4),
    'the replaced page was not reused after release',
  );
  const back = Buffer.alloc(PAGE_SIZE);
  a.read(back, 0n);
  assert.equal(back[0], 2);
  assert.equal(back[10], 1);
});

test('a 4 KiB write into a fresh page costs about 4 KiB of memory, not the 32 KiB of its page', (t) => {
  // In a child with glibc's huge-page tunable, as the command runs (its shebang): pages that
  // small writes touch must come from memory it does not reach. 2,048 pages far apart, 4 KiB each.
  const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  if (thp.includes('[always]')) return t.skip('transparent huge pages are "always" here: every mapping gets them');
  const script = `
    import { SparseArray } from ${JSON.stringify(new URL('./sparse-array.ts', import.meta.url).href)};
    const a = new SparseArray();
    a.write(Buffer.alloc(4096, 1), 0n); // maps the first slab
    const rss = () => process.memoryUsage.rss();
    const before = rss();
    const data = Buffer.alloc(4096, 1);
    for (let i = 1; i <= 2048; i++) a.write(data, BigInt(i) * 7n * 32768n + 8192n);
    console.log(JSON.stringify({ grew: rss() - before, allocated: a.allocatedBytes }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const { grew, allocated } = JSON.parse(r.stdout) as { grew: number; allocated: number };
  assert.equal(allocated, 2049 * PAGE_SIZE);
  // 8 MiB written; touching each page whole would be 64 MiB.
  assert.ok(grew < 24 << 20, `RSS grew by ${(grew / 2 ** 20).toFixed(1)} MiB for 8 MiB written into 2,048 fresh pages`);
});
