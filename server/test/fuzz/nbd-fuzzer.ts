// A seeded mutation fuzzer for the NBD wire: each case is the byte stream one client sends on
// one connection, derived only from (seed, case index) so any failure replays exactly.
//
// Three kinds of case:
//  - handshake: client flags and a list of options (GO/INFO with info requests, meta-context
//    lists with absurd counts, LIST, STARTTLS, ABORT, EXPORT_NAME, unknown options), built
//    valid, then mutated byte by byte (bit flips, interesting values, huge lengths, truncation,
//    insertion, duplication); sometimes followed by transmission requests;
//  - transmission: a valid handshake, then requests with mutated fields (bad magic, every
//    command and unknown ones, random flags, zero/huge lengths, offsets past the end and near
//    2^64), payloads shorter than announced, disconnects mid-payload, garbage;
//  - garbage: random bytes from the first byte on.
//
// The fuzzer never sends a request that could modify the protected region at the end of the
// disk (a well-behaved control client owns it): data-changing requests that would touch it are
// moved past the end, and a stream in which the request magic appears anywhere but at the start
// of a request we built is regenerated, so that no misframed payload can be parsed as a write.

import { CMD, IHAVEOPT, OPT, REQUEST_MAGIC } from '../../protocol/constants.ts';
import { encodeRequestHeader } from '../../protocol/transmission.ts';

/** mulberry32: small, fast, good enough to explore; the seed fully determines the sequence. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

export interface Geometry {
  size: bigint;
  /** First byte of the region no fuzz case may change (it runs to the end of the disk). */
  protectedStart: bigint;
}

export interface FuzzCase {
  kind: 'handshake' | 'transmission' | 'garbage';
  /** What the client writes, chunk by chunk (chunk boundaries are part of the case). */
  chunks: Buffer[];
  /** After sending: close at once, or read replies until the server closes or goes quiet. */
  then: 'close' | 'read';
}

/** Per-case seed: any case can be replayed alone from (seed, index). */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};
const u16be = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff, 0);
  return b;
};

function option(opt: number, data: Buffer, declared = data.length): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt >>> 0, 8);
  h.writeUInt32BE(declared >>> 0, 12);
  return Buffer.concat([h, data]);
}

const STRINGS = ['', 'x', 'base:allocation', 'base:', 'base:nosuch', 'qemu:dirty-bitmap:a', '\u00ff\u0000'];

function fuzzString(r: Rng): Buffer {
  if (r.chance(0.05)) return Buffer.alloc(4097 + r.int(3000), 0x61); // longer than the spec's 4096
  if (r.chance(0.2)) return r.bytes(r.int(40));
  return Buffer.from(r.pick(STRINGS));
}

/** A length field: usually right, sometimes off by a little, sometimes absurd. */
function lengthField(r: Rng, right: number): number {
  if (r.chance(0.75)) return right;
  return r.pick([0, right + 1, Math.max(0, right - 1), 0x7fffffff, 0xffffffff, 0x10000, r.u32()]);
}

function goOrInfo(r: Rng, opt: number): Buffer {
  const name = r.chance(0.8) ? Buffer.alloc(0) : fuzzString(r);
  const n = r.int(6);
  const reqs = Array.from({ length: n }, () => u16be(r.chance(0.8) ? r.int(4) : r.u32()));
  return option(opt, Buffer.concat([u32be(lengthField(r, name.length)), name, u16be(lengthField(r, n)), ...reqs]));
}

function metaContext(r: Rng, opt: number): Buffer {
  const name = r.chance(0.9) ? Buffer.alloc(0) : fuzzString(r);
  const queries = Array.from({ length: r.int(5) }, () => fuzzString(r));
  const count = r.chance(0.15) ? r.pick([0xffffffff, 0x80000000, 1 << 20, queries.length + 1]) : queries.length;
  const parts = [u32be(lengthField(r, name.length)), name, u32be(count)];
  for (const q of queries) parts.push(u32be(lengthField(r, q.length)), q);
  return option(opt, Buffer.concat(parts));
}

