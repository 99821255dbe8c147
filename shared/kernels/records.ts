/**
 * `records.aggregate`: group-by aggregation (count, sum, min, max) over JSON Lines or CSV records.
 * Pure and dependency-free so it runs unchanged in Web Workers, Node worker threads and workerd.
 * Groups live in a Map and leave through Object.fromEntries, so any key (even `__proto__`) is an
 * ordinary group.
 */
import { MergeConflict } from "../reduce.ts";
import { CsvReader, csvHeader } from "./csv.ts";

export type Scalar = string | number | boolean | null;
export type Metric = { count: true } | { sum: string } | { min: string } | { max: string };
export interface RecordsParams {
  format: "jsonl" | "csv";
  groupBy?: string[];
  metrics: Record<string, Metric>;
  where?: Record<string, Scalar>;
}
/** A dataset shard: whole records; CSV shards past the first carry the header record apart. */
export interface RecordsInput {
  text: string;
  header?: string;
}
export interface RecordsOutput {
  groups: Record<string, Record<string, number>>;
  records: number;
  skipped: number;
}

/** Most groups one shard may hold; past it compute throws. */
export const MAX_GROUPS = 10_000;

type Op = "count" | "sum" | "min" | "max";
const OPS: readonly Op[] = ["count", "sum", "min", "max"];
const BOM = 0xfeff;
const CR = 0x0d;

const opOf = (metric: Metric): Op => OPS.find((op) => Object.hasOwn(metric, op))!;
const withoutBom = (s: string): string => (s.charCodeAt(0) === BOM ? s.slice(1) : s);

/** Metric ops by metric name, which is all the merge needs to know of the params. */
export function metricOps(params: RecordsParams): Map<string, Op> {
  return new Map(Object.entries(params.metrics).map(([name, metric]) => [name, opOf(metric)]));
}

/**
 * A plain decimal number (`1299`, `-3.5`; no sign `+`, exponent, hex or blanks) as a finite
 * number, else NaN. Checked by hand: this runs once per metric per record.
 */
export function decimal(s: string): number {
  const n = s.length;
  let i = s.charCodeAt(0) === 0x2d ? 1 : 0;
  const digits = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i === digits) return NaN;
  if (i < n) {
    if (s.charCodeAt(i) !== 0x2e || i + 1 === n) return NaN;
    for (i++; i < n; i++) if (!isDigit(s.charCodeAt(i))) return NaN;
  }
  const x = Number(s);
  return Number.isFinite(x) ? x : NaN;
}
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** A JSON value as a number for sum/min/max, else NaN. */
const numeric = (v: unknown): number => (typeof v === "number" ? (Number.isFinite(v) ? v : NaN) : typeof v === "string" ? decimal(v) : NaN);

/** A value as group-key text: strings as they are, objects as JSON, the rest through String. */
const keyText = (v: unknown): string => (typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));

/**
 * Folds records into groups. Each record arrives as `values`: one slot per field the params name
 * (`fields`), undefined where the record lacks it.
 */
class Groups {
  readonly fields: string[] = [];
  records = 0;
  skipped = 0;
  readonly #groups = new Map<string, number[]>();
  readonly #names: string[];
  readonly #ops: Op[];
  readonly #metricSlots: number[];
  readonly #groupSlots: number[];
  readonly #whereSlots: number[];
  readonly #whereValues: Scalar[];
  readonly #numbers: number[];

