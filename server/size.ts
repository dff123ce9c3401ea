// Sizes written as nbdkit writes them (nbdkit_parse_size): a number with an optional suffix,
// b (bytes), s (512-byte sectors), k/K, m/M, g/G, t/T, p/P, e/E (powers of 1024). Up to 2^63-1.

export const MAX_SIZE = (1n << 63n) - 1n;

const SCALE: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  s: 512n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
  e: 1n << 60n,
};

export function parseSize(text: string): bigint {
  const m = /^\s*(\d+)\s*([bskmgtpe]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`could not parse size '${text}' (examples: 65536, 64M, 1G, 7E)`);
  const value = BigInt(m[1]) * SCALE[m[2].toLowerCase()];
  if (value > MAX_SIZE) throw new Error(`size '${text}' is larger than 2^63-1 bytes`);
  return value;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Human form: 64 MiB, 7 EiB, 1.5 GiB (exact bigint input, rounded display). */
export function formatSize(bytes: bigint): string {
  let unit = 0;
  let whole = bytes;
  while (whole >= 1024n && unit < UNITS.length - 1) {
    whole /= 1024n;
    unit++;
  }
  const exact = whole << BigInt(10 * unit) === bytes;
  if (exact || unit === 0) return `${whole} ${UNITS[unit]}`;
  const value = Number(bytes) / 2 ** (10 * unit);
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}
