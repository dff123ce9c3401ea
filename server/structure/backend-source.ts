// Decoders read a served disk's bytes straight from its backend: below the filter stack, so
// decoding makes no grid events, no log lines, no injected errors and no delays.

import type { Backend, RequestContext } from '../backends/backend.ts';
import type { DataPath } from '../data-path/data-path.ts';
import { DecodeError } from './model.ts';
import type { ByteSource } from './source.ts';

const CONTEXT: RequestContext = {
  connection: { id: 0, exportName: '', readonly: true, tls: false },
  signal: new AbortController().signal,
};

/** Reads below the filters: a backend opened here (`blockscope map`), or a disk's data path. */
export class BackendSource implements ByteSource {
  private readonly readBelowFilters: (offset: bigint, length: number) => Promise<Buffer>;
  readonly size: bigint;

  constructor(from: Backend | DataPath) {
    if ('getSize' in from) {
      this.size = from.getSize();
      this.readBelowFilters = async (offset, length) => {
        const buf = Buffer.alloc(length);
        await from.pread(buf, offset, 0, CONTEXT);
        return buf;
      };
    } else {
      // A served disk's path: on its worker thread, the read is a message there and back.
      this.size = from.size;
      this.readBelowFilters = (offset, length) => from.read(offset, length);
    }
  }

  async read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.size)
      throw new DecodeError(`read of ${length} bytes at ${offset} is outside the disk`);
    return this.readBelowFilters(offset, length);
  }
}
