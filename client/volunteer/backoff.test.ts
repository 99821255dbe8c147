import { describe, expect, it } from "vitest";
import { createBackoff } from "./backoff.ts";

describe("createBackoff", () => {
  it("doubles its ceiling each attempt up to the maximum, jittered within [cap/2, cap]", () => {
    const low = createBackoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
    const high = createBackoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 6 }, () => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    expect(Array.from({ length: 6 }, () => Math.round(high.next()))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("spreads delays randomly so volunteers do not retry in lockstep", () => {
    const delays = new Set(Array.from({ length: 20 }, () => createBackoff({ baseMs: 1000 }).next()));
    expect(delays.size).toBeGreaterThan(15);
  });

  it("starts over after a success resets it", () => {
    const b = createBackoff({ baseMs: 100, random: () => 0 });
    b.next();
    b.next();
    expect(b.attempts).toBe(2);
    b.reset();
    expect(b.next()).toBe(50);
  });
});
