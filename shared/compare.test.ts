import { describe, expect, it } from "vitest";
import { agree } from "./compare.ts";

describe("agree without a tolerance", () => {
  it("agrees on equal values whatever their key order", () => {
    expect(agree({ a: 1, b: { c: [1, 2], d: "x" } }, { b: { d: "x", c: [1, 2] }, a: 1 })).toBe(true);
  });

  it("disagrees on any difference, however small", () => {
    expect(agree({ a: 0.1 + 0.2 }, { a: 0.3 })).toBe(false);
    expect(agree([1, 2], [2, 1])).toBe(false);
    expect(agree({ a: 1 }, { a: 1, b: 1 })).toBe(false);
    expect(agree("1", 1)).toBe(false);
  });

  it("treats 0 and -0 alike, as JSON does", () => {
    expect(agree(0, -0)).toBe(true);
  });
});

describe("agree with a tolerance", () => {
  it("accepts numbers within the absolute tolerance and refuses those beyond", () => {
    expect(agree({ x: 1.0 }, { x: 1.0 + 5e-7 }, { absTol: 1e-6 })).toBe(true);
    expect(agree({ x: 1.0 }, { x: 1.0 + 2e-6 }, { absTol: 1e-6 })).toBe(false);
  });

  it("scales the relative tolerance by the larger magnitude", () => {
    expect(agree(1e9, 1e9 + 0.5, { relTol: 1e-9 })).toBe(true);
    expect(agree(1e9, 1e9 + 2, { relTol: 1e-9 })).toBe(false);
    expect(agree(-100, -101, { relTol: 0.01 })).toBe(true);
    expect(agree(1e-12, 0, { relTol: 1e-9 })).toBe(false);
  });

  it("takes the looser of the two tolerances", () => {
    expect(agree(1e-12, 0, { absTol: 1e-9, relTol: 1e-9 })).toBe(true);
    expect(agree(1e6, 1e6 + 0.5, { absTol: 1e-9, relTol: 1e-6 })).toBe(true);
  });

  it("agrees on equal values with zero tolerances, and on 0 and -0", () => {
    expect(agree({ a: [1.5, 2] }, { a: [1.5, 2] }, {})).toBe(true);
    expect(agree({ a: [1.5, 2] }, { a: [1.5, 2.0000001] }, {})).toBe(false);
    expect(agree(0, -0, {})).toBe(true);
  });

  it("compares nested arrays element by element and ignores key order", () => {
    const a = {
      grid: [
        [1, 2],
        [3, [4.0000001]],
      ],
      meta: { label: "x", ok: true, none: null },
    };
    const b = {
      meta: { none: null, ok: true, label: "x" },
      grid: [
        [1, 2],
        [3, [4]],
      ],
    };
    expect(agree(a, b, { absTol: 1e-6 })).toBe(true);
  });

  it("requires the same shape: keys, lengths and types", () => {
    const tol = { absTol: 1 };
    expect(agree({ a: 1 }, { a: 1, b: 1 }, tol)).toBe(false);
    expect(agree({ a: 1, c: 1 }, { a: 1, b: 1 }, tol)).toBe(false);
    expect(agree([1, 2], [1, 2, 3], tol)).toBe(false);
    expect(agree([[1]], [[1, 1]], tol)).toBe(false);
    expect(agree({ a: 1 }, { a: "1" }, tol)).toBe(false);
    expect(agree({ a: [] }, { a: {} }, tol)).toBe(false);
    expect(agree({ a: null }, { a: 0 }, tol)).toBe(false);
    expect(agree(null, {}, tol)).toBe(false);
  });

  it("compares strings, booleans and null exactly", () => {
    const tol = { absTol: 1, relTol: 1 };
    expect(agree({ s: "a", b: true, n: null }, { s: "a", b: true, n: null }, tol)).toBe(true);
    expect(agree({ s: "a" }, { s: "A" }, tol)).toBe(false);
    expect(agree({ b: true }, { b: false }, tol)).toBe(false);
  });

  it("treats __proto__ and constructor as ordinary keys", () => {
    const a = JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}');
    expect(agree(a, JSON.parse('{"constructor": 2, "__proto__": {"x": 1.01}}'), { absTol: 0.1 })).toBe(true);
    expect(agree(a, { constructor: 2 }, { absTol: 0.1 })).toBe(false);
    expect(agree({ constructor: 2 }, JSON.parse('{"__proto__": 2}'), { absTol: 0.1 })).toBe(false);
  });

  it("handles outputs nested deeper than the call stack", () => {
    const deep = (leaf: number) => JSON.parse("[".repeat(100_000) + leaf + "]".repeat(100_000));
    expect(agree(deep(1), deep(1.05), { absTol: 0.1 })).toBe(true);
    expect(agree(deep(1), deep(2), { absTol: 0.1 })).toBe(false);
  });
});
