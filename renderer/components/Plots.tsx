// Plots beside the grids (toggle: the timeline's Plots button, key G): for one disk over the
// session, throughput and IOPS per operation, latency p50/p99, requests in flight, and a
// seekwatcher-style offset-vs-time scatter. Drawn with uPlot; a vertical line follows the
// timeline cursor.

import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ACTIVITY_OPS, OPS, type TimelineSeries } from '../../server/shared/types.ts';
import { getUi, useUi } from '../store/store.ts';
import { useController } from './context.ts';
import { axisSize, axisValue, BYTE_INCRS, peakOf, peakTicks, type PlotUnit } from './plot-axes.ts';
import { opColors } from './Timeline.tsx';

type Build = (s: TimelineSeries) => {
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  /** The value axis' title, where the chart's title and the tick units do not say it already. */
  yLabel?: string;
  unit: PlotUnit;
  /** Mark the largest value with a tick of its own (not for offsets: a position, not an amount). */
  peak: boolean;
};

/** The axes' font, set here so that the page can measure their labels (plot-axes.ts). */
const AXIS_FONT = '11px system-ui, sans-serif';
let measurer: CanvasRenderingContext2D | null = null;
function textWidth(text: string): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text.length * 7;
  measurer.font = AXIS_FONT;
  return measurer.measureText(text).width;
}

/** The value axis: labels in the unit, a tick at the peak, as wide as its longest label. */
function valueAxis(b: ReturnType<Build>, host: HTMLElement): uPlot.Axis {
  const peak = b.peak ? peakOf(b.data.slice(1) as Array<Array<number | null>>) : 0;
  return {
    stroke: '#aaa',
    font: AXIS_FONT,
    ...(b.yLabel ? { label: b.yLabel } : {}),
    ...(b.unit === 'bytes' || b.unit === 'bytes/s' ? { incrs: BYTE_INCRS } : {}),
    splits: (u, _axis, min, max, incr) => {
      const round: number[] = [];
      if (incr > 0) for (let k = Math.ceil(min / incr); k * incr <= max + incr * 1e-9; k++) round.push(k * incr);
      const cssHeight = u.bbox.height / (window.devicePixelRatio || 1) || u.height / 2;
      return peakTicks(round, peak, cssHeight / Math.max(1e-9, max - min), 14);
    },
    values: (_u, splits) => {
      const labels = splits.map((v) => axisValue(v, b.unit));
      // What the axis shows, for the e2e checks (the canvas has no text to read).
      host.dataset.yTicks = labels.join('|');
      return labels;
    },
    size: (_u, values) => {
      const size = axisSize(values ?? [], textWidth);
      host.dataset.ySize = String(size);
      return size;
    },
  };
}

/** A plugin drawing the timeline cursor as a vertical line. */
function cursorLine(at: () => number | null): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const t = at();
        if (t === null) return;
        const x = u.valToPos(t, 'x', true);
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#33b5e5';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
      },
    },
  };
}

function Chart({
  title,
  series,
  build,
  testId,
}: {
  title: string;
  series: TimelineSeries;
  build: Build;
  testId: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const position = useUi((s) => s.timeline?.positionSec ?? null);
  const pos = useRef(position);
  useEffect(() => {
    if (!host.current) return;
    const b = build(series);
    plot.current?.destroy();
    plot.current = new uPlot(
      {
        title,
        width: Math.max(200, host.current.clientWidth),
        height: 120,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [{ stroke: '#aaa', font: AXIS_FONT }, valueAxis(b, host.current)],
        // The legend's first entry is the cursor's instant: "s: 12" read as a series called s.
        series: [{ label: 'at (s)' }, ...b.series],
        plugins: [cursorLine(() => pos.current)],
      },
      b.data,
      host.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [series, title, build]);
  useEffect(() => {
    pos.current = position;
    plot.current?.redraw(false);
  }, [position]);
  return <div ref={host} className="plot" data-testid={testId} />;
}

export function Plots() {
  const c = useController();
  const disks = useUi((s) => s.disks);
  const palette = useUi((s) => s.settings.palette);
  const following = useUi((s) => s.timeline?.following ?? false);
  const [disk, setDisk] = useState<number>(disks[0]?.number ?? 1);
  const [data, setData] = useState<TimelineSeries | null>(null);
  useEffect(() => {
    let alive = true;
    const load = async () => {
      try {
        const s = await c.transport.call('timelineSeries', { disk, bins: 120, points: 4000 });
        if (alive) setData(s);
      } catch (err) {
        if (alive && getUi().plots) console.warn('plots:', (err as Error).message);
      }
    };
    void load();
    // Live: the session grows; a replay's data only changes with the disk.
    const id = following ? setInterval(load, 2000) : null;
    return () => {
      alive = false;
      if (id) clearInterval(id);
    };
  }, [c, disk, following]);
  const builds = useMemo(() => chartsFor(palette), [palette]);
  return (
    <div className="plots" data-testid="plots">
      {/* The disks by the names their panels have ("Disk 2", not the engine's "disk2"). */}
      <label className="plots-disk">
        Plots of
        <select value={String(disk)} onChange={(e) => setDisk(Number(e.target.value))}>
          {disks.map((d) => (
            <option key={d.number} value={String(d.number)}>
              Disk {d.number}
            </option>
          ))}
        </select>
      </label>
      {data &&
        builds.map(([title, build, id]) => <Chart key={id} title={title} series={data} build={build} testId={id} />)}
    </div>
  );
}

/** The five charts: title, how to build uPlot data and series from a TimelineSeries, test id. */
function chartsFor(palette: Parameters<typeof opColors>[0]): Array<[string, Build, string]> {
  const colors = opColors(palette);
  const perOp =
    (key: 'bytesPerSec' | 'iops', unit: PlotUnit, yLabel?: string): Build =>
    (s) => ({
      data: [s.t, ...ACTIVITY_OPS.map((op) => s[key][op])],
      series: ACTIVITY_OPS.map((op) => ({ label: op, stroke: colors[op], width: 1.5 })),
      ...(yLabel ? { yLabel } : {}),
      unit,
      peak: true,
    });
  // Axis titles only where the ticks have no unit of their own ("MiB/s", "ms" say it).
  return [
    ['Throughput', perOp('bytesPerSec', 'bytes/s'), 'plot-throughput'],
    ['IOPS', perOp('iops', 'req/s', 'req/s'), 'plot-iops'],
    [
      'Latency',
      (s) => ({
        data: [s.t, s.latencyP50Us, s.latencyP99Us],
        series: [
          { label: 'p50 µs', stroke: '#3fb950' },
          { label: 'p99 µs', stroke: '#ffb000' },
        ],
        unit: 'µs',
        peak: true,
      }),
      'plot-latency',
    ],
    [
      'Queue depth',
      (s) => ({
        data: [s.t, s.queueDepth],
        series: [{ label: 'in flight', stroke: '#33b5e5' }],
        yLabel: 'requests',
        unit: 'requests',
        peak: true,
      }),
      'plot-queue',
    ],
    [
      'Offset vs time',
      (s) => {
        const ops = [0, 1, 2, 3];
        return {
          data: [s.scatter.t, ...ops.map((k) => s.scatter.op.map((o, i) => (o === k ? s.scatter.offset[i] : null)))],
          series: ops.map((k) => ({
            label: OPS[k],
            stroke: colors[ACTIVITY_OPS[k]],
            paths: () => null,
            points: { show: true, size: 3, fill: colors[ACTIVITY_OPS[k]] },
          })),
          yLabel: 'offset',
          unit: 'bytes',
          peak: false,
        };
      },
      'plot-scatter',
    ],
  ];
}
