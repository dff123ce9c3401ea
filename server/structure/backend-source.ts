// Decoders read a served disk's bytes straight from its backend: below the filter stack, so
// decoding makes no grid events, no log lines, no injected errors and no delays.

import type { Backend, RequestContext } from '../backends/backend.ts';
import { DecodeError } from './model.ts';
import type { ByteSource } from './source.ts';

const CONTEXT: RequestContext = {
  connection: { id: 0, exportName: '', readonly: true, tls: false },
  signal: new AbortController().signal,
};

export class BackendSource implements ByteSource {
  constructor(private readonly backend: Backend) {}

  get size(): bigint {
    return this.backend.getSize();
  }

  async read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.size)
      throw new DecodeError(`read of ${length} bytes at ${offset} is outside the disk`);
    const buf = Buffer.alloc(length);
    await this.backend.pread(buf, offset, 0, CONTEXT);
    return buf;
  }
}
