// A raw image file as a ByteSource (`blockscope map disk.img`, the tests): read-only, positional
// reads, nothing cached here (TrackedSource caches per decode).

import { open, type FileHandle } from 'node:fs/promises';
import { DecodeError } from './model.ts';
import type { ByteSource } from './source.ts';

export class FileSource implements ByteSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: bigint,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() && !st.isBlockDevice()) {
      await fh.close();
      throw new Error(`${path} is not a file or block device`);
    }
    return new FileSource(fh, st.size);
  }

  async read(offset: bigint, length: number): Promise<Buffer> {
    if (offset < 0n || offset + BigInt(length) > this.size)
      throw new DecodeError(`read of ${length} bytes at ${offset} is outside the ${this.size}-byte image`);
    if (offset + BigInt(length) > BigInt(Number.MAX_SAFE_INTEGER))
      throw new DecodeError(`offset ${offset} is beyond what a file read can address exactly`);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, Number(offset) + done);
      if (bytesRead === 0) break; // the file shrank under us: the rest reads as zeroes
      done += bytesRead;
    }
    return buf;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
