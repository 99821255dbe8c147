import { describe, expect, it } from "vitest";
import { UsageError } from "./exit.ts";
import { jsonObject, parseDuration, wholeNumber } from "./input/numbers.ts";
import { packShards } from "./input/pack-jobs.ts";
import { parseRange, rangeShards } from "./input/range.ts";
import { parseSize } from "./input/size.ts";

describe("parseRange", () => {
  it("reads start:end:step with _ separators and exponents", () => {
    expect(parseRange("0:1_000_000:1e4")).toEqual({ start: 0, end: 1_000_000, step: 10_000 });
  });
  it.each(["", "1:2", "a:b:c", "5:1:1", "0:10:0", "-1:10:1", "0:1.5:1", "0:10:1:2", `0:${2 ** 54}:1`])(
    "rejects %j with a usage error",
    (text) => expect(() => parseRange(text)).toThrow(UsageError),
  );
  it("counts shards the way the coordinator does", () => {
    expect(rangeShards({ start: 0, end: 1_000_000, step: 10_000 })).toBe(100);
    expect(rangeShards({ start: 0, end: 10, step: 3 })).toBe(4);
  });
});

describe("parseSize", () => {
  it("reads binary and decimal units", () => {
    expect(parseSize("64KiB")).toBe(65_536);
    expect(parseSize("64k")).toBe(65_536);
    expect(parseSize("500kB")).toBe(500_000);
    expect(parseSize("1.5MiB")).toBe(1_572_864);
    expect(parseSize("4096")).toBe(4096);
  });
  it.each(["", "KiB", "12 parsecs", "-1KiB", "0"])("rejects %j", (text) => expect(() => parseSize(text)).toThrow(UsageError));
});

describe("numbers, durations and JSON flags", () => {
  it("reads whole numbers and rejects the rest", () => {
    expect(wholeNumber("--replicas", "3")).toBe(3);
    expect(() => wholeNumber("--replicas", "0")).toThrow(/--replicas must be a whole number >= 1/);
    expect(() => wholeNumber("--threads", "two")).toThrow(UsageError);
  });
  it("reads durations with units, bare numbers as ms", () => {
    expect(parseDuration("--lease-ttl", "90s")).toBe(90_000);
    expect(parseDuration("--lease-ttl", "2m")).toBe(120_000);
    expect(parseDuration("--lease-ttl", "1500")).toBe(1500);
    expect(() => parseDuration("--lease-ttl", "soon")).toThrow(UsageError);
  });
  it("takes only JSON objects as --params", () => {
    expect(jsonObject("--params", '{"n":3}')).toEqual({ n: 3 });
    expect(() => jsonObject("--params", "[1]")).toThrow(/JSON object/);
    expect(() => jsonObject("--params", "{")).toThrow(/must be JSON/);
  });
});

describe("packShards", () => {
  it("keeps everything in one job when it fits", () => {
    expect(packShards([10, 10, 10], { bodyBytes: 100, shards: 10 })).toEqual([[0, 3]]);
  });
  it("starts a new job when the body would pass the byte limit, counting brackets and commas", () => {
    // [a,b] = 2 + 10 + 1 + 10 = 23 bytes fits 23; a third shard would not.
    expect(packShards([10, 10, 10], { bodyBytes: 23, shards: 10 })).toEqual([[0, 2], [2, 3]]);
  });
  it("starts a new job at the shard count limit", () => {
    expect(packShards([1, 1, 1, 1, 1], { bodyBytes: 1000, shards: 2 })).toEqual([[0, 2], [2, 4], [4, 5]]);
  });
});
