// Socket bytes waiting to be parsed. Complete units (option header, option data, request
// header, write payload) are taken off as they become available. Takes are zero-copy views
// when a unit sits in one chunk; a unit that spans chunks is joined into a fresh buffer.
//
// A chunk may be *borrowed*: a view of the socket's reusable read buffer (socket-reader.ts),
// valid only until the read callback returns. Takes from it are always copies, and retain()
// copies what is left of it before the callback returns. Only the last chunk pushed can be
// borrowed (the caller retains before the next push).

const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** The last chunk is a view of memory we do not own. */
  private lastBorrowed = false;
  length = 0;

  push(b: Buffer, borrowed = false): void {
    if (b.length === 0) return;
    if (this.lastBorrowed) throw new Error('ByteQueue.push after a borrowed chunk that was not retained');
    this.chunks.push(b);
    this.length += b.length;
    this.lastBorrowed = borrowed;
  }

  /** Copy the rest of a borrowed chunk into memory of our own (call before its read callback returns). */
  retain(): void {
    if (!this.lastBorrowed) return;
    this.lastBorrowed = false;
    const last = this.chunks.length - 1;
    if (last >= 0) this.chunks[last] = Buffer.from(this.chunks[last]);
  }

  /**
   * Take exactly n queued bytes (the caller checked `length >= n`): a view when they sit in one
   * chunk, else joined into `alloc(n)`. n = 0 is legal (a zero-length write has no payload).
   */
  take(n: number, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
    if (n === 0) return EMPTY;
    if (n > this.length) throw new RangeError(`ByteQueue.take(${n}) with only ${this.length} bytes queued`);
    const first = this.chunks[0];
    const borrowed = this.lastBorrowed && this.chunks.length === 1;
    let out: Buffer;
    if (first.length >= n && borrowed) {
      out = alloc(n);
      first.copy(out, 0, 0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else if (first.length === n) {
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
    if (this.chunks.length === 0) this.lastBorrowed = false;
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
    if (this.chunks.length === 0) this.lastBorrowed = false;
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
    if (this.chunks.length === 0) this.lastBorrowed = false;
    return dropped;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
    this.lastBorrowed = false;
  }
}
