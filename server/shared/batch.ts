// The binary frame format from the engine to the UI: one ArrayBuffer per frame, all changed
// disks in it. Typed arrays sit at 8-byte-aligned offsets so the decoder takes zero-copy views.
//
//   header (24 B): u32 magic 'BSB1' · u16 version · u16 disk count · u32 seq · u32 0 · f64 timeUs
//   per disk (272 B + arrays, padded to 8):
//     u32 disk · u32 flags (1 = full snapshot) · u32 fullLength · u32 changed · u32 reads ·
//     u32 pendingPairs · u32 inFlight · u32 writes · f64 p50Us · f64 p99Us ·
//     7 ops (read write trim zero flush extents cache) × (f64 count, f64 bytes, f64 errors, f64 cancelled)
//     u32 cellIdx[changed] · u32 reads[reads] · u32 writes[writes] · u32 pending[2 × pendingPairs] ·
//     u8 cellVal[changed] · u8 full[fullLength]
// Version 2 added `writes` (version 1 had 0 in its place); version 3 the per-op `cancelled` counter.
// Little-endian (every platform Blockscope runs on; typed-array views use native order).

import { OPS, type DecodedBatch, type DiskFrame, type Op, type OpCounter } from './types.ts';

export const BATCH_MAGIC = 0x31425342; // 'BSB1' little-endian
export const BATCH_VERSION = 3;
const HEADER = 24;
const COUNTER_BYTES = 32;
const DISK_HEADER = 32 + 16 + OPS.length * COUNTER_BYTES;
const pad8 = (n: number) => (n + 7) & ~7;

function diskSize(f: DiskFrame): number {
  const full = f.full?.length ?? 0;
  return pad8(
    DISK_HEADER +
      4 * (f.cellIdx.length + f.reads.length + f.writes.length + f.pending.length) +
      f.cellVal.length +
      full,
  );
}

export function encodeBatch(batch: DecodedBatch): ArrayBuffer {
  const total = HEADER + batch.disks.reduce((n, f) => n + diskSize(f), 0);
  const buf = new ArrayBuffer(total);
  const dv = new DataView(buf);
  dv.setUint32(0, BATCH_MAGIC, true);
  dv.setUint16(4, BATCH_VERSION, true);
  dv.setUint16(6, batch.disks.length, true);
  dv.setUint32(8, batch.seq >>> 0, true);
  dv.setFloat64(16, batch.timeUs, true);
  let pos = HEADER;
  for (const f of batch.disks) {
    const full = f.full?.length ?? 0;
    dv.setUint32(pos, f.disk, true);
    dv.setUint32(pos + 4, f.full ? 1 : 0, true);
    dv.setUint32(pos + 8, full, true);
    dv.setUint32(pos + 12, f.cellIdx.length, true);
    dv.setUint32(pos + 16, f.reads.length, true);
    dv.setUint32(pos + 20, f.pending.length / 2, true);
    dv.setUint32(pos + 24, f.inFlight, true);
    dv.setUint32(pos + 28, f.writes.length, true);
    dv.setFloat64(pos + 32, f.latencyUs.p50, true);
    dv.setFloat64(pos + 40, f.latencyUs.p99, true);
    let c = pos + 48;
    for (const op of OPS) {
      const k = f.counters[op];
      dv.setFloat64(c, k.count, true);
      dv.setFloat64(c + 8, k.bytes, true);
      dv.setFloat64(c + 16, k.errors, true);
      dv.setFloat64(c + 24, k.cancelled, true);
      c += COUNTER_BYTES;
    }
    let a = pos + DISK_HEADER;
    new Uint32Array(buf, a, f.cellIdx.length).set(f.cellIdx);
    a += 4 * f.cellIdx.length;
    new Uint32Array(buf, a, f.reads.length).set(f.reads);
    a += 4 * f.reads.length;
    new Uint32Array(buf, a, f.writes.length).set(f.writes);
    a += 4 * f.writes.length;
    new Uint32Array(buf, a, f.pending.length).set(f.pending);
    a += 4 * f.pending.length;
    new Uint8Array(buf, a, f.cellVal.length).set(f.cellVal);
    a += f.cellVal.length;
    if (f.full) new Uint8Array(buf, a, full).set(f.full);
    pos += diskSize(f);
  }
  return buf;
}

export class BatchDecodeError extends Error {}

export function decodeBatch(buf: ArrayBuffer): DecodedBatch {
  if (buf.byteLength < HEADER) throw new BatchDecodeError(`batch too short (${buf.byteLength} bytes)`);
  const dv = new DataView(buf);
  if (dv.getUint32(0, true) !== BATCH_MAGIC) throw new BatchDecodeError('not a Blockscope batch (bad magic)');
  const version = dv.getUint16(4, true);
  if (version !== BATCH_VERSION) throw new BatchDecodeError(`unsupported batch version ${version}`);
  const n = dv.getUint16(6, true);
  const out: DecodedBatch = { seq: dv.getUint32(8, true), timeUs: dv.getFloat64(16, true), disks: [] };
  let pos = HEADER;
  for (let i = 0; i < n; i++) {
    if (pos + DISK_HEADER > buf.byteLength) throw new BatchDecodeError('batch truncated in a disk header');
    const isFull = dv.getUint32(pos + 4, true) === 1;
    const fullLen = dv.getUint32(pos + 8, true);
    const changed = dv.getUint32(pos + 12, true);
    const reads = dv.getUint32(pos + 16, true);
    const pairs = dv.getUint32(pos + 20, true);
    const writes = dv.getUint32(pos + 28, true);
    const size = pad8(DISK_HEADER + 4 * (changed + reads + writes + 2 * pairs) + changed + fullLen);
    if (pos + size > buf.byteLength) throw new BatchDecodeError('batch truncated in a disk body');
    const counters = {} as Record<Op, OpCounter>;
    let c = pos + 48;
    for (const op of OPS) {
      counters[op] = {
        count: dv.getFloat64(c, true),
        bytes: dv.getFloat64(c + 8, true),
        errors: dv.getFloat64(c + 16, true),
        cancelled: dv.getFloat64(c + 24, true),
      };
      c += COUNTER_BYTES;
    }
    let a = pos + DISK_HEADER;
    const cellIdx = new Uint32Array(buf, a, changed);
    a += 4 * changed;
    const readCells = new Uint32Array(buf, a, reads);
    a += 4 * reads;
    const writeCells = new Uint32Array(buf, a, writes);
    a += 4 * writes;
    const pending = new Uint32Array(buf, a, 2 * pairs);
    a += 8 * pairs;
    const cellVal = new Uint8Array(buf, a, changed);
    a += changed;
    out.disks.push({
      disk: dv.getUint32(pos, true),
      full: isFull ? new Uint8Array(buf, a, fullLen) : null,
      cellIdx,
      cellVal,
      reads: readCells,
      writes: writeCells,
      pending,
      counters,
      inFlight: dv.getUint32(pos + 24, true),
      latencyUs: { p50: dv.getFloat64(pos + 32, true), p99: dv.getFloat64(pos + 40, true) },
    });
    pos += size;
  }
  return out;
}
