import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventBus } from '../events/event-bus.ts';
import { CMD_FLAG, type RequestEvent } from '../shared/types.ts';
import { LogCorrelator } from './correlator.ts';
import { parseLine } from './parser.ts';
import { LogTailer } from './tailer.ts';

test('parses nbdkit ≥ 1.24 lines (golden lines from 1.32)', () => {
  const c = parseLine(
    '2026-11-23 04:32:45.144628 connection=1 Connect export="" tls=0 size=0x4000000 minsize=0x0 prefsize=0x0 maxsize=0x0 write=1 flush=1 rotational=0 trim=1 zero=2 fua=2 extents=1 cache=2 fast_zero=1',
  )!;
  assert.equal(c.kind, 'print');
  assert.equal(c.act, 'Connect');
  assert.equal(c.fields.size, '0x4000000');
  assert.equal(c.fields.export, '');
  assert.equal(c.timeUs, Date.UTC(2026, 10, 23, 4, 32, 45) * 1000 + 144628);
  const w = parseLine(
    '2026-11-23 04:32:45.144924 connection=1 Write id=1 offset=0x7ffffffffffff000 count=0x10000 fua=1 ...',
  )!;
  assert.deepEqual(
    [w.kind, w.act, w.id, w.connection, w.fields.offset, w.fields.fua],
    ['enter', 'Write', 1, 1, '0x7ffffffffffff000', '1'],
  );
  const e = parseLine('2026-11-23 04:33:08.984315 connection=1 ...Read id=1 return=-1 error=EIO')!;
  assert.deepEqual([e.kind, e.error], ['leave', 'EIO']);
  const x = parseLine(
    '2026-11-23 04:32:45.164711 connection=2 ...Extents id=1 extents=(0x0 0x10000 "" 0x10000 0x3ff0000 "hole,zero") return=0',
  )!;
  assert.deepEqual(
    [x.kind, x.error, x.fields.extents],
    ['leave', null, '(0x0 0x10000 "" 0x10000 0x3ff0000 "hole,zero")'],
  );
  const l = parseLine('2026-11-23 04:32:45.169488 ...ListExports id=1 exports=("") return=0')!;
  assert.equal(l.connection, null);
  assert.equal(parseLine('2026-11-23 04:32:44.649586 Ready thread_model=3')!.act, 'Ready');
});

test('parses the 1.8–1.22 era: (Success), (EIO), mapped errors, the fast=0... quirk, Time unknown', () => {
  const ok = parseLine('2018-01-27 20:38:23.001995 connection=1 ...Read id=1 return=0 (Success)')!;
  assert.deepEqual([ok.kind, ok.error], ['leave', null]);
  assert.equal(parseLine('2018-01-27 20:38:23.001995 connection=1 ...Write id=2 return=-1 (EIO)')!.error, 'EIO');
  assert.equal(
    parseLine('2018-01-27 20:38:23.001995 connection=1 ...Write id=3 return=-1 (EROFS=>EPERM)')!.error,
    'EPERM',
  );
  const z = parseLine(
    '2019-06-01 10:00:00.000001 connection=1 Zero id=4 offset=0x1000 count=0x200 trim=1 fua=0 fast=0...',
  )!;
  assert.deepEqual([z.kind, z.fields.fast, z.fields.count], ['enter', '0', '0x200']);
  const old = parseLine(
    '2018-01-27 20:38:22.959984 connection=1 Connect size=0x400 write=1 flush=1 rotational=0 trim=0 zero=1 fua=1',
  )!;
  assert.equal(old.fields.size, '0x400');
  const unknown = parseLine('Time unknown connection=1 Flush id=5 ...')!;
  assert.deepEqual([unknown.timeUs, unknown.kind, unknown.act], [null, 'enter', 'Flush']);
});

test('malformed lines are rejected, never thrown', () => {
  for (const bad of [
    '',
    'hello',
    '2026-11-23 04:32:45 connection=1 Read',
    '2026-13-99 99:99:99.000000 Read id=1 ...',
    '2026-11-23 04:32:45.144924 connection=1 ...Read id=1',
    '2026-11-23 04:32:45.144924 lowercase id=1',
  ]) {
    assert.equal(parseLine(bad), null, bad);
  }
});

