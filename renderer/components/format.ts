// Number formatting for the UI.
/**
 * "512 B", "99.5 KiB", "1.0 MiB": at most three digits, so a column of them keeps its width
 * (1,000–1,023 of a unit, "1007 KiB/s", overflowed the rates' cell at 1280×720).
 */
export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** Decimal string (may exceed 2^53) → human size. */
export function humanBig(decimal: string): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = BigInt(decimal);
  let u = 0;
  while (v >= 1024n && v % 1024n === 0n && u < units.length - 1) {
    v /= 1024n;
    u++;
  }
  if (v < 1024n || u === units.length - 1) return `${v} ${units[u]}`;
  return human(Number(BigInt(decimal)));
}

export const hex = (decimal: string) => `0x${BigInt(decimal).toString(16)}`;

export function rate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(1)}M`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}k`;
  return perSec >= 10 ? String(Math.round(perSec)) : perSec.toFixed(1).replace(/\.0$/, '');
}

/** A count for a small table cell: 999, 1.2k, 12k, 1.2M. */
export function count(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Milliseconds from microseconds, for latency labels. */
export function latencyMs(us: number): string {
  const ms = us / 1000;
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** "4 KiB", "64 KiB", "32 TiB": the bytes one square shows. */
export function squareSize(blocks: number): string {
  return human(blocks * 4096).replace(/\.0 /, ' ');
}

/**
 * What one square of the grid is, honestly: its bytes, how many blocks share it when the disk
 * has more blocks than the screen has pixels for, and how big it is drawn.
 */
export function scaleLabel(
  blocksPerSquare: number,
  pxPerSquare: number,
): { square: string; blocks: string; short: string; long: string } {
  const size = squareSize(blocksPerSquare);
  const px = pxPerSquare >= 10 ? pxPerSquare.toFixed(0) : pxPerSquare.toFixed(1);
  const merged = blocksPerSquare > 1 ? ` (${blocksPerSquare.toLocaleString('en')} blocks merged)` : '';
  // `blocks` may be left out where there is no room: the square's size says it too.
  const square = `■ = ${size}`;
  const blocks = blocksPerSquare > 1 ? ` · ${blocksPerSquare} blocks` : '';
  return { square, blocks, short: square + blocks, long: `1 square = ${size}${merged} · ${px} px` };
}

/** Session seconds as m:ss.s (the time machine's clock). */
export function fmtTime(sec: number): string {
  const m = Math.floor(sec / 60);
  const s = sec - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, '0')}`;
}
