import { BlockState, type DiskInfo } from '../../server/shared/types.ts';
import { PALETTES } from '../grid/palette.ts';
import { RATE_WINDOW_MS, useUi, type DiskStatsView } from '../store/store.ts';
import { count, human, latencyMs } from './format.ts';

const TABLE_OPS = ['read', 'write', 'trim', 'zero'] as const;

function useStats(n: number): DiskStatsView | undefined {
  return useUi((s) => s.stats[n]);
}

/** Blocks in each state, with the legend's colours: what the picture adds up to. */
export function StateTotals({ disk }: { disk: DiskInfo }) {
  const st = useStats(disk.number);
  const p = PALETTES[useUi((s) => s.settings.palette)];
  const b = st?.blocks ?? disk.blocks;
  const items: Array<[string, number, string]> = [
    ['written', b.written, p.states[BlockState.WRITTEN]],
    ['trimmed', b.trimmed, p.states[BlockState.TRIMMED]],
    ['zeroed', b.zeroed, p.states[BlockState.ZEROED]],
    ['failed', st?.errorBlocks ?? disk.errorBlocks, p.error],
  ];
  return (
    <div className="totals" aria-label={`Disk ${disk.number} blocks by state`} role="group">
      <span className="muted">blocks</span>
      {items.map(([label, n, color]) => (
        <span
          key={label}
          className="total"
          title={`${n.toLocaleString('en')} blocks (4 KiB) ${label}`}
          aria-label={`${n.toLocaleString('en')} ${label}`}
        >
          <span className="swatch" style={{ background: color }} />
          {count(n)}
          <span className="total-label"> {label}</span>
        </span>
      ))}
    </div>
  );
}

/** Per-operation totals since start (or Clear), rates over the last few seconds, failures. */
export function CounterTable({ disk }: { disk: DiskInfo }) {
  const st = useStats(disk.number);
  const t = st?.totals ?? disk.counters;
  return (
    <table className="counters" aria-label={`Disk ${disk.number} counters`}>
      <thead>
        <tr>
          <th scope="col" />
          <th scope="col" title="requests since start or Clear">
            requests
          </th>
          <th scope="col" title="bytes moved by successful requests">
            data
          </th>
          <th scope="col" title={`average over the last ${RATE_WINDOW_MS / 1000} s`}>
            rate {RATE_WINDOW_MS / 1000} s
          </th>
          <th scope="col" title="requests that failed (not counted in data)">
            failed
          </th>
        </tr>
      </thead>
      <tbody>
        {TABLE_OPS.map((op) => (
          <tr key={op}>
            <th scope="row">{op}</th>
            <td>{count(t[op].count)}</td>
            <td>{human(t[op].bytes)}</td>
            <td>{human(st?.bytesPerSec[op] ?? 0)}/s</td>
            <td className={t[op].errors ? 'bad' : ''}>
              {count(t[op].errors)}
              {t[op].cancelled ? (
                <span className="muted" title="cancelled: the client went away before the answer (not failures)">
                  {' '}
                  +{count(t[op].cancelled)} cancelled
                </span>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LatencyLine({ disk }: { disk: DiskInfo }) {
  const st = useStats(disk.number);
  const l = st?.latencyUs ?? disk.latencyUs;
  return (
    <div className="latency" title="request latency over the last 1024 requests (delays included)">
      latency p50 {latencyMs(l.p50)} · p99 {latencyMs(l.p99)} · in flight {st?.inFlight ?? disk.inFlight}
    </div>
  );
}

/** One line for compact chrome: what was written and moved, and failures. */
export function CompactCounters({ disk }: { disk: DiskInfo }) {
  const st = useStats(disk.number);
  const t = st?.totals ?? disk.counters;
  const rate = (st?.bytesPerSec.read ?? 0) + (st?.bytesPerSec.write ?? 0);
  const failed = Object.values(t).reduce((n, c) => n + c.errors, 0);
  const cancelled = Object.values(t).reduce((n, c) => n + c.cancelled, 0);
  // Two groups: one line in a wide panel, a line each in a narrow one (styles.css, `.narrow`).
  return (
    <div className="compact-counters" aria-label={`Disk ${disk.number} summary`}>
      <span className="counts">
        <span title="write requests">W {count(t.write.count)}</span>
        <span title="read requests">R {count(t.read.count)}</span>
      </span>
      <span className="counts">
        <span title="read + write over the last 5 s">{human(rate)}/s</span>
        <span className={failed ? 'bad' : ''} title="failed requests">
          {count(failed)} failed
        </span>
        {cancelled > 0 && (
          <span className="cancelled" title="requests whose client went away before the answer">
            {count(cancelled)} cancelled
          </span>
        )}
      </span>
    </div>
  );
}
