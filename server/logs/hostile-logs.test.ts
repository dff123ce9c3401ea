// Logs written by something broken or hostile: the parser never throws (a seeded mutation fuzzer
// over real nbdkit log lines), stays linear on long lines, and refuses impossible numbers with a
// clear reason; `blockscope replay` and `attach` read every hostile file to its end, counting the
// bad lines; a 200 MB log without a newline costs bounded memory and time.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Disk } from '../disk.ts';
import { requireBinary, run, spawnCli } from '../test/harness.ts';
import { LogCorrelator } from './correlator.ts';
import { LineSplitter, MAX_LINE } from './lines.ts';
import { parseLine, readLine } from './parser.ts';

let dir: string;
/** Lines nbdkit 1.32's log filter really wrote, plus the old era's forms. */
let realLines: string[] = [];

before(async () => {
  requireBinary('nbdkit', 'nbdkit');
  requireBinary('qemu-io', 'qemu-utils');
  dir = mkdtempSync(join(tmpdir(), 'hostile-logs-'));
  const sock = join(dir, 'sock');
  const log = join(dir, 'nbdkit.log');
  const nbdkit = spawn(
    'nbdkit',
    ['-f', '-U', sock, '--filter=log', '--filter=error', 'memory', 'size=64M', `logfile=${log}`, 'error-rate=10%'],
    {
      stdio: 'ignore',
    },
  );
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const r = await run('qemu-io', [
      '-f',
      'raw',
      `nbd+unix:///?socket=${sock}`,
      ...[
        'write -P 1 0 1M',
        'discard 64k 64k',
        'write -z 1M 4k',
        'write -z -u 2M 64k',
        'read 0 8k',
        'flush',
        'map',
      ].flatMap((c) => ['-c', c]),
    ]);
    assert.ok(r.code === 0 || /error/i.test(r.stdout + r.stderr), r.stderr);
  } finally {
    nbdkit.kill();
    await new Promise((r) => nbdkit.once('exit', r));
  }
  realLines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  realLines.push(
    '2018-01-27 20:38:23.001995 connection=1 ...Read id=1 return=0 (Success)',
    '2018-01-27 20:38:23.001995 connection=1 ...Write id=3 return=-1 (EROFS=>EPERM)',
    '2019-06-01 10:00:00.000001 connection=1 Zero id=4 offset=0x1000 count=0x200 trim=1 fua=0 fast=0...',
    'Time unknown connection=1 Flush id=5 ...',
  );
  assert.ok(realLines.length > 20, `nbdkit wrote only ${realLines.length} lines`);
  assert.ok(
    realLines.every((l) => parseLine(l)),
    'every real line parses',
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: a seeded generator, so a failure names a reproducible seed. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n;
  };
}

const HOSTILE_NUMBERS = [
  'zz',
  '0x1g',
  '1e5',
  '-4096',
  '0x',
  '',
  '0x' + 'f'.repeat(30),
  '9'.repeat(40),
  '0x1000000000000000000000000',
  '1.5',
  'NaN',
  ' ',
];
const HOSTILE_TEXT = [
  '=',
  '"',
  '(',
  ')',
  '[',
  ']',
  ' ',
  '\\',
  '...',
  '=>',
  '\u0000',
  '\u2028',
  '\ud800',
  'é',
  '__proto__=',
  'constructor=',
  'id=',
  'connection=',
];

