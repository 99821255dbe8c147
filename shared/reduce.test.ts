import { describe, expect, it } from "vitest";
import { MergeConflict, reduceFinal, reduceIdentity, reduceProblem, reduceStep } from "./reduce.ts";
import type { ReduceSpec } from "./schemas.ts";

/** Folds outputs in the given order (indexes are positions in `outputs`), checkpointing through JSON after each step. */
function fold(spec: ReduceSpec, outputs: unknown[], order = outputs.map((_, i) => i)): unknown {
  let acc = reduceIdentity(spec);
  for (const i of order) acc = JSON.parse(JSON.stringify(reduceStep(spec, acc, structuredClone(outputs[i]), i)));
  return reduceFinal(spec, acc, outputs.length);
}

const orders = [
  [0, 1, 2, 3],
  [3, 2, 1, 0],
  [2, 0, 3, 1],
];

describe("reduce sum, min and max", () => {
  const outputs = [
    { counts: { a: 1, b: 2 }, total: 3 },
    { counts: { b: 5, c: -1 }, total: 4, extra: { deep: { x: 0.5 } } },
    { counts: {}, total: 0.25 },
    { counts: { a: 10 }, total: -7 },
  ];

  it("sums every number key by key, a missing key taking the other side's value", () => {
    expect(fold("sum", outputs)).toEqual({ counts: { a: 11, b: 7, c: -1 }, total: 0.25, extra: { deep: { x: 0.5 } } });
  });

  it("takes minimums and maximums key by key", () => {
    expect(fold("min", outputs)).toEqual({ counts: { a: 1, b: 2, c: -1 }, total: -7, extra: { deep: { x: 0.5 } } });
    expect(fold("max", outputs)).toEqual({ counts: { a: 10, b: 5, c: -1 }, total: 4, extra: { deep: { x: 0.5 } } });
  });

  it("gives the same result whatever order shards are accepted in", () => {
    for (const op of ["sum", "min", "max", { counts: "sum", total: "max", extra: "min" }] as ReduceSpec[]) {
      const results = orders.map((order) => fold(op, outputs, order));
      for (const r of results) expect(r).toEqual(results[0]);
    }
  });

  it("merges plain number outputs", () => {
    expect(fold("sum", [1, 2, 3.5])).toBe(6.5);
    expect(fold("max", [1, 9, 3])).toBe(9);
    expect(fold("min", [1, -9, 3])).toBe(-9);
  });

  it("sums integers exactly up to 2^53", () => {
    expect(fold("sum", [2 ** 52, 2 ** 52 - 1, 0])).toBe(2 ** 53 - 1);
    expect(
      fold(
        "sum",
        Array.from({ length: 1000 }, () => 123_456_789_012),
      ),
    ).toBe(123_456_789_012_000);
  });

  it("serves null for no shards under one op, and an empty object for per-field ops", () => {
    expect(reduceFinal("sum", reduceIdentity("sum"))).toBeNull();
    expect(reduceFinal({ a: "sum" }, reduceIdentity({ a: "sum" }))).toEqual({});
  });

  it("does not share objects with the outputs it folded in", () => {
    const first = { a: { b: 1 } };
    const acc = reduceStep("sum", reduceIdentity("sum"), first, 0);
    reduceStep("sum", acc, { a: { b: 2 } }, 1);
    expect(first).toEqual({ a: { b: 1 } });
  });
});

describe("reduce by field", () => {
  it("applies the op named for each top-level field, and fields may be missing", () => {
    const spec: ReduceSpec = { counts: "sum", peak: "max", low: "min" };
    expect(
      fold(spec, [
        { counts: { x: 1 }, peak: 3 },
        { counts: { x: 2, y: 1 }, low: 4 },
        { peak: 7, low: 2 },
      ]),
    ).toEqual({
      counts: { x: 3, y: 1 },
      peak: 7,
      low: 2,
    });
  });

  it("names a field the spec does not cover, and a non-object output", () => {
    expect(reduceProblem({ counts: "sum" }, { counts: {}, other: 1 })).toBe("other: no reduce is named for this field");
    expect(reduceProblem({ counts: "sum" }, 5)).toMatch(/^output: a number cannot be merged field by field/);
    expect(reduceProblem({ counts: "sum" }, [1])).toMatch(/^output: an array/);
  });
});

