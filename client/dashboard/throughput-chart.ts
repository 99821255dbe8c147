import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Stats } from "../../shared/schemas.ts";
import { count, perSecond } from "./format.ts";
import { make } from "./dom.ts";
import { BUCKET_MS, throughputSeries } from "./throughput-series.ts";

const MIN_HEIGHT = 200;
const bars = uPlot.paths.bars!({ size: [0.75, 12], radius: 0.15, align: 1 });

/** Chart colours come from dashboard.css, so light and dark schemes stay in one place. */
function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { line: v("--chart-line"), fill: v("--chart-fill"), grid: v("--chart-grid"), axis: v("--muted") };
}

function options({ width, height }: { width: number; height: number }): uPlot.Options {
  const c = palette();
  const axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 }, font: "12px system-ui, sans-serif" };
  return {
    width,
    height,
    padding: [12, 8, 0, 0],
    cursor: { y: false, drag: { x: false, y: false }, points: { show: false } },
    legend: { show: true, live: true },
    scales: {
      x: { time: true, range: (_u, min, max) => [min, max + BUCKET_MS / 1000] },
      y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.15)] },
    },
    axes: [
      { ...axis, space: 70 },
      { ...axis, size: 48, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? count(t) : perSecond(t))) },
    ],
    series: [
      { label: "Time" },
      {
        label: "Shards/s",
        // One bar per 10-second step: honest for bursts and idle spells alike.
        paths: bars,
        stroke: c.line,
        fill: c.line,
        width: 0,
        points: { show: false },
        value: (_u, v) => perSecond(v ?? 0),
      },
    ],
  };
}

/**
 * The throughput-over-time chart (uPlot on a canvas). It follows its container's width and the
 * colour scheme, and writes a text summary (latest full step and peak) into `summary` and the
 * chart's aria-label, so the figure means something without seeing the canvas.
 */
export function createThroughputChart(container: HTMLElement, summary: HTMLElement) {
  let data: uPlot.AlignedData = [[], []];
  // The plot fills its container (dashboard.css takes uPlot's root out of the flow, so the
  // container's size never depends on the plot's and resizing cannot feed back on itself).
  const size = () => ({ width: Math.max(200, Math.floor(container.clientWidth)), height: Math.max(MIN_HEIGHT, Math.floor(container.clientHeight)) });
  let chart = new uPlot(options(size()), data, container);

  new ResizeObserver(() => {
    const next = size();
    if (chart.width !== next.width || chart.height !== next.height) chart.setSize(next);
  }).observe(container);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    chart.destroy();
    chart = new uPlot(options(size()), data, container);
  });

  return {
    update(stats: Stats): void {
      const [xs, ys] = throughputSeries(stats);
      // Idle steps are gaps rather than zero-height bars, which would draw a dotted baseline.
      data = [xs, ys.map((y) => (y > 0 ? y : null))];
      chart.setData(data);
      const shards = stats.history.filter((h) => h.t >= xs[0]! * 1000).reduce((sum, h) => sum + h.shards, 0);
      const peak = Math.max(0, ...ys);
      container.setAttribute(
        "aria-label",
        `Throughput over the last 15 minutes: ${count(shards)} shards accepted, at most ${perSecond(peak)} shards per second.`,
      );
      const text = `${count(shards)} shards · peak ${perSecond(peak)}/s`;
      if (summary.textContent !== text)
        summary.replaceChildren(make("strong", "", count(shards)), " shards · peak ", make("strong", "", perSecond(peak)), "/s");
    },
  };
}