function mutate(line: string, r: (n: number) => number): string {
  let s = line;
  const ops = 1 + Math.floor(r(4));
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(r(s.length + 1));
    switch (Math.floor(r(8))) {
      case 0: // replace a number with a hostile one
        s = s.replace(/(0x[0-9a-f]+|\b\d+\b)/i, HOSTILE_NUMBERS[Math.floor(r(HOSTILE_NUMBERS.length))]);
        break;
      case 1:
        s = s.slice(0, at) + HOSTILE_TEXT[Math.floor(r(HOSTILE_TEXT.length))] + s.slice(at);
        break;
      case 2: // delete a range
        s = s.slice(0, at) + s.slice(at + Math.floor(r(20)));
        break;
      case 3: // duplicate a range
        s = s.slice(0, at) + s.slice(at, at + Math.floor(r(30))).repeat(1 + Math.floor(r(5))) + s.slice(at);
        break;
      case 4: // a random byte
        s = s.slice(0, at) + String.fromCharCode(Math.floor(r(0x3000))) + s.slice(at);
        break;
      case 5: // splice with another real line
        s = s.slice(0, at) + realLines[Math.floor(r(realLines.length))].slice(Math.floor(r(60)));
        break;
      case 6: // truncate
        s = s.slice(0, at);
        break;
      default:
        {
          // swap two words
          const w = s.split(' ');
          const i = Math.floor(r(w.length));
          const j = Math.floor(r(w.length));
          [w[i], w[j]] = [w[j], w[i]];
          s = w.join(' ');
        }
        break;
    }
  }
  return s;
}

test('fuzz: 30,000 mutated real nbdkit lines never throw, in the parser or on the way to the grid', () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const disk = Disk.external(1, 64n << 20n, 'replay');
    const c = new LogCorrelator(1, disk.bus, 'log');
    let unreadable = 0;
    for (let i = 0; i < 10_000; i++) {
      const line = mutate(realLines[Math.floor(r(realLines.length))], r);
      let res;
      try {
        res = readLine(line);
        if (res.line) c.feed(res.line);
        else unreadable++;
      } catch (err) {
        assert.fail(`seed ${seed} line ${i} threw ${(err as Error).stack}: ${JSON.stringify(line)}`);
      }
      if (!res.line) assert.equal(typeof res.why, 'string');
    }
    const info = disk.info();
    assert.ok(unreadable > 1000 && unreadable < 10_000, `seed ${seed}: ${unreadable} unreadable`);
    assert.ok(Object.values(info.counters).every((k) => Number.isFinite(k.count) && Number.isFinite(k.bytes)));
    assert.ok(Object.values(info.blocks).every((n) => Number.isInteger(n) && n >= 0));
  }
});

test('numbers are validated: offset, count, id and size in range or the line is refused with a reason', () => {
  const at = '2026-11-23 04:32:45.144924 connection=1';
  const why = (l: string) => readLine(l).why;
  for (const bad of ['zz', '0x1g', '1e5', '-1', '0x10000000000000000']) {
    assert.match(why(`${at} Read id=2 offset=${bad} count=0x1000 ...`)!, /is not a 64-bit offset/, bad);
  }
  assert.match(why(`${at} Read id=2 offset=0x0 count=0x100000000 ...`)!, /count=0x100000000 is not a 32-bit count/);
  assert.match(why(`${at} Read id=99999999999999999999 offset=0x0 count=0x1 ...`)!, /too large/);
  for (const bad of ['zz', '-4096', '0', '0x1000000000000000000000000', '0x8000000000000000']) {
    assert.match(
      why(`${at} Connect export="" tls=0 size=${bad} write=1`)!,
      /is not a disk size \(1 to 2\^63-1 bytes\)/,
      bad,
    );
  }
  assert.equal(readLine(`${at} Connect export="" size=0x7fffffffffffffff write=1`).line?.size, (1n << 63n) - 1n);
  assert.equal(readLine(`${at} Read id=2 offset=0xffffffffffffffff count=0xffffffff ...`).line?.count, 0xffffffff);
  assert.equal(readLine(`${at} Read id=2 offset=4096 count=512 ...`).line?.offset, 4096n);
  const proto = readLine(`${at} Read id=2 __proto__=x constructor=y offset=0x0 count=0x1 ...`).line!;
  assert.equal(proto.fields.__proto__, 'x');
  assert.equal(({} as Record<string, unknown>).x, undefined, 'no prototype pollution');
});

