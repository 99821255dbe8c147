import { describe, expect, it } from "vitest";
import { canonicalJson } from "../canonical.ts";
import { MergeConflict } from "../reduce.ts";
import { aggregateRecords, decimal, MAX_GROUPS, mergeRecords, type RecordsOutput, type RecordsParams } from "./records.ts";
import { kernels } from "./registry.ts";

const kernel = kernels.get("records.aggregate")!;

/** A tiny seeded generator (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const COLUMNS = ["id", "category", "status", "region", "price_cents", "qty"] as const;
type Order = Record<(typeof COLUMNS)[number], string | number>;
const CATEGORIES = ["books", "Books, used", 'say "hi"', "two\nlines", "crlf\r\ninside", "Ελλάδα", "__proto__", "constructor", "toString", ""];

interface Row {
  order?: Order;
  jsonl: string;
  csv: string;
}

const csvField = (v: string | number, quote: boolean): string => {
  const s = String(v);
  return quote || /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** Orders (some with a price that is no number) and broken lines, as JSON Lines and as CSV. */
function generate(seed: number, count: number): Row[] {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const rows: Row[] = [];
  for (let id = 0; id < count; id++) {
    if (next() < 0.04) {
      rows.push({ jsonl: `{"id": ${id}, "category": "bro`, csv: `${id},broken` });
      continue;
    }
    // Quarter cents sum exactly in any order, so merged floats can be compared bit for bit.
    const cents = Math.floor(next() * 200_000) - 20_000 + pick([0, 0.25, 0.5, 0.75]);
    const price = next() < 0.05 ? pick(["n/a", "", "0x10", "1e3"]) : next() < 0.3 ? String(cents) : cents;
    const order: Order = {
      id,
      category: pick(CATEGORIES),
      status: pick(["paid", "paid", "refunded", "pending"]),
      region: pick(["north", "south", "east"]),
      price_cents: price,
      qty: 1 + Math.floor(next() * 4),
    };
    rows.push({ order, jsonl: JSON.stringify(order), csv: COLUMNS.map((c) => csvField(order[c], next() < 0.2)).join(",") });
  }
  return rows;
}

/** The rows as one file: random LF or CRLF ends, random empty lines; `ends[i]` is where line i ends. */
function file(rows: Row[], format: "jsonl" | "csv", seed: number): { text: string; ends: number[] } {
  const next = random(seed);
  const lines = rows.map((r) => r[format]);
  if (format === "csv") lines.unshift(COLUMNS.join(","));
  let text = "";
  const ends: number[] = [];
  for (const line of lines) {
    text += line + (next() < 0.5 ? "\n" : "\r\n");
    ends.push(text.length);
    if (next() < 0.05) {
      text += next() < 0.5 ? "\n" : "\r\n";
      ends.push(text.length);
    }
  }
  return { text, ends };
}