  constructor(params: RecordsParams, whereValue: (v: Scalar) => Scalar) {
    const slot = (field: string): number => {
      const at = this.fields.indexOf(field);
      return at >= 0 ? at : this.fields.push(field) - 1;
    };
    const metrics = Object.entries(params.metrics);
    this.#names = metrics.map(([name]) => name);
    this.#ops = metrics.map(([, metric]) => opOf(metric));
    this.#metricSlots = metrics.map(([, metric]) => {
      const op = opOf(metric);
      return op === "count" ? -1 : slot((metric as Record<Op, string>)[op]);
    });
    this.#groupSlots = (params.groupBy ?? []).map(slot);
    const where = Object.entries(params.where ?? {});
    this.#whereSlots = where.map(([field]) => slot(field));
    this.#whereValues = where.map(([, v]) => whereValue(v));
    this.#numbers = new Array<number>(metrics.length).fill(0);
  }

  /** Counts one record that could not be read at all. */
  skip(): void {
    this.records++;
    this.skipped++;
  }

  /** Counts one record and aggregates it when it passes `where` and has every field it needs. */
  add(values: readonly unknown[]): void {
    this.records++;
    for (let w = 0; w < this.#whereSlots.length; w++) {
      if (values[this.#whereSlots[w]!] !== this.#whereValues[w]) return;
    }
    const groupSlots = this.#groupSlots;
    let key = "";
    if (groupSlots.length === 1) {
      const v = values[groupSlots[0]!];
      if (v === undefined) return void this.skipped++;
      key = keyText(v);
    } else if (groupSlots.length > 1) {
      const parts: string[] = [];
      for (const s of groupSlots) {
        const v = values[s];
        if (v === undefined) return void this.skipped++;
        parts.push(keyText(v));
      }
      key = JSON.stringify(parts);
    }
    const numbers = this.#numbers;
    for (let m = 0; m < numbers.length; m++) {
      const s = this.#metricSlots[m]!;
      const x = s < 0 ? 1 : numeric(values[s]);
      if (Number.isNaN(x)) return void this.skipped++;
      numbers[m] = x;
    }
    const group = this.#groups.get(key);
    if (group === undefined) {
      if (this.#groups.size >= MAX_GROUPS) {
        throw new Error(`records.aggregate: more than ${MAX_GROUPS} groups in one shard; group by fewer or coarser fields, or filter with where`);
      }
      this.#groups.set(key, numbers.slice());
      return;
    }
    // Floats are summed in record order, so every volunteer gets the same bits; integers are exact below 2^53.
    for (let m = 0; m < numbers.length; m++) {
      const x = numbers[m]!;
      const op = this.#ops[m];
      if (op === "count" || op === "sum") group[m]! += x;
      else if (op === "min" ? x < group[m]! : x > group[m]!) group[m] = x;
    }
  }

  output(): RecordsOutput {
    const groups = Object.fromEntries(
      Array.from(this.#groups, ([key, numbers]) => {
        numbers.forEach((x, m) => {
          if (!Number.isFinite(x)) throw new Error(`records.aggregate: metric "${this.#names[m]}" of group ${JSON.stringify(key)} overflows`);
        });
        return [key, Object.fromEntries(this.#names.map((name, m) => [name, numbers[m]!]))];
      }),
    );
    return { groups, records: this.records, skipped: this.skipped };
  }
}

function aggregateJsonl(text: string, into: Groups): void {
  const fields = into.fields;
  const values = new Array<unknown>(fields.length);
  const n = text.length;
  for (let start = 0; start < n; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = n;
    const next = end + 1;
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    if (end > start) {
      const line = text.slice(start, end);
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        record = undefined;
        if (line.trim() === "") {
          start = next;
          continue;
        }
      }
      if (typeof record !== "object" || record === null || Array.isArray(record)) into.skip();
      else {
        for (let s = 0; s < fields.length; s++) {
          values[s] = Object.hasOwn(record, fields[s]!) ? (record as Record<string, unknown>)[fields[s]!] : undefined;
        }
        into.add(values);
      }
    }
    start = next;
  }
}

function aggregateCsv(text: string, header: string | undefined, into: Groups): void {
  const csv = new CsvReader(text);
  let names: string[];
  if (header !== undefined) names = csvHeader(withoutBom(header));
  else if (csv.next() && !csv.unterminated) names = [...csv.fields];
  else return;
  // The first column of that name wins; a field no column names is lacking in every record.
  const columns = into.fields.map((field) => names.indexOf(field));
  const values = new Array<string | undefined>(columns.length);
  while (csv.next()) {
    const row = csv.fields;
    if (csv.unterminated || row.length !== names.length) {
      into.skip();
      continue;
    }
    for (let s = 0; s < columns.length; s++) values[s] = columns[s]! < 0 ? undefined : row[columns[s]!];
    into.add(values);
  }
}

/**
 * Aggregates one shard's records.
 * @example
 * aggregateRecords({ text: '{"c":"a","p":2}\n{"c":"a","p":3}\n' },
 *   { format: "jsonl", groupBy: ["c"], metrics: { n: { count: true }, total: { sum: "p" } } })
 * // { groups: { a: { n: 2, total: 5 } }, records: 2, skipped: 0 }
 */
export function aggregateRecords(input: RecordsInput, params: RecordsParams): RecordsOutput {
  const text = withoutBom(input.text);
  if (params.format === "csv") {
    // CSV values are strings, so a where value matches its own spelling.
    const groups = new Groups(params, (v) => String(v));
    aggregateCsv(text, input.header, groups);
    return groups.output();
  }
  const groups = new Groups(params, (v) => v);
  aggregateJsonl(text, groups);
  return groups.output();
}

/**
 * Why an output cannot be merged for these params: a group whose metrics are not exactly the
 * job's (a volunteer's output is refused with this, before anything is stored), or undefined.
 */
export function recordsOutputProblem(output: RecordsOutput, params: RecordsParams): string | undefined {
  const names = Object.keys(params.metrics);
  for (const [key, group] of Object.entries(output.groups)) {
    const lacking = lacks(key, group, names);
    if (lacking) return lacking;
    if (Object.keys(group).length !== names.length) return `group ${JSON.stringify(key)} has metrics the job does not name (it names ${names.join(", ")})`;
  }
  return undefined;
}

/** Which metric of `names` group `key` lacks, said as a problem, or undefined. */
function lacks(key: string, group: Record<string, number>, names: readonly string[]): string | undefined {
  const missing = names.find((name) => typeof group[name] !== "number");
  return missing === undefined ? undefined : `group ${JSON.stringify(key)} lacks metric "${missing}"`;
}

/**
 * The merge of shard outputs for one job's params: per group, counts and sums add, mins and maxes
 * keep the extreme. Mutates and returns `acc`; throws MergeConflict when `next` lacks a metric of a
 * group (outputs are refused for that first, see recordsOutputProblem).
 */
export function mergeRecords(params: RecordsParams): (acc: RecordsOutput, next: RecordsOutput) => RecordsOutput {
  const ops = [...metricOps(params)];
  const names = ops.map(([name]) => name);
  return (acc, next) => {
    // Checked before anything changes: a refused output leaves `acc` as it was.
    for (const [key, add] of Object.entries(next.groups)) {
      const lacking = lacks(key, add, names);
      if (lacking) throw new MergeConflict(`records.aggregate: ${lacking}`);
    }
    acc.records += next.records;
    acc.skipped += next.skipped;
    for (const [key, add] of Object.entries(next.groups)) {
      if (!Object.hasOwn(acc.groups, key)) {
        // defineProperty, not assignment: a key such as `__proto__` must become an own property.
        Object.defineProperty(acc.groups, key, { value: { ...add }, enumerable: true, writable: true, configurable: true });
        continue;
      }
      const into = acc.groups[key]!;
      for (const [name, op] of ops) {
        const a = into[name]!;
        const b = add[name]!;
        into[name] = op === "min" ? Math.min(a, b) : op === "max" ? Math.max(a, b) : a + b;
      }
    }
    return acc;
  };
}

/** Merged result of no shards. */
export const emptyRecords = (): RecordsOutput => ({ groups: {}, records: 0, skipped: 0 });