test('linear time on long lines: 1 MiB pathological lines parse in well under a second each', () => {
  const head = '2026-11-23 04:32:45.144924 connection=1 Read id=1 ';
  const n = MAX_LINE - head.length - 16;
  const lines = [
    head + 'a '.repeat(n / 2) + 'x=1 ...', // words without '=' before a late one (was quadratic)
    head + 'k="' + '\\"'.repeat(n / 2) + ' ...', // escapes in an unterminated quote
    head + 'e=' + '('.repeat(n) + ' ...',
    head + 'e=(' + '"('.repeat(n / 2) + ' ...',
    head + '('.repeat(n / 2) + 'E'.repeat(n / 2),
    head + 'a=b'.repeat(n / 3),
  ];
  for (const [i, line] of lines.entries()) {
    const t = performance.now();
    readLine(line);
    const ms = performance.now() - t;
    assert.ok(ms < 1000, `line ${i} took ${ms.toFixed(0)} ms`);
  }
});

test('the line splitter: bounded memory on a newline-free stream, over-long lines counted once, UTF-8 split across chunks', () => {
  const s = new LineSplitter(1000);
  let overlong = 0;
  for (let i = 0; i < 1000; i++) overlong += s.push(Buffer.alloc(4096, 0x61)).overlong;
  const end = s.push(Buffer.from('tail\nnext line\né'));
  assert.deepEqual([overlong, end.overlong, end.lines], [0, 1, ['next line']]);
  const rest = s.push(Buffer.from([0xc3]));
  assert.deepEqual(rest.lines, []);
  const fin = new LineSplitter();
  fin.push(Buffer.from('caf'));
  fin.push(Buffer.from([0xc3]));
  fin.push(Buffer.from([0xa9, 0x0d, 0x0a]));
  assert.deepEqual(fin.finish().lines, []);
  const x = new LineSplitter();
  assert.deepEqual(x.push(Buffer.from('caf\xc3')).lines, []);
  const y = new LineSplitter();
  y.push(Buffer.from([0x63, 0x61, 0x66, 0xc3]));
  assert.deepEqual(y.push(Buffer.from([0xa9, 0x0a])).lines, ['café']);
});

// ---- Whole files through the CLI ----

const T = (us: number) => `2026-11-23 04:32:45.${String(us).padStart(6, '0')}`;
const HEADER = [
  `${T(1)} Ready thread_model=3`,
  `${T(2)} connection=1 Connect export="" tls=0 size=0x1000000 write=1 flush=1`,
];
const write = (id: number, us: number, off: string) => [
  `${T(us)} connection=1 Write id=${id} offset=${off} count=0x1000 fua=0 ...`,
  `${T(us + 1)} connection=1 ...Write id=${id} return=0`,
];

/** Hostile files: [name, the bad part, how many lines of it are unreadable]. Each sits between two good writes. */
const HOSTILE: Array<[string, string | Buffer, number]> = [
  ['offset-zz', `${T(10)} connection=1 Read id=7 offset=zz count=0x1000 ...`, 1],
  ['offset-hex-g', `${T(10)} connection=1 Read id=7 offset=0x1g count=0x1000 ...`, 1],
  ['offset-exp', `${T(10)} connection=1 Read id=7 offset=1e5 count=0x1000 ...`, 1],
  ['size-zz', `${T(10)} connection=2 Connect export="" tls=0 size=zz write=1`, 1],
  ['size-negative', `${T(10)} connection=2 Connect export="" tls=0 size=-4096 write=1`, 1],
  ['size-2^96', `${T(10)} connection=2 Connect export="" tls=0 size=0x1000000000000000000000000 write=1`, 1],
  ['count-33-bit', `${T(10)} connection=1 Trim id=7 offset=0x0 count=0x100000000 fua=0 ...`, 1],
  ['id-huge', `${T(10)} connection=1 Read id=999999999999999999999 offset=0x0 count=0x1 ...`, 1],
  ['binary', Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x0a, 0x1b, 0x5b, 0x32, 0x4a]), 3],
  ['overlong', `${T(10)} connection=1 Read id=7 offset=0x0 count=0x1 ` + 'x'.repeat(3 * MAX_LINE), 1],
  [
    'unterminated',
    `${T(10)} connection=1 ...Extents id=7 extents=(0x0 0x1000 "hole return=0\n${T(11)} connection=1 Read id=8 offset=0x0 count=0x1 k="never closed ...`,
    1,
  ],
  ['bad-date', `2026-13-45 25:61:61.000000 connection=1 Read id=7 offset=0x0 count=0x1 ...`, 1],
  ['leave-without-return', `${T(10)} connection=1 ...Read id=7 error=EIO`, 1],
  ['crlf', `${T(10)} connection=1 Flush id=7 ...\r\n${T(11)} connection=1 ...Flush id=7 return=0\r`, 0],
  [
    'enter-flood',
    Array.from({ length: 70_000 }, (_, i) => `${T(10)} connection=3 Read id=${i + 1} offset=0x0 count=0x1000 ...`)
      .concat(`${T(12)} connection=3 Disconnect transactions=70000`)
      .join('\n'),
    0,
  ],
];

