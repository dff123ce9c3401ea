import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cap, NbdError, type Next, type RequestContext } from '../backends/backend.ts';
import { CMD_FLAG } from '../shared/types.ts';
import { createDelayFilter, delay } from './delay.ts';
import { createErrorFilter } from './error.ts';
import { FilterChain, type Filter } from './filter.ts';
import { createLogFilter } from './log/index.ts';
import { filterParamNames } from './index.ts';
import { formatExtents, formatTimestamp, line, shellQuote } from './log/format.ts';
import { parseDelay, parseRate } from './params.ts';

/** A backend that counts calls. */
function fakeNext() {
  const calls: string[] = [];
  const next: Next = {
    getSize: () => 1n << 20n,
    canWrite: () => true,
    canFlush: () => true,
    isRotational: () => false,
    canTrim: () => true,
    canZero: () => Cap.NATIVE,
    canFastZero: () => true,
    canFua: () => Cap.NATIVE,
    canMultiConn: () => true,
    canExtents: () => true,
    canCache: () => Cap.NATIVE,
    blockSize: () => null,
    pread: async () => void calls.push('pread'),
    pwrite: async () => void calls.push('pwrite'),
    flush: async () => void calls.push('flush'),
    trim: async () => void calls.push('trim'),
    zero: async () => void calls.push('zero'),
    extents: async () => (calls.push('extents'), []),
    cache: async () => void calls.push('cache'),
  };
  return { next, calls };
}
const ctx = (signal = new AbortController().signal): RequestContext => ({
  connection: { id: 1, exportName: '', readonly: false, tls: false },
  signal,
});

test('lend goes through filters that leave reads alone, through log, error and delay, and stops at one that reads', async () => {
  const { next, calls } = fakeNext();
  let released = 0;
  next.lend = async (count) => {
    calls.push('lend');
    return { buffers: [Buffer.alloc(count, 1)], release: () => void released++ };
  };
  const errors = createErrorFilter({ 'error-rate': '0' }, { diskNumber: 1 });
  const logfile = join(mkdtempSync(join(tmpdir(), 'lend-log-')), 'log');
  const log = createLogFilter({ logfile }, { diskNumber: 1 });
  const chain = new FilterChain([log, createDelayFilter({ rdelay: '1ms' }, { diskNumber: 1 }), errors], next);
  assert.ok(chain.top.lend, 'log, delay and error filters keep lending');
  const data = await chain.top.lend(4096, 0n, 0, ctx());
  assert.deepEqual(calls, ['lend']);
  data.release();
  assert.equal(released, 1);
  errors.setErrors!(true);
  await assert.rejects(chain.top.lend(4096, 0n, 0, ctx()), /EIO/);
  assert.deepEqual(calls, ['lend'], 'an injected error stops the read before anything is lent');
  await log.dispose!();
  const logged = readFileSync(logfile, 'utf8');
  assert.match(logged, /Read id=1 offset=0x0 count=0x1000 \.\.\.\n/, 'a lent read is logged as nbdkit logs a read');
  assert.match(logged, /Read id=1 return=0\n/);

  // A filter that implements pread may look at or change the data: no lending above it.
  const reader: Filter = {
    name: 'reader',
    longname: '',
    params: [],
    describe: () => ({}),
    pread: (n, b, o, f, c) => n.pread(b, o, f, c),
  };
  assert.equal(new FilterChain([log, reader], next).top.lend, undefined);
  assert.equal(new FilterChain([log], fakeNext().next).top.lend, undefined, 'a backend that cannot lend');
});

test('parameter parsers: nbdkit syntax and clear errors', () => {
  assert.equal(parseDelay('rdelay', '40ms'), 40);
  assert.equal(parseDelay('rdelay', '2'), 2000);
  assert.throws(() => parseDelay('rdelay', '1.5'), /rdelay: could not parse delay '1.5'/);
  assert.equal(parseRate('error-rate', '10%'), 0.1);
  assert.equal(parseRate('error-rate', '0.25'), 0.25);
  assert.throws(() => parseRate('error-rate', '150%'), /out of range/);
  assert.ok(filterParamNames('delay').includes('delay-discards'));
  assert.throws(() => createDelayFilter({ bogus: '1' }, { diskNumber: 1 }), /unknown parameter 'bogus'/);
  assert.throws(() => createErrorFilter({ error: 'EBUSY' }, { diskNumber: 1 }), /unknown error 'EBUSY'/);
});