describe("reduceProblem", () => {
  it("names the path of a value sum, min or max cannot merge", () => {
    expect(reduceProblem({ counts: "sum" }, { counts: { a: "x" } })).toBe("counts.a: a string cannot be summed");
    expect(reduceProblem("sum", { a: { b: [1, 2] } })).toBe("a.b: an array cannot be summed");
    expect(reduceProblem("min", { a: true })).toBe("a: a boolean cannot be merged by min");
    expect(reduceProblem("max", { a: null })).toBe("a: null cannot be merged by max");
    expect(reduceProblem("sum", "text")).toBe("output: a string cannot be summed");
    expect(reduceProblem("sum", null)).toBe("output: null cannot be summed");
  });

  it("accepts numbers, nested objects and empty objects", () => {
    expect(reduceProblem("sum", { a: { b: { c: 1 } }, d: -2.5, e: {} })).toBeUndefined();
    expect(reduceProblem("max", 3)).toBeUndefined();
  });

  it("refuses objects nested too deep to merge safely", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = { a: deep };
    expect(reduceProblem("sum", deep)).toMatch(/nested deeper than 64 levels/);
    expect(() => reduceStep("sum", null, deep, 0)).toThrow(MergeConflict);
  });

  it("accepts any JSON under collect", () => {
    for (const v of [null, "x", [1, "a"], { a: [true] }, 3]) expect(reduceProblem("collect", v)).toBeUndefined();
  });
});

describe("reduce conflicts", () => {
  it("throws MergeConflict naming the key where a number meets an object", () => {
    const acc = reduceStep("sum", null, { a: { b: 1 } }, 0);
    expect(() => reduceStep("sum", acc, { a: { b: { c: 2 } } }, 1)).toThrow(MergeConflict);
    expect(() => reduceStep("sum", acc, { a: { b: { c: 2 } } }, 1)).toThrow("a.b: a number in one output, an object in another");
    expect(() => reduceStep("sum", 4, { a: 1 }, 1)).toThrow("output: a number in one output, an object in another");
  });

  it("leaves the accumulator unchanged when an output conflicts", () => {
    const acc = reduceStep("sum", null, { a: 1, z: { y: 1 } }, 0);
    expect(() => reduceStep("sum", acc, { a: 5, b: 2, z: 3 }, 1)).toThrow(MergeConflict);
    expect(acc).toEqual({ a: 1, z: { y: 1 } });
  });

  it("throws MergeConflict for an output reduceProblem refuses", () => {
    expect(() => reduceStep({ a: "sum" }, {}, { b: 1 }, 0)).toThrow("b: no reduce is named for this field");
  });
});

describe("reduce collect", () => {
  it("serves outputs in shard index order whatever order they were accepted in", () => {
    const outputs = [{ n: 0 }, "one", [2], null, 4, { n: 5 }, 6, 7, 8, 9, 10, 11];
    const shuffled = [11, 3, 0, 10, 1, 2, 9, 4, 8, 5, 7, 6];
    expect(fold("collect", outputs, shuffled)).toEqual({ outputs });
  });

  it("lists only collected outputs, in index order", () => {
    let acc = reduceIdentity("collect");
    acc = reduceStep("collect", acc, "c", 7);
    acc = reduceStep("collect", acc, "a", 2);
    expect(reduceFinal("collect", JSON.parse(JSON.stringify(acc)), 10)).toEqual({ outputs: ["a", "c"] });
    expect(reduceFinal("collect", reduceIdentity("collect"))).toEqual({ outputs: [] });
  });

  it("refuses a shard index that is not a non-negative integer", () => {
    expect(() => reduceStep("collect", reduceIdentity("collect"), 1, -1)).toThrow(/non-negative integer/);
    expect(() => reduceStep("collect", reduceIdentity("collect"), 1, 1.5)).toThrow(/non-negative integer/);
  });
});

describe("reduce and prototype keys", () => {
  const hostile = () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": 2}, "toString": 3}');

  it("merges __proto__, constructor and toString as ordinary keys", () => {
    const acc = fold("sum", [hostile(), hostile()]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(acc)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(acc))).toEqual(JSON.parse('{"__proto__": {"polluted": 2}, "constructor": {"prototype": 4}, "toString": 6}'));
    expect(JSON.stringify(acc)).toBe('{"__proto__":{"polluted":2},"constructor":{"prototype":4},"toString":6}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("does not find a field spec for inherited names", () => {
    expect(reduceProblem({ a: "sum" }, { constructor: 1 })).toBe("constructor: no reduce is named for this field");
    expect(reduceProblem({ a: "sum" }, JSON.parse('{"__proto__": 1}'))).toBe("__proto__: no reduce is named for this field");
  });

  it("reduces a field named __proto__ when the spec names it", () => {
    const spec = JSON.parse('{"__proto__": "max"}') as ReduceSpec;
    const result = fold(spec, [JSON.parse('{"__proto__": 1}'), JSON.parse('{"__proto__": 5}')]);
    expect(JSON.stringify(result)).toBe('{"__proto__":5}');
  });

  it("keeps a collected output's own __proto__ key", () => {
    expect(JSON.stringify(fold("collect", [hostile()]))).toBe(`{"outputs":[${JSON.stringify(hostile())}]}`);
  });
});