function hostileFile(name: string, bad: string | Buffer): string {
  const path = join(dir, `${name}.log`);
  const fd = openSync(path, 'w');
  writeSync(fd, [...HEADER, ...write(1, 3, '0x0'), ''].join('\n'));
  writeSync(fd, typeof bad === 'string' ? Buffer.from(bad) : bad);
  writeSync(fd, '\n' + [...write(2, 20, '0x2000'), `${T(30)} connection=1 Disconnect transactions=3`].join('\n'));
  // No newline after the last line: a finished file's last line still counts.
  closeSync(fd);
  return path;
}

test('replay --summary and timed replay read every hostile file to the end, counting the bad lines', async () => {
  for (const [name, bad, unreadable] of HOSTILE) {
    const path = hostileFile(name, bad);
    const summary = await run(process.execPath, [
      join(import.meta.dirname, '..', 'bin', 'blockscope.mjs'),
      'replay',
      path,
      '--summary',
    ]);
    assert.equal(summary.code, 0, `${name}: ${summary.stderr}`);
    const [d] = JSON.parse(summary.stdout);
    assert.equal(d.size, String(16 << 20), name);
    assert.equal(d.counters.write.count, 2, `${name}: the write after the bad part was not read`);
    assert.equal(d.unparsedLines, unreadable, `${name}: ${d.lastUnparsed}`);
    if (unreadable) assert.match(d.lastUnparsed, /^line \d+: \S/, name);
    if (name === 'enter-flood')
      assert.equal(d.counters.read.cancelled, 70_000, 'never-answered requests end cancelled');

    const timed = await run(process.execPath, [
      join(import.meta.dirname, '..', 'bin', 'blockscope.mjs'),
      'replay',
      path,
      '--speed',
      '100',
    ]);
    assert.equal(timed.code, 0, `${name}: ${timed.stderr}`);
    assert.match(timed.stdout, /replay finished: \d+ requests/, name);
  }
});

test('a log whose first Connect line has an impossible size: a clear refusal, or --size and on to the end', async () => {
  const cli = join(import.meta.dirname, '..', 'bin', 'blockscope.mjs');
  for (const size of ['-4096', '0x1000000000000000000000000', 'zz']) {
    const path = join(dir, `first-size-${size.length}.log`);
    writeFileSync(
      path,
      [`${T(2)} connection=1 Connect export="" tls=0 size=${size} write=1`, ...write(1, 3, '0x0')].join('\n') + '\n',
    );
    const r = await run(process.execPath, [cli, 'replay', path, '--summary']);
    assert.equal(r.code, 2, r.stderr);
    const message = `line 1: size=${size} is not a disk size (1 to 2^63-1 bytes); give --size`;
    assert.ok(r.stderr.includes(message), r.stderr);
    const withSize = await run(process.execPath, [cli, 'replay', path, '--summary', '--size', '16M']);
    assert.equal(withSize.code, 0, withSize.stderr);
    assert.equal(JSON.parse(withSize.stdout)[0].counters.write.count, 1);
    const a = await run(process.execPath, [cli, 'attach', path, '--api', '0'], { timeoutMs: 20_000 });
    assert.equal(a.code, 2, a.stderr);
    assert.match(a.stderr, /is not a disk size \(1 to 2\^63-1 bytes\); give --size/);
  }
});

