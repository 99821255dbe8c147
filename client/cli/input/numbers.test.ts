import { describe, expect, it } from "vitest";
import { UsageError } from "../exit.ts";
import { jsonObject, parseDuration, wholeNumber } from "./numbers.ts";

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
