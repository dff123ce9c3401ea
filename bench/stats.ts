// Small statistics and table helpers for the benchmarks (unit-tested).

export function median(xs: number[]): number {
  return percentile(xs, 0.5);
}

export function percentile(xs: number[], q: number): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

export interface Row {
  name: string;
  unit: string;
  blockscope: number;
  nbdkit: number | null;
  /** "higher" or "lower" is better; the ratio is always blockscope / nbdkit. */
  better: 'higher' | 'lower';
  target: string;
  met: boolean | null;
}

const fmt = (n: number | null) =>
  n === null || !Number.isFinite(n) ? '–' : n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(n >= 10 ? 1 : 2);

export function ratio(r: Row): number | null {
  return r.nbdkit ? r.blockscope / r.nbdkit : null;
}

export function markdownTable(rows: Row[]): string {
  const head =
    '| measurement | Blockscope | nbdkit | ratio | target | met |\n| --- | ---: | ---: | ---: | --- | :---: |';
  const body = rows.map((r) => {
    const q = ratio(r);
    return `| ${r.name} (${r.unit}) | ${fmt(r.blockscope)} | ${fmt(r.nbdkit)} | ${q === null ? '–' : `${q.toFixed(2)}×`} | ${r.target} | ${r.met === null ? '–' : r.met ? 'yes' : 'no'} |`;
  });
  return [head, ...body].join('\n');
}

/** fio prints "fio: connected to NBD server" before its JSON: take the JSON object. */
export function parseFioJson(text: string): {
  iops: number;
  bwBytes: number;
  clatP50Us: number;
  clatP99Us: number;
  ios: number;
} {
  const start = text.indexOf('{');
  if (start < 0) throw new Error(`no JSON in fio output: ${text.slice(0, 200)}`);
  const j = JSON.parse(text.slice(start));
  const job = j.jobs[0];
  const side = job.write.io_bytes > job.read.io_bytes ? job.write : job.read;
  const pct = side.clat_ns?.percentile ?? {};
  return {
    iops: side.iops,
    bwBytes: side.bw_bytes,
    clatP50Us: (pct['50.000000'] ?? NaN) / 1000,
    clatP99Us: (pct['99.000000'] ?? NaN) / 1000,
    ios: side.total_ios,
  };
}