test('attach tails hostile lines as they are appended and keeps going, API up, bad lines counted', async () => {
  const log = join(dir, 'tailed.log');
  writeFileSync(log, [...HEADER, ...write(1, 3, '0x0')].join('\n') + '\n');
  const a = spawnCli(['attach', log, '--api', '0']);
  try {
    const m = await a.waitFor(/^api (\S+)$/m);
    const disk = async () => ((await (await fetch(m[1])).json()) as any[])[0];
    let expected = 0;
    for (const [name, bad, unreadable] of HOSTILE) {
      if (name === 'enter-flood') continue;
      appendFileSync(log, typeof bad === 'string' ? bad + '\n' : Buffer.concat([bad, Buffer.from('\n')]));
      expected += unreadable;
    }
    appendFileSync(log, write(2, 20, '0x2000').join('\n') + '\n');
    for (let i = 0; i < 200 && (await disk()).counters.write.count < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    const d = await disk();
    assert.ok(a.alive(), `attach died: ${a.stderr()}`);
    assert.equal(d.counters.write.count, 2);
    assert.equal(d.unparsedLines, expected, d.lastUnparsed);
    assert.match(a.stderr(), /line \d+: .* skipped/);
  } finally {
    await a.stop();
  }
});

test(
  'a 200 MB log without a newline: attach and replay in bounded memory and linear time',
  { timeout: 240_000 },
  async (ctx) => {
    const log = join(dir, 'huge.log');
    const fd = openSync(log, 'w');
    writeSync(fd, [...HEADER, ...write(1, 3, '0x0'), ''].join('\n'));
    const mib = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 200; i++) writeSync(fd, mib);
    closeSync(fd);

    // attach: the API comes up and the process stays small while it reads past 200 MB.
    const a = spawnCli(['attach', log, '--api', '0']);
    try {
      const t0 = performance.now();
      const m = await a.waitFor(/^api (\S+)$/m, 60_000);
      let peak = a.rssMiB();
      const disk = async () => ((await (await fetch(m[1])).json()) as any[])[0];
      appendFileSync(log, '\n' + write(2, 20, '0x2000').join('\n') + '\n');
      for (let i = 0; i < 600 && (await disk()).counters.write.count < 2; i++) {
        peak = Math.max(peak, a.rssMiB());
        await new Promise((r) => setTimeout(r, 50));
      }
      peak = Math.max(peak, a.rssMiB());
      const seconds = (performance.now() - t0) / 1000;
      const d = await disk();
      assert.equal(d.counters.write.count, 2, 'the write after the 200 MB line was not read');
      assert.equal(d.unparsedLines, 1);
      ctx.diagnostic(
        `attach: ${seconds.toFixed(1)} s to the write after the 200 MB line, peak RSS ${peak.toFixed(0)} MiB`,
      );
      // Before: 99 s and 1.5 GiB before the API even came up.
      assert.ok(seconds < 30, `attach took ${seconds.toFixed(1)} s`);
      assert.ok(peak < 300, `attach peaked at ${peak.toFixed(0)} MiB`);
    } finally {
      await a.stop();
    }

    // replay --summary of the same file: read to the end (the write after the long line counts), memory flat.
    const r = spawnCli(['replay', log, '--summary']);
    let peak = 0;
    const t0 = performance.now();
    while (r.alive()) {
      peak = Math.max(peak, r.rssMiB());
      await new Promise((res) => setTimeout(res, 20));
    }
    const ms = performance.now() - t0;
    assert.equal(await r.stop(), 0, r.stderr());
    const [d] = JSON.parse(r.stdout());
    ctx.diagnostic(`replay --summary: ${(ms / 1000).toFixed(1)} s, peak RSS ${peak.toFixed(0)} MiB`);
    assert.equal(d.unparsedLines, 1);
    assert.equal(d.counters.write.count, 2);
    assert.ok(peak < 300, `replay peaked at ${peak.toFixed(0)} MiB`);
    assert.ok(ms < 60_000, `replay took ${ms.toFixed(0)} ms`);
  },
);
