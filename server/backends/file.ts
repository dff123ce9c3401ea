// The file backend: a raw disk image on the host, like nbdkit's file plugin. FLUSH and FUA map
// to fsync. Node has no fallocate(PUNCH_HOLE), so trim and zero write zeroes (in bounded
// chunks): correct, not sparse. Extents are not offered (every byte reads as data).

import { open, stat, type FileHandle } from 'node:fs/promises';
import { Cap, DeclaredCapabilities, NbdError, type Backend, type Capabilities, type Extent } from './backend.ts';
import { CMD_FLAG } from '../shared/types.ts';

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

export class FileBackend extends DeclaredCapabilities implements Backend {
  readonly name = 'file';
  protected readonly caps: Capabilities;

  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly size: bigint,
    readonly: boolean,
  ) {
    super();
    this.caps = {
      write: !readonly,
      // FLUSH and FUA are fsync.
      flush: true,
      rotational: false,
      // Trim and zero write zeroes (no hole punching from Node): emulated, never fast.
      trim: true,
      zero: Cap.EMULATE,
      fastZero: false,
      fua: Cap.NATIVE,
      multiConn: true,
      // Every byte reads as data: no extents to offer.
      extents: false,
      cache: Cap.EMULATE,
      blockSize: null,
    };
  }

  /** Open (creating it if missing) a raw image; `size` grows or sets the file length when given. */
  static async open(path: string, size: bigint | null, readonly = false): Promise<FileBackend> {
    let existing: bigint | null;
    try {
      existing = (await stat(path, { bigint: true })).size;
    } catch {
      existing = null;
    }
    if (existing === null && size === null)
      throw new Error(`file backend: ${path} does not exist and no size was given`);
    const fh = await open(path, readonly ? 'r' : existing === null ? 'w+' : 'r+');
    const finalSize = size ?? existing!;
    if (!readonly && (existing === null || existing !== finalSize)) {
      if (finalSize > BigInt(Number.MAX_SAFE_INTEGER))
        throw new Error(`file backend: size ${finalSize} too large for a file`);
      await fh.truncate(Number(finalSize));
    }
    return new FileBackend(path, fh, finalSize, readonly);
  }

  describe() {
    return { file: this.path, size: this.size.toString() };
  }

  getSize(): bigint {
    return this.size;
  }
  async pread(buf: Buffer, offset: bigint): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, Number(offset) + done);
      if (bytesRead === 0) throw new NbdError('EIO', 'unexpected end of file');
      done += bytesRead;
    }
  }

  async pwrite(buf: Buffer, offset: bigint, flags: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, Number(offset) + done);
      done += bytesWritten;
    }
    if (flags & CMD_FLAG.FUA) await this.fh.sync();
  }

  async flush(): Promise<void> {
    await this.fh.sync();
  }

  private async writeZeroes(count: number, offset: bigint, flags: number): Promise<void> {
    let done = 0;
    while (done < count) {
      const n = Math.min(ZERO_CHUNK.length, count - done);
      await this.pwrite(ZERO_CHUNK.subarray(0, n), offset + BigInt(done), 0);
      done += n;
    }
    if (flags & CMD_FLAG.FUA) await this.fh.sync();
  }

  async trim(count: number, offset: bigint, flags: number): Promise<void> {
    await this.writeZeroes(count, offset, flags);
  }
  async zero(count: number, offset: bigint, flags: number): Promise<void> {
    if (flags & CMD_FLAG.FAST_ZERO) throw new NbdError('ENOTSUP', 'zeroing a file is not faster than writing');
    await this.writeZeroes(count, offset, flags);
  }
  async extents(count: number): Promise<Extent[]> {
    return [{ length: BigInt(count), type: 0 }];
  }
  async cache(): Promise<void> {}

  async reset(): Promise<void> {
    await this.fh.truncate(0);
    await this.fh.truncate(Number(this.size));
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}
