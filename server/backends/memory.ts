// The memory backend: a sparse RAM disk, like nbdkit's memory plugin. Thin on purpose: the data
// structure lives in sparse-array.ts.

import { Cap, type Backend, type Extent } from './backend.ts';
import { SparseArray } from './sparse-array.ts';

export class SparseMemoryBackend implements Backend {
  readonly name = 'memory';
  private readonly data = new SparseArray();

  constructor(private readonly size: bigint) {}

  describe() {
    return { size: this.size.toString(), allocated: this.data.allocatedBytes };
  }

  getSize(): bigint {
    return this.size;
  }
  canWrite(): boolean {
    return true;
  }
  canFlush(): boolean {
    return true;
  }
  isRotational(): boolean {
    return false;
  }
  canTrim(): boolean {
    return true;
  }
  canZero(): Cap {
    return Cap.NATIVE;
  }
  canFastZero(): boolean {
    // Zeroing frees pages: always at least as fast as writing zeroes.
    return true;
  }
  canFua(): Cap {
    // Flush is a no-op for RAM, so FUA is trivially native.
    return Cap.NATIVE;
  }
  canMultiConn(): boolean {
    // Every connection sees the one array.
    return true;
  }
  canExtents(): boolean {
    return true;
  }
  canCache(): Cap {
    // Everything is already in memory.
    return Cap.NATIVE;
  }
  blockSize() {
    return null;
  }

  async pread(buf: Buffer, offset: bigint): Promise<void> {
    this.data.read(buf, offset);
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
