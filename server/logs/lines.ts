// Splits log bytes into lines in linear time and bounded memory, whatever the file holds: a
// line longer than MAX_LINE is dropped as it streams past (reported once as over-long), never
// accumulated — a 200 MB log without a newline costs one chunk of memory, not 200 MB (and never
// hits V8's string length limit). Lines are decoded only once complete, so a UTF-8 character
// split across two reads stays whole. Used by the tailer (attach) and by replay.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** nbdkit's longest lines (Extents lists) are far below this. */
export const MAX_LINE = 1 << 20;

export interface SplitResult {
  lines: string[];
  /** Lines dropped for being longer than MAX_LINE. */
  overlong: number;
}

export class LineSplitter {
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Inside an over-long line: drop bytes until its newline. */
  private discarding = false;

  constructor(private readonly maxLine = MAX_LINE) {}

  /** Feed bytes (the buffer may be reused by the caller afterwards). */
  push(chunk: Buffer): SplitResult {
    const out: SplitResult = { lines: [], overlong: 0 };
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      this.keep(chunk, start, end);
      if (nl < 0) break;
      this.endLine(out);
      start = nl + 1;
    }
    return out;
  }

  /** End of input: the last line, even without its newline (a finished file). */
  finish(): SplitResult {
    const out: SplitResult = { lines: [], overlong: 0 };
    if (this.partialLength > 0 || this.discarding) this.endLine(out);
    return out;
  }

  /** Forget a partial line (the file was truncated or re-created). */
  reset(): void {
    this.partial = [];
    this.partialLength = 0;
    this.discarding = false;
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    if (this.discarding || end === start) return;
    if (this.partialLength + (end - start) > this.maxLine) {
      this.partial = [];
      this.partialLength = 0;
      this.discarding = true;
      return;
    }
    this.partial.push(Buffer.from(chunk.subarray(start, end)));
    this.partialLength += end - start;
  }

  private endLine(out: SplitResult): void {
    if (this.discarding) out.overlong++;
    else {
      const bytes = this.partial.length === 1 ? this.partial[0] : Buffer.concat(this.partial, this.partialLength);
      let text = bytes.toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      out.lines.push(text);
    }
    this.reset();
  }
}

/** A finished log (a file, or a stream such as a pipe): each line's text, or null for a line dropped as over-long. */
export async function* readLogLines(from: string | Readable): AsyncGenerator<string | null> {
  const splitter = new LineSplitter();
  const emit = function* (r: SplitResult) {
    for (let i = 0; i < r.overlong; i++) yield null;
    yield* r.lines;
  };
  for await (const chunk of typeof from === 'string' ? createReadStream(from, { highWaterMark: 1 << 20 }) : from)
    yield* emit(splitter.push(chunk as Buffer));
  yield* emit(splitter.finish());
}
