// Growable byte writer and a bounds-checked reader with LEB128 varints, the two primitives of
// the recording format. Numbers up to 2^53 take the fast Number path; 64-bit offsets past
// that go through bigint, so no offset ever loses precision.

const TWO32 = 2 ** 32;

export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint of a safe integer (0 ≤ v < 2^53). */
  uv(v: number): void {
    this.ensure(8);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = v >= TWO32 ? Math.floor(v / 128) : v >>> 7;
    }
    b[this.pos++] = v;
  }

  /** Signed varint (zigzag) of an integer with |v| < 2^52. */
  sv(v: number): void {
    this.uv(v < 0 ? -2 * v - 1 : 2 * v);
  }

  /** Unsigned varint of a bigint (0 ≤ v < 2^64). */
  uvBig(v: bigint): void {
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Signed varint (zigzag) of a bigint within ±2^63. */
  svBig(v: bigint): void {
    this.uvBig(v < 0n ? -2n * v - 1n : 2n * v);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * Make room for `n` more bytes at once: one allocation, and the bytes so far copied once, where
   * writing them piece by piece could grow the buffer several times (each a copy into fresh memory).
   */
  room(n: number): void {
    this.ensure(n);
  }

  /** Room for `n` bytes filled in later (at buf[offset…], buf may move meanwhile); returns the offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  f64(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.uv(b.length);
    this.bytes(b);
  }

  /** The bytes written so far (a view: copy it before reset()). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}

export class FormatError extends Error {}

export class ByteReader {
  pos = 0;
  private readonly dv: DataView;

  constructor(
    readonly buf: Uint8Array,
    private readonly what = 'block',
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private fail(): never {
    throw new FormatError(`${this.what} is truncated or corrupt (at byte ${this.pos})`);
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.fail();
    return this.buf[this.pos++];
  }

  /** Unsigned varint; values past 2^53 are an error here (use uvBig). */
  uv(): number {
    const b = this.buf;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= b.length) this.fail();
      const x = b[this.pos++];
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
    this.fail();
  }

  sv(): number {
    const z = this.uv();
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }

  uvBig(): bigint {
    const b = this.buf;
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= b.length) this.fail();
      const x = b[this.pos++];
      v |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return v;
      shift += 7n;
    }
    this.fail();
  }

  svBig(): bigint {
    const z = this.uvBig();
    return z & 1n ? -(z + 1n) / 2n : z / 2n;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) this.fail();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  f64(): number {
    if (this.pos + 8 > this.buf.length) this.fail();
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  str(): string {
    return new TextDecoder().decode(this.bytes(this.uv()));
  }
}