function randomOption(r: Rng): Buffer {
  switch (r.int(10)) {
    case 0:
      return goOrInfo(r, OPT.INFO);
    case 1:
      return option(OPT.LIST, r.chance(0.8) ? Buffer.alloc(0) : r.bytes(r.int(16)));
    case 2:
      return option(OPT.STRUCTURED_REPLY, r.chance(0.9) ? Buffer.alloc(0) : r.bytes(4));
    case 3:
      return metaContext(r, OPT.LIST_META_CONTEXT);
    case 4:
      return metaContext(r, OPT.SET_META_CONTEXT);
    case 5:
      return option(OPT.STARTTLS, r.chance(0.8) ? Buffer.alloc(0) : r.bytes(3));
    case 6:
      return option(OPT.EXTENDED_HEADERS, Buffer.alloc(0));
    case 7:
      // Announced length far beyond what follows: the server must wait or skip, not buffer.
      return option(r.int(12), r.bytes(r.int(64)), r.pick([1 << 20, (1 << 20) + 1, 0x7fffffff, 0xffffffff]));
    case 8:
      return option(r.u32(), r.bytes(r.int(32)));
    default:
      return goOrInfo(r, OPT.INFO);
  }
}

/** Byte-level mutations of a handshake stream. */
function mutateBytes(r: Rng, b: Buffer): Buffer {
  let out = Buffer.from(b);
  const n = 1 + r.int(4);
  for (let i = 0; i < n && out.length; i++) {
    const at = r.int(out.length);
    switch (r.int(6)) {
      case 0:
        out[at] ^= 1 << r.int(8);
        break;
      case 1:
        out[at] = r.pick([0, 0xff, 0x7f, 0x80, 1]);
        break;
      case 2:
        if (at + 4 <= out.length) out.writeUInt32BE(r.pick([0, 0xffffffff, 0x7fffffff, 1 << 20, r.u32()]), at);
        break;
      case 3:
        out = out.subarray(0, at); // truncation
        break;
      case 4:
        out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(16)), out.subarray(at)]);
        break;
      default: {
        const len = 1 + r.int(Math.min(64, out.length - at));
        out = Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)]);
      }
    }
  }
  return out;
}

const BIG = [32 << 20, 64 << 20, (64 << 20) + 1, 0x7fffffff, 0xffffffff];

function requestLength(r: Rng): number {
  if (r.chance(0.02)) return r.pick(BIG);
  if (r.chance(0.1)) return r.u32();
  return r.pick([0, 1, 511, 512, 4096, 65536, 1 << 20, 1 + r.int(8192), 512 * (1 + r.int(64))]);
}

function requestOffset(r: Rng, g: Geometry): bigint {
  const max64 = (1n << 64n) - 1n;
  return r.pick([
    0n,
    512n,
    BigInt(r.int(Number(g.protectedStart) - (1 << 20))),
    BigInt(512 * r.int(1024)),
    g.size - 512n,
    g.size,
    g.size + 1n,
    g.protectedStart,
    (1n << 63n) - 1n,
    1n << 63n,
    max64 - 511n,
    max64,
    r.u64(),
  ]);
}

interface Built {
  bytes: Buffer;
  /** Offsets in `bytes` where a request header we built starts. */
  headers: number[];
  /** The case ended in the middle of a payload: nothing may follow. */
  cut: boolean;
}

/** Transmission requests with mutated fields, never able to change the protected region. */
function requests(r: Rng, g: Geometry): Built {
  const parts: Buffer[] = [];
  const headers: number[] = [];
  let pos = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    pos += b.length;
  };
  const n = 1 + r.int(12);
  for (let i = 0; i < n; i++) {
    let type = r.chance(0.9) ? r.int(8) : r.chance(0.5) ? 8 + r.int(8) : r.int(0x10000);
    const flags = r.chance(0.6) ? 0 : r.chance(0.7) ? r.int(0x20) : r.int(0x10000);
    let offset = requestOffset(r, g);
    const length = requestLength(r);
    if (type === CMD.DISC && r.chance(0.7)) type = CMD.READ;
    const changesData = type === CMD.WRITE || type === CMD.TRIM || type === CMD.WRITE_ZEROES;
    if (changesData && offset < g.size && offset + BigInt(length) > g.protectedStart) offset = g.size + (1n << 40n);
    const header = encodeRequestHeader({ flags, type, cookieHi: r.u32(), cookieLo: r.u32(), offset, length });
    if (r.chance(0.03))
      header.writeUInt32BE(r.u32(), 0); // bad magic
    else headers.push(pos);
    push(header);
    if (type === CMD.WRITE) {
      // Payloads past 1 MiB are never sent whole: the case ends mid-payload.
      const whole = length <= 1 << 20 && r.chance(0.85);
      const sent = whole ? length : r.int(Math.min(length, 1 << 20) + 1);
      push(r.chance(0.5) ? Buffer.alloc(sent, r.int(256)) : r.bytes(sent));
      if (!whole) return { bytes: Buffer.concat(parts), headers, cut: true };
    }
    if (type === CMD.DISC) break;
  }
  if (r.chance(0.05)) push(r.bytes(1 + r.int(64))); // trailing garbage
  return { bytes: Buffer.concat(parts), headers, cut: false };
}