test('correlator: interleaved requests, flags, LEAVE without ENTER, disconnect ends the rest', () => {
  const bus = new EventBus();
  const seen: Array<[string, RequestEvent]> = [];
  bus.subscribe((phase, ev) => seen.push([phase, { ...ev }]));
  let size: bigint | null = null;
  const c = new LogCorrelator(1, bus, 'log', (s) => (size = s));
  const lines = [
    '2026-11-23 04:32:45.000000 connection=1 Connect export="" tls=0 size=0x4000000',
    '2026-11-23 04:32:45.000001 connection=1 Zero id=1 offset=0x0 count=0x1000 trim=0 fua=1 fast=1 ...',
    '2026-11-23 04:32:45.000002 connection=1 Read id=2 offset=0x2000 count=0x1000 ...',
    '2026-11-23 04:32:45.000003 connection=1 ...Read id=2 return=0',
    '2026-11-23 04:32:45.000004 connection=1 ...Zero id=1 return=-1 error=ENOSPC',
    '2026-11-23 04:32:45.000005 connection=1 ...Write id=9 return=0',
    '2026-11-23 04:32:45.000006 connection=1 Trim id=10 offset=0x0 count=0x1000 fua=0 ...',
    '2026-11-23 04:32:45.000007 connection=1 Disconnect transactions=10',
  ];
  for (const l of lines) c.feed(parseLine(l)!);
  assert.equal(size, 0x4000000n);
  const ends = seen.filter(([p]) => p === 'end').map(([, e]) => [e.op, e.id, e.error]);
  assert.deepEqual(ends, [
    ['read', 2, null],
    ['zero', 1, 'ENOSPC'],
    ['write', 9, null],
    ['trim', 10, 'ESHUTDOWN'],
  ]);
  const zero = seen.find(([p, e]) => p === 'start' && e.op === 'zero')![1];
  assert.equal(zero.flags, CMD_FLAG.NO_HOLE | CMD_FLAG.FUA | CMD_FLAG.FAST_ZERO);
  assert.equal(seen.find(([p, e]) => p === 'end' && e.op === 'read')![1].endUs - zero.startUs, 2);
});

test('tailer: a log replaced by rename, same size, no unlink event: read again from the top', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tail-'));
  const path = join(dir, 'log');
  const got: string[] = [];
  writeFileSync(path, 'fresh\n');
  const t = new LogTailer(path, { onLines: (l) => got.push(...l) });
  await t.start();
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), `timed out; got ${JSON.stringify(got)}`);
  };
  try {
    await until(() => got.length === 1);
    // Another file takes the path at once: no 'unlink', and its size equals the offset read so far.
    writeFileSync(join(dir, 'next'), 'again\n');
    renameSync(join(dir, 'next'), path);
    await until(() => got[got.length - 1] === 'again');
    assert.deepEqual(got, ['fresh', 'again']);
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tailer: late file, appends in bursts, partial lines, truncation, delete and re-create', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tail-'));
  const path = join(dir, 'log');
  const got: string[] = [];
  let restarts = 0;
  const t = new LogTailer(path, { onLines: (l) => got.push(...l), onRestart: () => restarts++ });
  await t.start();
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), `timed out; got ${JSON.stringify(got)}`);
  };
  try {
    writeFileSync(path, 'one\ntwo\n'); // appears late
    await until(() => got.length === 2);
    for (let i = 0; i < 500; i++) appendFileSync(path, `burst ${i}\n`);
    await until(() => got.length === 502);
    appendFileSync(path, 'par');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 502, 'a partial line waits for its newline');
    appendFileSync(path, 'tial\n');
    await until(() => got[got.length - 1] === 'partial');
    writeFileSync(path, 'fresh\n'); // truncated: nbdkit restarted with logappend=false
    await until(() => got[got.length - 1] === 'fresh');
    assert.equal(restarts, 1);
    unlinkSync(path);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(path, 'again\n');
    await until(() => got[got.length - 1] === 'again');
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tailer: a FIFO or a directory taking the log path is said once and never blocks; a log there again is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tail-'));
  const path = join(dir, 'log');
  const got: string[] = [];
  const said: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => said.push(a.join(' '));
  const t = new LogTailer(path, { onLines: (l) => got.push(...l) });
  try {
    execFileSync('mkfifo', [path]);
    await t.start();
    // A blocked event loop would never run this timer (open(2) of a FIFO waits for a writer).
    for (let i = 0; i < 3; i++) {
      t.readMore();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(said, [`blockscope: ${path}: not a regular file`]);
    unlinkSync(path);
    mkdirSync(path);
    t.readMore();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(said.slice(1), [`blockscope: ${path}: is a directory`]);
    rmSync(path, { recursive: true });
    writeFileSync(path, 'back\n');
    for (let i = 0; i < 500 && !got.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['back']);
  } finally {
    console.error = error;
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
