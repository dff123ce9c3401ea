import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CMD_FLAG } from '../shared/types.ts';
import { CMD, IHAVEOPT, NBD_ERR, REPLY_MAGIC_OPT, TF } from './constants.ts';
import { matchMetaContexts } from './meta-context.ts';
import {
  OptionParseError,
  encodeExportNameReply,
  encodeGreeting,
  encodeOptionReply,
  parseInfoRequest,
  parseMetaContextRequest,
  parseOptionHeader,
} from './handshake.ts';
import {
  encodeBlockStatus,
  encodeRequestHeader,
  encodeSimpleReply,
  parseRequestHeader,
  checkRequest,
  wireError,
  type ExportState,
  type RequestHeader,
} from './transmission.ts';

/** The errno checkRequest refuses a request with (null: valid). */
const validateRequest = (h: RequestHeader, s: ExportState) => checkRequest(h, s)?.errno ?? null;

test('greeting: NBDMAGIC, IHAVEOPT, fixed newstyle + no zeroes', () => {
  const g = encodeGreeting();
  assert.equal(g.length, 18);
  assert.equal(g.toString('ascii', 0, 8), 'NBDMAGIC');
  assert.equal(g.readBigUInt64BE(8), IHAVEOPT);
  assert.equal(g.readUInt16BE(16), 3);
});

test('option header and replies', () => {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(7, 8);
  h.writeUInt32BE(12, 12);
  assert.deepEqual(parseOptionHeader(h), { option: 7, length: 12 });
  h.writeUInt32BE(0, 0);
  assert.equal(parseOptionHeader(h), null);
  const r = encodeOptionReply(7, 0x80000001, Buffer.from('no'));
  assert.equal(r.readBigUInt64BE(0), REPLY_MAGIC_OPT);
  assert.equal(r.readUInt32BE(12), 0x80000001);
  assert.equal(r.readUInt32BE(16), 2);
  assert.equal(encodeExportNameReply(1n, 1, true).length, 10);
  assert.equal(encodeExportNameReply(1n, 1, false).length, 134);
});

test('INFO/GO and META_CONTEXT payloads parse, and malformed ones are rejected', () => {
  const name = Buffer.from('disk');
  const info = Buffer.alloc(4 + name.length + 2 + 4);
  info.writeUInt32BE(name.length, 0);
  name.copy(info, 4);
  info.writeUInt16BE(2, 8);
  info.writeUInt16BE(3, 10);
  info.writeUInt16BE(1, 12);
  assert.deepEqual(parseInfoRequest(info), { name: 'disk', requests: [3, 1] });
  assert.throws(() => parseInfoRequest(info.subarray(0, 11)), OptionParseError);
  const bad = Buffer.from(info);
  bad.writeUInt32BE(1000, 0);
  assert.throws(() => parseInfoRequest(bad), /export name length/);

  const q = Buffer.from('base:allocation');
  const meta = Buffer.alloc(4 + 0 + 4 + 4 + q.length);
  meta.writeUInt32BE(0, 0);
  meta.writeUInt32BE(1, 4);
  meta.writeUInt32BE(q.length, 8);
  q.copy(meta, 12);
  assert.deepEqual(parseMetaContextRequest(meta), { name: '', queries: ['base:allocation'] });
  assert.throws(() => parseMetaContextRequest(Buffer.concat([meta, Buffer.from([1])])), /trailing/);
});

const header = (over: Partial<RequestHeader>): RequestHeader => ({
  flags: 0,
  type: CMD.READ,
  cookieHi: 1,
  cookieLo: 2,
  offset: 0n,
  length: 4096,
  ...over,
});
const state: ExportState = {
  size: 1n << 20n,
  eflags:
    TF.HAS_FLAGS |
    TF.SEND_FLUSH |
    TF.SEND_FUA |
    TF.SEND_TRIM |
    TF.SEND_WRITE_ZEROES |
    TF.SEND_FAST_ZERO |
    TF.SEND_DF |
    TF.SEND_CACHE,
  structuredReplies: true,
  metaContext: true,
};

test('request header round trip keeps 64-bit offsets exact', () => {
  const h = header({ type: CMD.WRITE, offset: (7n << 60n) - 4096n, flags: CMD_FLAG.FUA });
  assert.deepEqual(parseRequestHeader(encodeRequestHeader(h)), h);
  const bad = encodeRequestHeader(h);
  bad.writeUInt32BE(0xdeadbeef, 0);
  assert.equal(parseRequestHeader(bad), null);
});

