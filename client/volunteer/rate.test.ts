import { describe, expect, it } from "vitest";
import { createRateMeter } from "./rate.ts";

describe("createRateMeter", () => {
  it("reports events per second over a sliding window", () => {
    const rate = createRateMeter(10_000, () => 0);
    for (let t = 0; t < 10_000; t += 100) rate.add(1, t);
    expect(rate.perSecond(10_000)).toBeCloseTo(10, 0);
    expect(rate.perSecond(25_000)).toBe(0);
  });
});
