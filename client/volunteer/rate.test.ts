import { describe, expect, it } from "vitest";
import { createRateMeter } from "./rate.ts";

describe("createRateMeter", () => {
  it("reports events per second over a sliding window", () => {
    const rate = createRateMeter(10_000, () => 0);
    for (let t = 0; t < 10_000; t += 100) rate.add(1, t);
    expect(rate.perSecond(10_000)).toBeCloseTo(10, 0);
    expect(rate.perSecond(25_000)).toBe(0);
  });

  it("counts a running total's increases, from the first total on", () => {
    const rate = createRateMeter(10_000, () => 0);
    rate.addTotal(5_000, 0); // resumed at 5,000: not part of the rate
    rate.addTotal(6_000, 1_000);
    rate.addTotal(9_000, 2_000);
    expect(rate.perSecond(2_000)).toBe(2_000);
  });
});