/** The request magic anywhere but at a header we built could frame a write we never checked. */
function strayMagic(b: Buffer, headers: number[], base: number): boolean {
  const magic = u32be(REQUEST_MAGIC);
  const ok = new Set(headers.map((h) => h + base));
  for (let at = b.indexOf(magic); at >= 0; at = b.indexOf(magic, at + 1)) if (!ok.has(at)) return true;
  return false;
}

function split(r: Rng, b: Buffer): Buffer[] {
  if (b.length < 2 || r.chance(0.6)) return [b];
  const cuts = Array.from({ length: 1 + r.int(4) }, () => 1 + r.int(b.length - 1)).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let last = 0;
  for (const c of cuts) {
    if (c > last) out.push(b.subarray(last, c));
    last = c;
  }
  out.push(b.subarray(last));
  return out;
}

function validHandshake(r: Rng): Buffer {
  const parts: Buffer[] = [u32be(3)];
  const structured = r.chance(0.6);
  if (structured) parts.push(option(OPT.STRUCTURED_REPLY, Buffer.alloc(0)));
  if (structured && r.chance(0.6)) {
    const q = Buffer.from('base:allocation');
    parts.push(option(OPT.SET_META_CONTEXT, Buffer.concat([u32be(0), u32be(1), u32be(q.length), q])));
  }
  if (r.chance(0.7)) parts.push(option(OPT.GO, Buffer.concat([u32be(0), u16be(1), u16be(3)])));
  else parts.push(option(OPT.EXPORT_NAME, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function build(r: Rng, g: Geometry): FuzzCase & { headers: number[]; base: number } {
  const roll = r.int(100);
  if (roll < 8) {
    return {
      kind: 'garbage',
      chunks: split(r, r.bytes(r.int(200))),
      then: r.pick(['close', 'read']),
      headers: [],
      base: 0,
    };
  }
  if (roll < 48) {
    const opts: Buffer[] = [u32be(r.chance(0.85) ? 3 : r.pick([0, 1, 2, r.u32()]))];
    for (let i = 0, n = r.int(6); i < n; i++) opts.push(randomOption(r));
    const ending = r.int(4);
    if (ending === 0) opts.push(goOrInfo(r, OPT.GO));
    else if (ending === 1) opts.push(option(OPT.EXPORT_NAME, r.chance(0.8) ? Buffer.alloc(0) : fuzzString(r)));
    else if (ending === 2) opts.push(option(OPT.ABORT, Buffer.alloc(0)));
    const hs = mutateBytes(r, Buffer.concat(opts));
    const tail = r.chance(0.3) ? requests(r, g) : { bytes: Buffer.alloc(0), headers: [], cut: false };
    const bytes = Buffer.concat([hs, tail.bytes]);
    return {
      kind: 'handshake',
      chunks: split(r, bytes),
      then: r.pick(['close', 'read']),
      headers: tail.headers,
      base: hs.length,
    };
  }
  const hs = validHandshake(r);
  const t = requests(r, g);
  const bytes = Buffer.concat([hs, t.bytes]);
  const then = t.cut ? r.pick(['close', 'read'] as const) : r.chance(0.2) ? 'close' : 'read';
  return { kind: 'transmission', chunks: split(r, bytes), then, headers: t.headers, base: hs.length };
}

/** The case for (seed, index): deterministic, and never able to touch the protected region. */
export function makeCase(seed: number, index: number, g: Geometry): FuzzCase {
  for (let attempt = 0; ; attempt++) {
    const r = new Rng(caseSeed(seed, index) + attempt);
    const c = build(r, g);
    if (!strayMagic(Buffer.concat(c.chunks), c.headers, c.base))
      return { kind: c.kind, chunks: c.chunks, then: c.then };
  }
}
