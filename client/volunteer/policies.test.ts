import { describe, expect, it } from "vitest";
import { createBackoff } from "./backoff.ts";
import { prefetchFor } from "./prefetch.ts";
import { createRateMeter } from "./rate.ts";

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

describe("createRateMeter", () => {
  it("reports events per second over a sliding window", () => {
    const rate = createRateMeter(10_000, () => 0);
    for (let t = 0; t < 10_000; t += 100) rate.add(1, t);
    expect(rate.perSecond(10_000)).toBeCloseTo(10, 0);
    expect(rate.perSecond(25_000)).toBe(0);
  });
});

describe("prefetchFor", () => {
  it("queues none of slow shards, so none waits here while another volunteer could run it", () => {
    expect(prefetchFor({ threads: 4, meanShardMs: 5000, leaseRttMs: 50, dutyCycle: 1 })).toBe(0);
  });

  it("queues enough quick shards to cover two lease round trips, within the per-call limit", () => {
    expect(prefetchFor({ threads: 1, meanShardMs: 20, leaseRttMs: 200, dutyCycle: 1 })).toBe(20);
    expect(prefetchFor({ threads: 1, meanShardMs: 20, leaseRttMs: 200, dutyCycle: 0.1 })).toBe(4);
    expect(prefetchFor({ threads: 8, meanShardMs: 1, leaseRttMs: 500, dutyCycle: 1 })).toBe(56);
    expect(prefetchFor({ threads: 3, dutyCycle: 1 })).toBe(6);
  });
});
