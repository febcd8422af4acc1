import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** Series colours, distinguishable and readable on white. */
export const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

export interface ChartProps {
  readonly title: string;
  /** x values: seconds since the epoch. */
  readonly xs: readonly number[];
  readonly series: ReadonlyArray<{ label: string; values: ReadonlyArray<number | null> }>;
  readonly unit?: string;
  readonly height?: number;
  readonly bars?: boolean;
}

/**
 * A uPlot time-series chart. uPlot is built once per set of series (a new series label remounts
 * it) and fed new data in place, so a chart updating every second costs one redraw.
 */
export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = props.series.map((s) => s.label).join('\u0000');
  const data = (): uPlot.AlignedData => [props.xs as number[], ...props.series.map((s) => s.values as Array<number | null>)];

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const unit = props.unit ?? '';
    const bars = uPlot.paths.bars?.({ size: [0.6, 40] });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height: props.height ?? 180,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      // Bars are centred on their day: half a step of room at each end keeps the outer ones whole.
      scales: { x: props.bars ? { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] } : { time: true } },
      axes: [{}, { size: 60, values: (_u, ticks) => ticks.map((t) => `${formatTick(t)}${unit}`) }],
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: palette[i % palette.length] as string,
          width: 2,
          ...(props.bars && bars ? { paths: bars, fill: `${palette[i % palette.length]}99` } : {}),
          points: { show: props.bars ? false : props.xs.length < 40 },
        })),
      ],
    };
    plot.current = new uPlot(opts, data(), el);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [labels]);

  useEffect(() => {
    plot.current?.setData(data());
  });

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title} chart`} />
    </figure>
  );
}

function formatTick(v: number): string {
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (Math.abs(v) > 0 && Math.abs(v) < 0.01) return v.toExponential(0);
  return String(Math.round(v * 1000) / 1000);
}
