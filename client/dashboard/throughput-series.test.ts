import { describe, expect, it } from "vitest";
import { BUCKET_MS, throughputSeries, WINDOW_BUCKETS } from "./throughput-series.ts";

describe("throughputSeries", () => {
  const at = 1_000_000_004_000; // 4 s into a bucket
  const current = at - 4000;

  it("spans 15 minutes of 10-second steps ending with the current one, idle steps at zero", () => {
    const [xs, ys] = throughputSeries({ at, history: [] });
    expect(xs).toHaveLength(WINDOW_BUCKETS);
    expect(xs.at(-1)).toBe(current / 1000);
    expect(xs[1]! - xs[0]!).toBe(BUCKET_MS / 1000);
    expect(ys.every((y) => y === 0)).toBe(true);
  });

  it("turns full buckets into shards per second and rates the filling one by its elapsed seconds", () => {
    const history = [
      { t: current - 2 * BUCKET_MS, shards: 50 },
      { t: current, shards: 8 },
      { t: current - 200 * BUCKET_MS, shards: 999 }, // older than the window: left out
    ];
    const [, ys] = throughputSeries({ at, history });
    expect(ys.slice(-3)).toEqual([5, 0, 2]);
    expect(ys.reduce((a, b) => a + b, 0)).toBe(7);
  });
});
