import { describe, expect, it } from "vitest";
import { prefetchFor } from "./prefetch.ts";

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
