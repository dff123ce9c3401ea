// The memory backend: a sparse RAM disk, like nbdkit's memory plugin. Thin on purpose: the data
// structure lives in sparse-array.ts.

import { Cap, DeclaredCapabilities, type Backend, type Capabilities, type Extent, type LentData } from './backend.ts';
import { SparseArray } from './sparse-array.ts';

export class SparseMemoryBackend extends DeclaredCapabilities implements Backend {
  readonly name = 'memory';
  private readonly data = new SparseArray();
  protected readonly caps: Capabilities = {
    write: true,
    flush: true,
    rotational: false,
    trim: true,
    zero: Cap.NATIVE,
    // Zeroing frees pages: always at least as fast as writing zeroes.
    fastZero: true,
    // Flush is a no-op for RAM, so FUA is trivially native.
    fua: Cap.NATIVE,
    // Every connection sees the one array.
    multiConn: true,
    extents: true,
    // Everything is already in memory.
    cache: Cap.NATIVE,
    blockSize: null,
  };

  constructor(private readonly size: bigint) {
    super();
  }

  describe() {
    return { size: this.size.toString(), allocated: this.data.allocatedBytes };
  }

  getSize(): bigint {
    return this.size;
  }

  async pread(buf: Buffer, offset: bigint): Promise<void> {
    this.data.read(buf, offset);
  }
  /** Reads send the pages themselves (copy on write keeps them as read: sparse-array.ts). */
  async lend(count: number, offset: bigint): Promise<LentData> {
    return this.data.lend(count, offset);
  }
  /** Pages lent to replies not yet sent (tests). */
  get lentPages(): number {
    return this.data.lentPages;
  }
  async pwrite(buf: Buffer, offset: bigint): Promise<void> {
    this.data.write(buf, offset);
  }
  async flush(): Promise<void> {}
  async trim(count: number, offset: bigint): Promise<void> {
    this.data.zero(count, offset);
  }
  async zero(count: number, offset: bigint): Promise<void> {
    this.data.zero(count, offset);
  }
  async extents(count: number, offset: bigint): Promise<Extent[]> {
    return this.data.extents(count, offset);
  }
  async cache(): Promise<void> {}

  async reset(): Promise<void> {
    this.data.clear();
  }
  async close(): Promise<void> {
    this.data.clear();
  }
}
