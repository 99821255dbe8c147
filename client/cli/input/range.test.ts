import { describe, expect, it } from "vitest";
import { UsageError } from "../exit.ts";
import { parseRange, rangeShards } from "./range.ts";

describe("parseRange", () => {
  it("reads start:end:step with _ separators and exponents", () => {
    expect(parseRange("0:1_000_000:1e4")).toEqual({ start: 0, end: 1_000_000, step: 10_000 });
  });
  it.each(["", "1:2", "a:b:c", "5:1:1", "0:10:0", "-1:10:1", "0:1.5:1", "0:10:1:2", `0:${2 ** 54}:1`])("rejects %j with a usage error", (text) =>
    expect(() => parseRange(text)).toThrow(UsageError),
  );
  it("counts shards the way the coordinator does", () => {
    expect(rangeShards({ start: 0, end: 1_000_000, step: 10_000 })).toBe(100);
    expect(rangeShards({ start: 0, end: 10, step: 3 })).toBe(4);
  });
});
