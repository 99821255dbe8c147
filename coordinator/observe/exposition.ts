/**
 * The Prometheus text exposition format, version 0.0.4: one `# HELP` and one `# TYPE` line per
 * family, then its samples. https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Record<string, string>;

export interface Sample {
  /** Appended to the family name: `_bucket`, `_sum`, `_count` for histograms. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** A histogram series as stored: counts per bucket (not cumulative; the last is above every bound). */
export interface HistogramSeries {
  labels: Labels;
  buckets: number[];
  sum: number;
  count: number;
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
}

/** The samples of histogram series: cumulative `_bucket`s with `le` (ending at `+Inf`), `_sum` and `_count`. */
export function histogramSamples(series: HistogramSeries[], bounds: readonly number[]): Sample[] {
  return series.flatMap((s) => {
    let running = 0;
    const buckets = [...bounds, Infinity].map((le, i) => {
      running += s.buckets[i] ?? 0;
      return { suffix: "_bucket", labels: { ...s.labels, le: formatValue(le) }, value: running };
    });
    return [...buckets, { suffix: "_sum", labels: s.labels, value: s.sum }, { suffix: "_count", labels: s.labels, value: s.count }];
  });
}

/** Renders families as an exposition body (ends with a newline). */
export function renderExposition(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join("\n")}\n`;
}
