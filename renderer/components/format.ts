// Number formatting for the UI.
export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
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