/** A direct reading of the contract over the orders themselves, no text in between. */
function reference(rows: Row[], params: RecordsParams): RecordsOutput {
  const groups = new Map<string, Record<string, number>>();
  let skipped = 0;
  for (const { order } of rows) {
    if (!order) {
      skipped++;
      continue;
    }
    const where = Object.entries(params.where ?? {});
    if (!where.every(([field, value]) => String(order[field as keyof Order]) === String(value))) continue;
    const values: Record<string, number> = {};
    let ok = true;
    for (const [name, metric] of Object.entries(params.metrics)) {
      if ("count" in metric) continue;
      const raw = order[Object.values(metric)[0] as keyof Order];
      const x = typeof raw === "number" ? raw : /^-?[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : NaN;
      if (Number.isNaN(x)) ok = false;
      values[name] = x;
    }
    if (!ok) {
      skipped++;
      continue;
    }
    const by = params.groupBy ?? [];
    const keys = by.map((f) => String(order[f as keyof Order]));
    const key = by.length === 0 ? "" : by.length === 1 ? keys[0]! : JSON.stringify(keys);
    const group = groups.get(key);
    for (const [name, metric] of Object.entries(params.metrics)) {
      const x = "count" in metric ? 1 : values[name]!;
      if (!group) values[name] = x;
      else if ("min" in metric) group[name] = Math.min(group[name]!, x);
      else if ("max" in metric) group[name] = Math.max(group[name]!, x);
      else group[name]! += x;
    }
    if (!group) groups.set(key, values);
  }
  return { groups: Object.fromEntries(groups), records: rows.length, skipped };
}

const METRICS: RecordsParams["metrics"] = {
  orders: { count: true },
  revenue: { sum: "price_cents" },
  smallest: { min: "price_cents" },
  largest: { max: "price_cents" },
  items: { sum: "qty" },
};
const PARAM_SETS: Omit<RecordsParams, "format">[] = [
  { groupBy: [], metrics: METRICS },
  { groupBy: ["category"], metrics: METRICS, where: { status: "paid" } },
  { groupBy: ["region", "status"], metrics: METRICS },
  { groupBy: ["category", "qty"], metrics: { n: { count: true } }, where: { qty: 2, region: "north" } },
];

const same = (a: unknown, b: unknown) => expect(canonicalJson(a)).toBe(canonicalJson(b));
const run = (format: "jsonl" | "csv", text: string, rest: Omit<RecordsParams, "format">, header?: string) =>
  aggregateRecords({ text, ...(header !== undefined && { header }) }, { format, ...rest });

describe("records.aggregate over generated orders", () => {
  it("gives the same groups from JSON Lines and CSV as a direct loop over the orders", () => {
    const rows = generate(1, 2_000);
    for (const params of PARAM_SETS) {
      const want = reference(rows, { format: "jsonl", ...params });
      expect(Object.keys(want.groups).length).toBeGreaterThan(0);
      same(run("jsonl", file(rows, "jsonl", 2).text, params), want);
      same(run("csv", file(rows, "csv", 3).text, params), want);
    }
  });

  it("merges shard outputs into exactly the result of the whole file, wherever it is cut at a line end", () => {
    for (let seed = 1; seed <= 25; seed++) {
      const next = random(1000 + seed);
      const rows = generate(seed, 150);
      const params = PARAM_SETS[seed % PARAM_SETS.length]!;
      for (const format of ["jsonl", "csv"] as const) {
        const { text, ends } = file(rows, format, seed);
        const whole = run(format, text, params);
        const cuts = [...new Set(Array.from({ length: Math.floor(next() * 8) }, () => ends[Math.floor(next() * ends.length)]!))];
        const bounds = [0, ...cuts.sort((a, b) => a - b), text.length];
        const header = format === "csv" ? COLUMNS.join(",") : undefined;
        const shards = bounds.slice(1).map((end, i) => run(format, text.slice(bounds[i], end), params, i > 0 ? header : undefined));
        const merge = kernel.reduceWith!({ format, ...params });
        same(shards.reduce(merge, kernel.identity()), whole);
        same([...shards].reverse().reduce(merge, kernel.identity()), whole);
        expect(kernel.output.safeParse(JSON.parse(JSON.stringify(whole))).success).toBe(true);
      }
    }
  });
});

describe("records.aggregate semantics", () => {
  const count = { n: { count: true } } as const;

  it("counts records read, not empty or blank JSON lines, and skips lines that are not JSON objects", () => {
    const text = '{"a":1}\r\n\n   \n\t\r\n[1,2]\n42\nnull\n"text"\n{"a":\n{"a":2}';
    expect(run("jsonl", text, { metrics: count })).toEqual({ groups: { "": { n: 2 } }, records: 7, skipped: 5 });
  });

  it("reads a UTF-8 BOM before the first JSON line", () => {
    expect(run("jsonl", '\ufeff{"a":1}\n', { metrics: count })).toEqual({ groups: { "": { n: 1 } }, records: 1, skipped: 0 });
  });

  it("keys groups by one field's value as a string, several as a JSON array, none as the empty string", () => {
    const text = ['{"k":"x","m":1}', '{"k":1.5,"m":true}', '{"k":null,"m":null}', '{"k":{"b":[1]},"m":"x"}', '{"k":"x","m":"1"}'].join("\n");
    expect(Object.keys(run("jsonl", text, { groupBy: ["k"], metrics: count }).groups)).toEqual(["x", "1.5", "null", '{"b":[1]}']);
    expect(run("jsonl", text, { groupBy: ["k", "m"], metrics: count }).groups).toEqual({
      '["x","1"]': { n: 2 },
      '["1.5","true"]': { n: 1 },
      '["null","null"]': { n: 1 },
      '["{\\"b\\":[1]}","x"]': { n: 1 },
    });
    expect(run("jsonl", text, { groupBy: [], metrics: count }).groups).toEqual({ "": { n: 5 } });
  });

  it("skips a record lacking a groupBy field, but only once it passes where", () => {
    const text = '{"s":"paid","c":"a"}\n{"s":"paid"}\n{"s":"open"}\n{"c":"b"}';
    expect(run("jsonl", text, { groupBy: ["c"], metrics: count, where: { s: "paid" } })).toEqual({ groups: { a: { n: 1 } }, records: 4, skipped: 1 });
    expect(run("jsonl", text, { groupBy: ["c"], metrics: count })).toEqual({ groups: { a: { n: 1 }, b: { n: 1 } }, records: 4, skipped: 2 });
  });

  it("filters with where by strict equality in JSON Lines and by spelling in CSV", () => {
    const jsonl = '{"q":2}\n{"q":"2"}\n{"q":2.0}\n{"q":null}\n{"q":true}\n{}';
    const where = (q: string | number | boolean | null) => run("jsonl", jsonl, { metrics: count, where: { q } });
    expect(where(2).groups).toEqual({ "": { n: 2 } });
    expect(where("2").groups).toEqual({ "": { n: 1 } });
    expect(where(null).groups).toEqual({ "": { n: 1 } });
    expect(where(true)).toEqual({ groups: { "": { n: 1 } }, records: 6, skipped: 0 });
    const csv = "q,r\n2,x\n2.0,x\nnull,y\ntrue,y\n";
    expect(run("csv", csv, { metrics: count, where: { q: 2 } }).groups).toEqual({ "": { n: 1 } });
    expect(run("csv", csv, { metrics: count, where: { q: null } }).groups).toEqual({ "": { n: 1 } });
    expect(run("csv", csv, { metrics: count, where: { q: true, r: "y" } }).groups).toEqual({ "": { n: 1 } });
    expect(run("csv", csv, { metrics: count, where: { nope: "x" } })).toEqual({ groups: {}, records: 4, skipped: 0 });
  });

  it("computes count, sum, min and max per group", () => {
    const text = ['{"c":"a","p":5}', '{"c":"a","p":-2.5}', '{"c":"b","p":"7"}', '{"c":"a","p":"10"}'].join("\n");
    const metrics = { n: { count: true }, s: { sum: "p" }, lo: { min: "p" }, hi: { max: "p" } } as const;
    expect(run("jsonl", text, { groupBy: ["c"], metrics }).groups).toEqual({ a: { n: 3, s: 12.5, lo: -2.5, hi: 10 }, b: { n: 1, s: 7, lo: 7, hi: 7 } });
  });

  it("takes plain decimal numbers only, as JSON numbers or strings", () => {
    for (const s of ["1299", "-3.5", "007", "0.25", "-0"]) expect(decimal(s), s).toBe(Number(s));
    for (const s of ["", "-", "0x10", "1e3", "1e400", "+5", " 5", "5 ", "5.", ".5", "1.2.3", "Infinity", "NaN", "1_000", "９"]) {
      expect(decimal(s), s).toBeNaN();
    }
    expect(decimal("9".repeat(400))).toBeNaN();
    const text = ['{"p":1}', '{"p":"2"}', '{"p":1e400}', '{"p":true}', '{"p":null}', '{"p":[1]}', '{"p":"1e3"}', '{"q":4}'].join("\n");
    expect(run("jsonl", text, { metrics: { n: { count: true }, s: { sum: "p" } } })).toEqual({ groups: { "": { n: 2, s: 3 } }, records: 8, skipped: 6 });
  });

  it("skips a record with any metric field missing or not numeric, leaving every metric untouched", () => {
    const text = "c,p,q\na,1,2\na,3,x\na,,4\n";
    const metrics = { n: { count: true }, p: { sum: "p" }, q: { max: "q" } } as const;
    expect(run("csv", text, { groupBy: ["c"], metrics })).toEqual({ groups: { a: { n: 1, p: 1, q: 2 } }, records: 3, skipped: 2 });
  });

  it("takes the CSV header from the text's first record, or from `header` for later shards", () => {
    const metrics = { n: { count: true }, s: { sum: "p" } } as const;
    const want = { groups: { a: { n: 1, s: 1 }, b: { n: 1, s: 2 } }, records: 2, skipped: 0 };
    expect(run("csv", "c,p\na,1\nb,2\n", { groupBy: ["c"], metrics })).toEqual(want);
    expect(run("csv", "a,1\nb,2\n", { groupBy: ["c"], metrics }, "c,p")).toEqual(want);
    expect(run("csv", "\ufeffc,p\r\na,1\r\nb,2", { groupBy: ["c"], metrics })).toEqual(want);
    expect(run("csv", "a,1\nb,2\n", { groupBy: ["c"], metrics }, '\ufeff"c",p')).toEqual(want);
    expect(run("csv", "", { groupBy: ["c"], metrics }, "c,p")).toEqual({ groups: {}, records: 0, skipped: 0 });
    expect(run("csv", "c,p\n", { groupBy: ["c"], metrics })).toEqual({ groups: {}, records: 0, skipped: 0 });
    expect(run("csv", "c,p\na,1\n", { groupBy: ["nope"], metrics })).toEqual({ groups: {}, records: 1, skipped: 1 });
  });

  it("skips ragged CSV rows and an unterminated last record once, and reads quoted fields", () => {
    const text = 'c,p\r\n"x, ""y""",1\r\n\r\nshort\r\n"two\r\nlines",2\nlong,3,4\n"open,5\nz,6\n';
    expect(run("csv", text, { groupBy: ["c"], metrics: { s: { sum: "p" } } })).toEqual({
      groups: { 'x, "y"': { s: 1 }, "two\r\nlines": { s: 2 } },
      records: 5,
      skipped: 3,
    });
  });

  it("makes prototype names ordinary group keys and pollutes nothing", () => {
    const names = ["__proto__", "constructor", "toString", "hasOwnProperty", "prototype"];
    const out = run("jsonl", names.map((c) => JSON.stringify({ c })).join("\n"), { groupBy: ["c"], metrics: count });
    expect(Object.keys(out.groups).sort()).toEqual([...names].sort());
    expect(Object.getPrototypeOf(out.groups)).toBe(Object.prototype);
    expect(Object.hasOwn(out.groups, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>)["n"]).toBeUndefined();
    expect(canonicalJson(out)).toContain('"__proto__":{"n":1}');

    // As the grid carries it: JSON text, validated, then merged from the identity.
    const wire = JSON.parse(JSON.stringify(out)) as unknown;
    const parsed = kernel.output.parse(wire) as RecordsOutput;
    expect(Object.hasOwn(parsed.groups, "__proto__")).toBe(true);
    const merge = kernel.reduceWith!({ format: "jsonl", metrics: count });
    const merged = merge(merge(kernel.identity(), parsed), JSON.parse(JSON.stringify(out))) as RecordsOutput;
    expect(Object.getPrototypeOf(merged.groups)).toBe(Object.prototype);
    expect(Object.hasOwn(merged.groups, "__proto__")).toBe(true);
    expect(canonicalJson(merged)).toContain('"__proto__":{"n":2}');
  });

  it(`allows ${MAX_GROUPS} groups in a shard and fails past that, saying why`, () => {
    const lines = Array.from({ length: MAX_GROUPS }, (_, i) => `{"k":${i}}`);
    expect(Object.keys(run("jsonl", lines.join("\n"), { groupBy: ["k"], metrics: count }).groups)).toHaveLength(MAX_GROUPS);
    lines.push('{"k":"one more"}');
    expect(() => run("jsonl", lines.join("\n"), { groupBy: ["k"], metrics: count })).toThrow(`more than ${MAX_GROUPS} groups`);
  });

  it("fails a shard whose sum overflows rather than answering a non-finite number", () => {
    expect(() => run("jsonl", '{"p":1e308}\n{"p":1e308}', { metrics: { s: { sum: "p" } } })).toThrow(/overflows/);
  });
});

describe("records.aggregate in the registry", () => {
  const params = (p: unknown) => {
    const parsed = kernel.params.safeParse(p);
    return parsed.success ? "ok" : `${parsed.error.issues[0]!.path.join(".")}: ${parsed.error.issues[0]!.message}`;
  };

  it("accepts the contract's example params and fills in groupBy", () => {
    const example = {
      format: "jsonl",
      groupBy: ["category"],
      metrics: { orders: { count: true }, revenue: { sum: "price_cents" }, largest: { max: "price_cents" }, smallest: { min: "price_cents" } },
      where: { status: "paid" },
    };
    expect(params(example)).toBe("ok");
    expect(kernel.params.parse({ format: "csv", metrics: { n: { count: true } } })).toEqual({ format: "csv", groupBy: [], metrics: { n: { count: true } } });
  });

  it("refuses bad params with a message naming the field", () => {
    const m = { n: { count: true } };
    expect(params({ format: "xml", metrics: m })).toBe('format: must be "jsonl" or "csv"');
    expect(params({ format: "csv", metrics: {} })).toBe("metrics: must name at least one metric");
    expect(params({ format: "csv", metrics: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, { count: true }])) })).toBe(
      "metrics: must name at most 32 metrics",
    );
    expect(params({ format: "csv", metrics: { n: { avg: "p" } } })).toMatch(/^metrics\.n: must be \{"count": true\}/);
    expect(params({ format: "csv", metrics: { n: { count: false } } })).toMatch(/^metrics\.n: /);
    expect(params({ format: "csv", metrics: { n: { sum: "" } } })).toMatch(/^metrics\.n/);
    expect(params({ format: "csv", metrics: { constructor: { count: true } } })).toMatch(/^metrics\.constructor: metric names must/);
    expect(params({ format: "csv", metrics: JSON.parse('{"n": {"count": true}, "__proto__": {"count": true}}') })).toMatch(/^metrics: metric names must/);
    expect(params({ format: "csv", metrics: { ["x".repeat(101)]: { count: true } } })).toMatch(/metric names must be 1 to 100 characters/);
    expect(params({ format: "csv", metrics: m, groupBy: Array.from({ length: 9 }, (_, i) => `f${i}`) })).toBe("groupBy: must name at most 8 fields");
    expect(params({ format: "csv", metrics: m, groupBy: [""] })).toBe("groupBy.0: must not be empty");
    expect(params({ format: "csv", metrics: m, where: { s: [1] } })).toBe("where.s: must be a string, number, boolean or null");
    expect(params({ format: "csv", metrics: m, extra: 1 })).toMatch(/extra/);
  });

  it("takes dataset shard inputs with their descriptor fields, and checks only texts up to 4,000,000 characters", () => {
    expect(kernel.input.safeParse({ dataset: "d_1", offset: 0, length: 10, text: "a,b\n", header: "a,b" }).success).toBe(true);
    expect(kernel.input.safeParse({ text: "" }).success).toBe(true);
    expect(kernel.input.safeParse({ text: 1 }).success).toBe(false);
    expect(kernel.checkable({ text: "x".repeat(4_000_000) })).toBe(true);
    expect(kernel.checkable({ text: "x".repeat(4_000_001) })).toBe(false);
    expect(kernel.checkable({ dataset: "d_1", offset: 0, length: 10 })).toBe(false);
    expect(kernel.acceptsRange).toBe(false);
  });

  it("refuses outputs of the wrong shape", () => {
    const ok = { groups: { a: { n: 1 } }, records: 1, skipped: 0 };
    expect(kernel.output.safeParse(ok).success).toBe(true);
    for (const bad of [
      { ...ok, extra: 1 },
      { ...ok, records: -1 },
      { ...ok, skipped: 0.5 },
      { ...ok, groups: { a: { n: "1" } } },
      { ...ok, groups: { a: [1] } },
      { ...ok, groups: [] },
      { groups: {}, records: 0 },
    ]) {
      expect(kernel.output.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it("merges by the job's params through reduceWith; the plain reduce refuses to guess", () => {
    const p: RecordsParams = { format: "jsonl", metrics: { n: { count: true }, s: { sum: "p" }, lo: { min: "p" }, hi: { max: "p" } } };
    const a = { groups: { x: { n: 1, s: 5, lo: 5, hi: 5 } }, records: 2, skipped: 1 };
    const b = { groups: { x: { n: 2, s: 3, lo: 1, hi: 2 }, y: { n: 1, s: 9, lo: 9, hi: 9 } }, records: 3, skipped: 0 };
    expect(mergeRecords(p)(mergeRecords(p)(kernel.identity() as RecordsOutput, a), b)).toEqual({
      groups: { x: { n: 3, s: 8, lo: 1, hi: 5 }, y: { n: 1, s: 9, lo: 9, hi: 9 } },
      records: 5,
      skipped: 1,
    });
    expect(() => kernel.reduceWith!(p)(kernel.identity(), { groups: { x: { n: 1 } }, records: 1, skipped: 0 })).toThrow(/lacks metric "s"/);
    expect(() => kernel.reduce(kernel.identity(), a)).toThrow(/reduceWith/);
  });

  it("names an output that fits the schema but not the job's metrics, and a merge of one changes nothing", () => {
    const p: RecordsParams = { format: "jsonl", metrics: { n: { count: true }, s: { sum: "p" } } };
    const right = { groups: { x: { n: 1, s: 5 } }, records: 1, skipped: 0 };
    expect(kernel.outputProblem!(right, p)).toBeUndefined();
    expect(kernel.outputProblem!({ groups: {}, records: 0, skipped: 0 }, p)).toBeUndefined();
    expect(kernel.outputProblem!({ ...right, groups: { x: { n: 1, s: 5 }, y: { n: 1 } } }, p)).toBe('group "y" lacks metric "s"');
    expect(kernel.outputProblem!({ ...right, groups: { x: { n: 1, s: 5, t: 2 } } }, p)).toMatch(/group "x" has metrics the job does not name/);
    const acc = { groups: { x: { n: 1, s: 5 } }, records: 1, skipped: 0 };
    const lacking = { groups: { y: { n: 2, s: 1 }, z: { n: 1 } }, records: 3, skipped: 1 };
    expect(() => mergeRecords(p)(acc, lacking as RecordsOutput)).toThrow(MergeConflict);
    expect(acc).toEqual({ groups: { x: { n: 1, s: 5 } }, records: 1, skipped: 0 });
  });
});
