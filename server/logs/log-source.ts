// A finished log to read from the start (replay, import): a regular file, which can be read as
// often as wanted, or a pipe (`<(zcat log.gz)`, a FIFO, stdin), which can be read only once.
// The disk's size comes from the first Connect line, before the log's requests are replayed:
// from a pipe, the lines up to it are kept and read again from memory, up to LOOKAHEAD_BYTES
// (nbdkit writes the Connect line first), so a log of many GB streams through in bounded memory.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { FILE_MAGIC } from '../record/format.ts';
import { MAX_LINE, readLogLines } from './lines.ts';
import { sizeFinding, type SizeFinding } from './parser.ts';

/** How much of a pipe is kept while looking for its Connect line. */
export const LOOKAHEAD_BYTES = 16 << 20;

export interface LogSource {
  /** The path as given (`-` for stdin): what messages name. */
  readonly name: string;
  /** Bytes to read when known (a regular file), else null: progress then counts without a total. */
  readonly size: number | null;
  /** Read once from a pipe (there is no file to name later: the recording names it as given). */
  readonly piped: boolean;
  /** The first Connect line's size (or why it is unusable); null when there is none. */
  firstSize(): Promise<SizeFinding | null>;
  /** Every line from the start (null: one longer than MAX_LINE). A pipe's: once only. */
  lines(): AsyncIterable<string | null>;
}

/** A regular file: each read opens it again. */
export function fileSource(path: string, size: number | null = null): LogSource {
  return {
    name: path,
    size,
    piped: false,
    async firstSize() {
      let lineNo = 0;
      for await (const text of readLogLines(path)) {
        const found = text === null ? null : sizeFinding(text, ++lineNo);
        if (found) return found;
      }
      return null;
    },
    lines: () => readLogLines(path),
  };
}

/** A recording arrived through a pipe: replay seeks in a recording, a pipe cannot seek. */
export class PipedRecordingError extends Error {
  constructor(name: string) {
    super(`${name}: a recording (.bsrec) cannot be replayed from a pipe (replay seeks in it); give the file itself`);
  }
}

/** A pipe, FIFO or stdin (`stream`): read once, start kept in memory until the Connect line. */
export function streamSource(name: string, stream: () => Readable): LogSource {
  let it: AsyncIterator<string | null> | null = null;
  const kept: Array<string | null> = [];
  let keptBytes = 0;
  let ended = false;
  let consumed = false;
  let lineNo = 0;
  const pull = async (): Promise<IteratorResult<string | null>> => {
    it ??= readLogLines(stream())[Symbol.asyncIterator]();
    const r = await it.next();
    // The magic is a line of its own ("BSREC01\n"): a recording is known from its first line.
    if (!r.done && ++lineNo === 1 && r.value === FILE_MAGIC.trimEnd()) throw new PipedRecordingError(name);
    return r;
  };
  return {
    name,
    size: null,
    piped: true,
    async firstSize() {
      for (let i = 0; i < kept.length; i++) {
        const text = kept[i];
        const found = text === null ? null : sizeFinding(text, i + 1);
        if (found) return found;
      }
      while (!ended && keptBytes < LOOKAHEAD_BYTES) {
        const r = await pull();
        if (r.done) {
          ended = true;
          break;
        }
        kept.push(r.value);
        keptBytes += r.value === null ? MAX_LINE : r.value.length + 1;
        const found = r.value === null ? null : sizeFinding(r.value, kept.length);
        if (found) return found;
      }
      return null;
    },
    async *lines() {
      if (consumed) throw new Error(`${name}: a pipe can be read only once`);
      consumed = true;
      yield* kept.splice(0);
      if (ended) return;
      for (let r = await pull(); !r.done; r = await pull()) yield r.value;
    },
  };
}

/** How long opening a FIFO may wait for its writer before `onWaiting` says so. */
export const FIFO_WAIT_NOTICE_MS = 1000;

/**
 * A FIFO or pipe at `path` (`/dev/fd/63` from `<(…)`); opened when first read, never blocking the
 * event loop. Opening a FIFO waits until something opens it for writing: if that takes longer
 * than FIFO_WAIT_NOTICE_MS, `onWaiting` is called once (a silent wait looks like a hang).
 */
export function pipeSource(path: string, onWaiting?: () => void): LogSource {
  return streamSource(path, () => {
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    if (onWaiting) {
      const notice = setTimeout(onWaiting, FIFO_WAIT_NOTICE_MS);
      // Unref'd: a wait that ends in Ctrl-C or an error must not be kept alive by the notice.
      notice.unref();
      const clear = () => clearTimeout(notice);
      stream.once('open', clear).once('error', clear).once('close', clear);
    }
    return stream;
  });
}