test('every numeric parameter has its real range, with a clear error past it', () => {
  // nbdkit's range: milliseconds in an unsigned int.
  assert.equal(parseDelay('rdelay', '4294967295ms'), 0xffffffff);
  assert.equal(parseDelay('rdelay', '4294967'), 4294967000);
  assert.equal(parseDelay('rdelay', '2147484'), 2147484000);
  assert.throws(() => parseDelay('rdelay', '4294968'), /rdelay: delay '4294968' is too long \(at most 4294967295ms/);
  assert.throws(() => parseDelay('wdelay', '4294967296ms'), /too long/);
  assert.throws(() => parseDelay('rdelay', '9'.repeat(400)), /could not parse delay/);
  assert.throws(() => parseDelay('rdelay', '-1'), /could not parse delay/);
  assert.throws(() => parseDelay('rdelay', '1e3'), /could not parse delay/);
  assert.throws(() => parseRate('error-rate', '1e-3'), /could not parse rate/);
  assert.throws(() => parseRate('error-rate', '-5%'), /could not parse rate/);
  assert.throws(() => parseRate('error-rate', '1.5'), /out of range/);
  assert.throws(
    () => createErrorFilter({ 'error-seed': '4294967296' }, { diskNumber: 1 }),
    /error-seed: expected a whole number from 0 to 4294967295/,
  );
  assert.throws(() => createErrorFilter({ 'error-seed': '9'.repeat(30) }, { diskNumber: 1 }), /error-seed/);
  assert.throws(() => createDelayFilter({ 'delay-fast-zero': 'maybe' }, { diskNumber: 1 }), /could not parse boolean/);
});

test('delays of 2^31 ms and more really wait (Node would fire them after 1 ms): timers are chained', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  for (const ms of [2 ** 31, 2147484000, 0xffffffff]) {
    let done = false;
    const p = delay(ms).then(() => (done = true));
    t.mock.timers.tick(1);
    await Promise.resolve();
    assert.equal(done, false, `${ms}: over after 1 ms`);
    t.mock.timers.tick(2 ** 31 - 2);
    await Promise.resolve();
    assert.equal(done, ms <= 2 ** 31 - 1, `${ms}: over after 2^31-1 ms`);
    t.mock.timers.tick(ms - (2 ** 31 - 1) - 1);
    await Promise.resolve();
    assert.equal(done, false, `${ms}: over 1 ms early`);
    t.mock.timers.tick(1);
    await p;
    assert.equal(done, true);
  }
  // Aborting a chained wait cancels whichever timer is running.
  const ac = new AbortController();
  const p = delay(2 ** 32 - 1, ac.signal);
  t.mock.timers.tick(2 ** 31);
  ac.abort();
  await assert.rejects(p, /request cancelled/);
});

test('error filter: 10% with a seed is repeatable and near 10%; injected errors skip the backend', async () => {
  const runOnce = async () => {
    const { next, calls } = fakeNext();
    const chain = new FilterChain(
      [createErrorFilter({ 'error-rate': '10%', 'error-seed': '7' }, { diskNumber: 1 })],
      next,
    );
    const outcome: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      try {
        await chain.top.pread(Buffer.alloc(1), 0n, 0, ctx());
        outcome.push(0);
      } catch (e) {
        assert.ok(e instanceof NbdError && e.errno === 'EIO');
        outcome.push(1);
      }
    }
    return { outcome, calls: calls.length };
  };
  const a = await runOnce();
  const b = await runOnce();
  assert.deepEqual(a.outcome, b.outcome, 'same seed, same sequence');
  const errors = a.outcome.reduce((n, x) => n + x, 0);
  assert.ok(errors > 850 && errors < 1150, `${errors} errors of 10000`);
  assert.equal(a.calls, 10_000 - errors, 'failed requests never reached the backend');
});

test('error filter: flush is never failed; the toggle forces every data op', async () => {
  const { next } = fakeNext();
  const f = createErrorFilter({}, { diskNumber: 1 });
  const chain = new FilterChain([f], next);
  f.setErrors!(true);
  assert.equal(f.errorsOn!(), true);
  await chain.top.flush(0, ctx());
  await assert.rejects(chain.top.trim(1, 0n, 0, ctx()), /EIO/);
  await assert.rejects(chain.top.extents(1, 0n, 0, ctx()), /EIO/);
  f.setErrors!(false);
  await chain.top.trim(1, 0n, 0, ctx());
});

