/**
 * A small, strict reader of the Prometheus text exposition format (0.0.4), for tests: it throws
 * on anything malformed, on a sample whose family has no `# HELP` and `# TYPE` before it, on a
 * family declared twice, and on histogram buckets that do not add up.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    at = re.lastIndex;
  }
  return labels;
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, ParsedFamily>): ParsedFamily | undefined {
  if (families.has(name)) return families.get(name);
  const base = name.replace(/_(bucket|sum|count)$/, "");
  const f = families.get(base);
  return f && (f.type === "histogram" || f.type === "summary") ? f : undefined;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, ParsedFamily>();
  const partial = new Map<string, { help?: string; type?: string }>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, "HELP" | "TYPE", string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      if (families.has(name)) throw new Error(`family ${name} declared after its samples or twice`);
      const p = partial.get(name) ?? {};
      if (kind === "HELP") {
        if (p.help !== undefined) throw new Error(`two HELP lines for ${name}`);
        p.help = rest;
      } else {
        if (p.type !== undefined || !TYPES.has(rest)) throw new Error(`bad or second TYPE for ${name}: ${line}`);
        p.type = rest;
      }
      partial.set(name, p);
      if (p.help !== undefined && p.type !== undefined) {
        families.set(name, { name, help: p.help, type: p.type, samples: [] });
        partial.delete(name);
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const family = familyOf(m[1]!, families);
    if (!family) throw new Error(`sample ${m[1]} has no HELP and TYPE before it`);
    family.samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? "", line), value: parseValue(m[3]!, line) });
  }
  if (partial.size) throw new Error(`families with only one of HELP and TYPE: ${[...partial.keys()].join(", ")}`);
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** Buckets of each series rise with `le`, end at `+Inf`, and that last one equals `_count`. */
function checkHistogram(f: ParsedFamily): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    if (s.name === `${f.name}_bucket`) entry.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    else if (s.name === `${f.name}_count`) entry.count = s.value;
    else if (s.name === `${f.name}_sum`) entry.sum = s.value;
    else throw new Error(`unexpected sample ${s.name} in histogram ${f.name}`);
    series.set(key, entry);
  }
  for (const [key, s] of series) {
    const les = s.buckets.map(([le]) => le);
    if (les.at(-1) !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < s.buckets.length; i++) {
      if (s.buckets[i]![0] <= s.buckets[i - 1]![0] || s.buckets[i]![1] < s.buckets[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (s.count !== s.buckets.at(-1)![1] || s.sum === undefined) throw new Error(`${f.name}${key}: _count differs from the +Inf bucket or _sum missing`);
  }
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return 0;
}
