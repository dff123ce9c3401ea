// Reusable request buffers, per connection. Large Buffers (read replies, write payloads that
// span socket chunks) are external memory: allocating one per request made garbage collection
// the biggest cost in the profile. Buffers go back to the pool when their reply has been
// written (or their write has reached the backend). Bounded: at most MAX_POOLED buffers and
// MAX_POOLED_BYTES are kept; beyond that they are left to the GC.
//
// The bytes bound is the transmission loop's own limit on payload bytes held at once
// (MAX_HELD_BYTES), so the pool can take back every buffer of a full pipeline. When a sequential
// read could keep ~250 replies of 256 KiB queued (before the loop's read window), a pool with
// room for only 64 made one read reply in seven a fresh 256 KiB allocation, and the
// external-memory garbage collections it set off were 14 % of the engine thread
// (docs/performance.md, "Reads, the buffer pool and the event-loop figure").

export const MAX_POOLED_BYTES = 64 * 1024 * 1024;
/** Guards the lists of small buffers; large ones meet the bytes bound first. */
const MAX_POOLED = 1024;
/** Below 4 KiB Node's own slab allocator serves allocUnsafe; from 4 KiB on each is a new ArrayBuffer. */
const MIN_POOLED_SIZE = 4 * 1024;

export class BufferPool {
  private free = new Map<number, Buffer[]>();
  private count = 0;
  private bytes = 0;

  get(size: number): Buffer {
    if (size >= MIN_POOLED_SIZE) {
      const list = this.free.get(size);
      const b = list?.pop();
      if (b) {
        this.count--;
        this.bytes -= size;
        return b;
      }
    }
    return Buffer.allocUnsafe(size);
  }

  put(b: Buffer): void {
    const size = b.length;
    // Only whole buffers we own: a view into someone else's memory must not be reused.
    if (size < MIN_POOLED_SIZE || b.byteOffset !== 0 || b.buffer.byteLength !== size) return;
    if (this.count >= MAX_POOLED || this.bytes + size > MAX_POOLED_BYTES) return;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(b);
    this.count++;
    this.bytes += size;
  }
}
