// Socket bytes waiting to be parsed. Complete units (option header, option data, request
// header, write payload) are taken off as they become available. Takes are zero-copy views
// when a unit sits in one chunk; a unit that spans chunks is joined into a fresh buffer.

const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /**
   * Take exactly n queued bytes (the caller checked `length >= n`): a view when they sit in one
   * chunk, else joined into `alloc(n)`. n = 0 is legal (a zero-length write has no payload).
   */
  take(n: number, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
    if (n === 0) return EMPTY;
    if (n > this.length) throw new RangeError(`ByteQueue.take(${n}) with only ${this.length} bytes queued`);
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length === n) {
      this.chunks.shift();
      out = first;
    } else if (first.length > n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    } else {
      out = alloc(n);
      let done = 0;
      while (done < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - done);
        c.copy(out, done, 0, k);
        done += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }

  /**
   * Move up to `max` queued bytes into `dst` at `pos` (a write payload filled as it arrives, so
   * its bytes are held once, not queued and then joined). Returns how many were moved.
   */
  takeInto(dst: Buffer, pos: number, max: number): number {
    let moved = 0;
    while (moved < max && this.chunks.length) {
      const c = this.chunks[0];
      const k = Math.min(c.length, max - moved);
      c.copy(dst, pos + moved, 0, k);
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
      moved += k;
    }
    this.length -= moved;
    return moved;
  }

  /** Drop up to n bytes; returns how many were dropped. */
  skip(n: number): number {
    let dropped = 0;
    while (dropped < n && this.chunks.length) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - dropped);
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
      dropped += k;
    }
    this.length -= dropped;
    return dropped;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}
