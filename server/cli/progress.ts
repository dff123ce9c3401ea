// "importing LOG: 45 % (112 of 250 MB)" (or "reading …"; from a pipe, whose size is not known,
// "importing /dev/fd/63: 112 MB read") on stderr while logs are read: a big
// log takes seconds, and silence looks like a hang. At most one line a second; what takes less
// prints nothing.

export class ImportProgress {
  private bytes = 0;
  private lines = 0;
  private last = performance.now();

  constructor(
    /** What is being done: `importing /tmp/log`, `reading 2 logs`. */
    private readonly doing: string,
    /** null: not known (a pipe): the lines then say how much was read. */
    private readonly totalBytes: number | null,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly everyMs = 1000,
  ) {}

  /** One more line of `bytes` bytes read (cheap: the clock is looked at every 1024 lines). */
  line(bytes: number): void {
    this.bytes += bytes;
    if ((++this.lines & 1023) !== 0) return;
    const now = performance.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    const mb = (n: number) => (n / 1e6).toFixed(0);
    if (this.totalBytes === null) {
      this.write(`${this.doing}: ${mb(this.bytes)} MB read`);
      return;
    }
    const pct = this.totalBytes > 0 ? Math.min(100, Math.floor((this.bytes * 100) / this.totalBytes)) : 0;
    this.write(`${this.doing}: ${pct} % (${mb(this.bytes)} of ${mb(this.totalBytes)} MB)`);
  }
}