test('validateRequest follows the spec and nbdkit', () => {
  assert.equal(validateRequest(header({}), state), null);
  assert.equal(validateRequest(header({ offset: (1n << 20n) - 100n }), state), 'EINVAL', 'read past the end');
  assert.equal(validateRequest(header({ type: CMD.WRITE, offset: 1n << 20n }), state), 'ENOSPC', 'write past the end');
  assert.equal(validateRequest(header({ type: CMD.WRITE_ZEROES, offset: 1n << 20n }), state), 'ENOSPC');
  assert.equal(validateRequest(header({ type: 99 }), state), 'EINVAL', 'unknown command');
  assert.equal(validateRequest(header({ flags: 1 << 9 }), state), 'EINVAL', 'unknown flag');
  assert.equal(validateRequest(header({ flags: CMD_FLAG.NO_HOLE }), state), 'EINVAL', 'NO_HOLE on a read');
  assert.equal(validateRequest(header({ type: CMD.FLUSH, length: 1 }), state), 'EINVAL');
  assert.equal(validateRequest(header({ type: CMD.FLUSH, length: 0 }), state), null);
  assert.equal(validateRequest(header({ length: 0 }), state), 'EINVAL');
  assert.equal(validateRequest(header({ flags: CMD_FLAG.DF }), { ...state, structuredReplies: false }), 'EINVAL');
  assert.equal(validateRequest(header({ type: CMD.BLOCK_STATUS }), { ...state, metaContext: false }), 'EINVAL');
  assert.equal(
    validateRequest(header({ type: CMD.WRITE }), { ...state, eflags: state.eflags | TF.READ_ONLY }),
    'EPERM',
  );
  assert.equal(validateRequest(header({ type: CMD.WRITE, length: 65 << 20 }), { ...state, size: 1n << 40n }), 'EINVAL');
});

test('a refused request says why in its error chunk, with the errno unchanged', () => {
  const why = (h: Partial<RequestHeader>, st = state) => checkRequest(header(h), st);
  const ro = { ...state, eflags: state.eflags | TF.READ_ONLY };
  assert.deepEqual(why({ offset: (1n << 20n) - 100n }), {
    errno: 'EINVAL',
    why: 'out of range: offset 1048476 + length 4096 > size 1048576',
  });
  assert.deepEqual(why({ type: CMD.WRITE, offset: (7n << 60n) + 1n }, { ...state, size: 7n << 60n }), {
    errno: 'ENOSPC',
    why: 'out of range: offset 8070450532247928833 + length 4096 > size 8070450532247928832',
  });
  assert.deepEqual(why({ flags: 1 << 9 }), { errno: 'EINVAL', why: 'unknown flag 0x200' });
  assert.deepEqual(why({ type: 99 }), { errno: 'EINVAL', why: 'unknown command 99' });
  assert.deepEqual(why({ type: CMD.TRIM }, ro), { errno: 'EPERM', why: 'the export is read-only' });
  assert.deepEqual(why({ type: CMD.WRITE, length: 65 << 20 }, { ...state, size: 1n << 40n }), {
    errno: 'EINVAL',
    why: `too large: ${65 << 20} bytes (at most ${64 << 20})`,
  });
  assert.deepEqual(why({ length: 0 }), { errno: 'EINVAL', why: 'zero length' });
  assert.deepEqual(why({ type: CMD.CACHE }, { ...state, eflags: state.eflags & ~TF.SEND_CACHE }), {
    errno: 'EINVAL',
    why: 'the export does not support cache',
  });
});

test('errors map to the wire like nbdkit: ENOTSUP only with FAST_ZERO', () => {
  assert.equal(wireError('EIO', 0), NBD_ERR.EIO);
  assert.equal(wireError('ENOTSUP', 0), NBD_ERR.EINVAL);
  assert.equal(wireError('ENOTSUP', CMD_FLAG.FAST_ZERO), NBD_ERR.ENOTSUP);
  assert.equal(wireError('EOVERFLOW', CMD_FLAG.DF), NBD_ERR.EOVERFLOW);
  const r = encodeSimpleReply(5, header({}));
  assert.equal(r.readUInt32BE(4), 5);
  assert.equal(r.readUInt32BE(12), 2);
});

test('block status: merged, clipped to the request, one descriptor with REQ_ONE', () => {
  const h = header({ type: CMD.BLOCK_STATUS, length: 100_000 });
  const extents = [
    { length: 32768n, type: 0 },
    { length: 32768n, type: 0 },
    { length: 1n << 40n, type: 3 },
  ];
  const b = encodeBlockStatus(h, 1, extents, false);
  assert.equal(b.readUInt32BE(16), 4 + 16);
  assert.deepEqual(
    [b.readUInt32BE(24), b.readUInt32BE(28), b.readUInt32BE(32), b.readUInt32BE(36)],
    [65536, 0, 100_000 - 65536, 3],
  );
  const one = encodeBlockStatus(h, 1, extents, true);
  assert.equal(one.readUInt32BE(16), 12);
  assert.equal(one.readUInt32BE(24), 32768);
});

test('meta-context matching: `base:` is a LIST wildcard and ignored by SET; no queries = all (LIST) or none (SET)', () => {
  assert.deepEqual(matchMetaContexts([], true), ['base:allocation']);
  assert.deepEqual(matchMetaContexts([], false), []);
  assert.deepEqual(matchMetaContexts(['base:'], true), ['base:allocation']);
  assert.deepEqual(matchMetaContexts(['base:'], false), []);
  assert.deepEqual(matchMetaContexts(['base:allocation', 'base:allocation'], false), ['base:allocation']);
  assert.deepEqual(matchMetaContexts(['qemu:dirty-bitmap:x', 'base:nosuch'], true), []);
});