test('delay filter: parallel waits, wdelay fans out, live change, abort clears the timer', async () => {
  const { next } = fakeNext();
  const f = createDelayFilter({ wdelay: '50ms', 'delay-trim': '0' }, { diskNumber: 1 });
  const chain = new FilterChain([f], next);
  let t = performance.now();
  await Promise.all(Array.from({ length: 10 }, () => chain.top.pwrite(Buffer.alloc(1), 0n, 0, ctx())));
  const par = performance.now() - t;
  assert.ok(par >= 45 && par < 200, `10 parallel 50 ms writes took ${par} ms`);
  t = performance.now();
  await chain.top.trim(1, 0n, 0, ctx());
  assert.ok(performance.now() - t < 30, 'later delay-trim=0 overrides wdelay');
  f.configure!({ wdelay: '0' });
  t = performance.now();
  await chain.top.pwrite(Buffer.alloc(1), 0n, 0, ctx());
  assert.ok(performance.now() - t < 30, 'live change applies');
  f.configure!({ rdelay: '10' });
  const ac = new AbortController();
  const p = chain.top.pread(Buffer.alloc(1), 0n, 0, ctx(ac.signal));
  ac.abort();
  await assert.rejects(p, /cancelled/);
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, 0);
});

test('delay-fast-zero=false refuses fast zeroes at once with ENOTSUP', async () => {
  const { next } = fakeNext();
  const chain = new FilterChain(
    [createDelayFilter({ 'delay-zero': '10', 'delay-fast-zero': 'false' }, { diskNumber: 1 })],
    next,
  );
  await assert.rejects(chain.top.zero(1, 0n, CMD_FLAG.FAST_ZERO, ctx()), (e: NbdError) => e.errno === 'ENOTSUP');
});

test('log format: golden lines from nbdkit 1.32', () => {
  assert.equal(formatTimestamp(Date.UTC(2026, 10, 23, 4, 32, 45) * 1000 + 144445), '2026-11-23 04:32:45.144445');
  // The date part is kept per second: across a second, a day and a year, and back again.
  const at = (y: number, mo: number, d: number, h: number, mi: number, s: number, us: number) =>
    formatTimestamp(Date.UTC(y, mo, d, h, mi, s) * 1000 + us);
  assert.equal(at(2026, 10, 23, 4, 32, 45, 999999), '2026-11-23 04:32:45.999999');
  assert.equal(at(2026, 10, 23, 4, 32, 46, 1), '2026-11-23 04:32:46.000001');
  assert.equal(at(2026, 10, 23, 4, 32, 45, 500000), '2026-11-23 04:32:45.500000');
  assert.equal(at(2026, 11, 31, 23, 59, 59, 999999.7), '2026-12-31 23:59:59.999999');
  assert.equal(at(2027, 0, 1, 0, 0, 0, 0), '2027-01-01 00:00:00.000000');
  const ts = Date.UTC(2026, 10, 23, 4, 32, 45) * 1000 + 144924;
  assert.equal(
    line(ts, 1, 'enter', 'Write', 1, 'offset=0x0 count=0x10000 fua=1'),
    '2026-11-23 04:32:45.144924 connection=1 Write id=1 offset=0x0 count=0x10000 fua=1 ...\n',
  );
  assert.equal(
    line(ts, 1, 'leave', 'Read', 2, 'return=-1 error=EIO'),
    '2026-11-23 04:32:45.144924 connection=1 ...Read id=2 return=-1 error=EIO\n',
  );
  assert.equal(
    line(ts, null, 'print', 'Ready', null, 'thread_model=3'),
    '2026-11-23 04:32:45.144924 Ready thread_model=3\n',
  );
  assert.equal(shellQuote(''), '""');
  assert.equal(shellQuote('disk-1.img'), 'disk-1.img');
  assert.equal(shellQuote('a b"$'), '"a b\\"\\$"');
  assert.equal(
    formatExtents(
      0n,
      0x4000000,
      [
        { length: 0x8000n, type: 0 },
        { length: 0x8000n, type: 0 },
        { length: 1n << 40n, type: 3 },
      ],
      false,
    ),
    'extents=(0x0 0x10000 "" 0x10000 0x3ff0000 "hole,zero")',
  );
  assert.equal(
    formatExtents(
      0n,
      0x10000,
      [
        { length: 0x10000n, type: 0 },
        { length: 4n, type: 3 },
      ],
      true,
    ),
    'extents=(0x0 0x10000 "")',
  );
});
