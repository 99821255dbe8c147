import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordChunks } from "../../examples/ecommerce/aggregate-direct.ts";

// The example's two commands run as a user runs them: `node examples/ecommerce/<script>.ts ...`.
const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const node = (script: string, ...args: string[]) =>
  run(process.execPath, [join(root, "examples/ecommerce", script), ...args], { cwd: root, maxBuffer: 64 << 20 });

const FIELDS = ["order_id", "timestamp", "month", "customer", "country", "category", "product", "price_cents", "quantity", "status", "note"];
type Order = Record<string, string | number>;

let dir: string;
const file = (name: string) => join(dir, name);
const generate = (out: string, ...args: string[]) => node("generate.ts", "--out", file(out), ...args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "colmeia-ecommerce-"));
  await Promise.all([
    generate("a.jsonl", "--records", "20000", "--seed", "42"),
    generate("b.jsonl", "--records", "20000", "--seed", "42"),
    generate("c.jsonl", "--records", "20000", "--seed", "7"),
    generate("a.csv", "--records", "20000", "--seed", "42", "--format", "csv"),
  ]);
});

afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const jsonl = (name: string): Order[] =>
  readFileSync(file(name), "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Order);

/** A tiny RFC 4180 reader, written apart from the example's own: rows of fields. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), (field = "");
    else if (c === "\n") row.push(field), rows.push(row), (row = []), (field = "");
    else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

describe("examples/ecommerce/generate.ts", () => {
  it("writes the same orders for the same seed, and other orders for another seed", () => {
    const a = readFileSync(file("a.jsonl"));
    expect(a.equals(readFileSync(file("b.jsonl")))).toBe(true);
    expect(a.equals(readFileSync(file("c.jsonl")))).toBe(false);
    expect(jsonl("a.jsonl")).toHaveLength(20_000);
  });

  it("gives every order well-formed fields with uneven, realistic spreads", () => {
    const orders = jsonl("a.jsonl");
    const tally = (field: string) => {
      const counts = new Map<unknown, number>();
      for (const o of orders) counts.set(o[field], (counts.get(o[field]) ?? 0) + 1);
      return [...counts.values()].sort((x, y) => y - x);
    };
    orders.forEach((o, i) => {
      expect(Object.keys(o)).toEqual(FIELDS);
      expect(o.order_id).toBe(`o-${String(i + 1).padStart(9, "0")}`);
      expect(o.customer).toMatch(/^c-\d{5}$/);
      expect(o.timestamp).toMatch(/^2025-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(new Date(o.timestamp!).toISOString().replace(".000Z", "Z")).toBe(o.timestamp);
      expect(o.month).toBe(String(o.timestamp).slice(0, 7));
      expect(o.country).toMatch(/^[A-Z]{2}$/);
      expect(Number.isInteger(o.price_cents) && (o.price_cents as number) > 0).toBe(true);
      expect([1, 2, 3, 4, 5]).toContain(o.quantity);
      expect(["paid", "refunded", "cancelled", "pending"]).toContain(o.status);
      expect(typeof o.note).toBe("string");
    });
    const categories = tally("category");
    expect(categories.length).toBeGreaterThanOrEqual(10);
    expect(categories[0]! / categories.at(-1)!).toBeGreaterThan(5); // popular and niche categories
    const statuses = tally("status");
    expect(statuses[0]! / orders.length).toBeGreaterThan(0.8); // mostly paid
    expect(tally("quantity")[0]! / orders.length).toBeGreaterThan(0.5); // mostly one item
    const customers = tally("customer");
    expect(customers[0]!).toBeGreaterThan(100 * (orders.length / customers.length)); // a few order a lot
    expect(new Set(orders.map((o) => o.month)).size).toBe(12);
  });

  it("writes CSV (RFC 4180, header first) holding exactly the orders of the JSON Lines", () => {
    const text = readFileSync(file("a.csv"), "utf8");
    expect(text.split("\n", 1)[0]).toBe(FIELDS.join(","));
    expect(text).toContain('"Mug, ceramic"'); // a comma inside a quoted field
    expect(text).toContain('"Leave at the ""back door"""'); // quotes doubled
    expect(text).toMatch(/"[^"\n]*\n[^"]*"/); // a line break inside a quoted field

    const [header, ...rows] = readCsv(text);
    expect(header).toEqual(FIELDS);
    const orders = jsonl("a.jsonl");
    expect(rows).toHaveLength(orders.length);
    rows.forEach((row, i) => expect(row).toEqual(FIELDS.map((f) => String(orders[i]![f]))));
  });

  it("stops before --bytes would be passed", async () => {
    await generate("sized.csv", "--bytes", "300kB", "--format", "csv", "--seed", "3");
    const size = statSync(file("sized.csv")).size;
    expect(size).toBeLessThanOrEqual(300_000);
    expect(size).toBeGreaterThan(300_000 - 400); // no room left for one more order
  });
});

describe("examples/ecommerce/aggregate-direct.ts", () => {
  /** Paid orders' count, revenue and largest price per value of `field`, by the plainest loop. */
  function expected(field: string) {
    const groups: Record<string, { orders: number; revenue: number; largest: number }> = {};
    const orders = jsonl("a.jsonl");
    for (const o of orders) {
      if (o.status !== "paid") continue;
      const g = (groups[o[field] as string] ??= { orders: 0, revenue: 0, largest: 0 });
      g.orders++;
      g.revenue += o.price_cents as number;
      g.largest = Math.max(g.largest, o.price_cents as number);
    }
    return { groups, records: orders.length, skipped: 0 };
  }

  it.each([
    ["revenue-by-category.json", "category", "a.jsonl"],
    ["revenue-by-month.json", "month", "a.jsonl"],
    ["revenue-by-category.csv.json", "category", "a.csv"],
    ["revenue-by-month.csv.json", "month", "a.csv"],
  ])("computes %s over %s exactly", async (params, field, data) => {
    const { stdout } = await node("aggregate-direct.ts", file(data), "--params", join(root, "examples/ecommerce", params));
    expect(JSON.parse(stdout)).toEqual(expected(field));
  });

  it("reads the file in pieces that never cut a record, quoted line breaks included", async () => {
    const text = readFileSync(file("a.csv"), "utf8");
    const pieces: string[] = [];
    for await (const piece of recordChunks(file("a.csv"), true, 4096)) pieces.push(piece);
    expect(pieces.join("")).toBe(text);
    expect(pieces.length).toBeGreaterThan(100);
    // Each piece reads as whole records: its quotes balance and it ends with a line break.
    for (const piece of pieces) expect([(piece.match(/"/g) ?? []).length % 2, piece.at(-1)]).toEqual([0, "\n"]);
  });

  it("keeps line breaks and commas inside quotes, and counts a record that does not parse as skipped", async () => {
    const csv = `name,amount\n"a\nb",5\nbroken,"x"y\n"c, d",7\n`;
    writeFileSync(file("tiny.csv"), csv);
    const params = JSON.stringify({ format: "csv", groupBy: ["name"], metrics: { n: { count: true }, total: { sum: "amount" } } });
    const { stdout } = await node("aggregate-direct.ts", file("tiny.csv"), "--params", params);
    expect(JSON.parse(stdout)).toEqual({ groups: { "a\nb": { n: 1, total: 5 }, "c, d": { n: 1, total: 7 } }, records: 3, skipped: 1 });
  });

  it("says whether a grid result matches, and exits 1 when it does not", async () => {
    const params = join(root, "examples/ecommerce/revenue-by-category.json");
    const right = { id: "j_x", result: expected("category") };
    writeFileSync(file("right.json"), JSON.stringify(right));
    const ok = await node("aggregate-direct.ts", file("a.jsonl"), "--params", params, "--check", file("right.json"));
    expect(ok.stderr).toMatch(/Same as the grid's result: 12 groups, 20,000 records/);

    right.result.groups.Books!.revenue += 1;
    writeFileSync(file("wrong.json"), JSON.stringify(right));
    const failed = await node("aggregate-direct.ts", file("a.jsonl"), "--params", params, "--check", file("wrong.json")).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect("code" in failed && failed.code).toBe(1);
    expect(failed.stderr).toMatch(/group "Books": here .*"revenue"/);
  });
});
