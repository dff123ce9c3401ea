// Counting the log lines that cannot be read (attach and replay): each one is counted on its disk
// (`unparsedLines`, with the last reason in `lastUnparsed`, both in DiskInfo and the UI) and
// reported on stderr — the first at once, then at most one message every few seconds.

import { MAX_LINE } from './lines.ts';

/** What a disk shows about its unreadable lines (Disk has these fields). */
export interface UnreadableTarget {
  number: number;
  unparsedLines: number | undefined;
  lastUnparsed: string | undefined;
}

const REPORT_EVERY_MS = 5000;

export class UnreadableLines {
  private lastReport = -Infinity;
  private unreported = 0;

  constructor(
    private readonly disk: UnreadableTarget,
    private readonly path: string,
    private readonly quiet = false,
  ) {
    disk.unparsedLines = 0;
    disk.lastUnparsed = undefined;
  }

  note(lineNo: number, why: string): void {
    const d = this.disk;
    d.unparsedLines = (d.unparsedLines ?? 0) + 1;
    d.lastUnparsed = `line ${lineNo}: ${why}`;
    this.unreported++;
    const now = performance.now();
    if (this.quiet || now - this.lastReport < REPORT_EVERY_MS) return;
    const more = this.unreported > 1 ? ` (and ${this.unreported - 1} more since the last message)` : '';
    console.error(
      `blockscope: disk ${d.number}: ${this.path} ${d.lastUnparsed}: skipped${more}; ${d.unparsedLines} so far`,
    );
    this.lastReport = now;
    this.unreported = 0;
  }

  overlong(lineNo: number): void {
    this.note(lineNo, `longer than ${MAX_LINE} bytes`);
  }

  reset(): void {
    this.disk.unparsedLines = 0;
    this.disk.lastUnparsed = undefined;
    this.unreported = 0;
  }
}
