import { describe, expect, it } from "vitest";
import { packShards } from "./pack-jobs.ts";

describe("packShards", () => {
  it("keeps everything in one job when it fits", () => {
    expect(packShards([10, 10, 10], { bodyBytes: 100, shards: 10 })).toEqual([[0, 3]]);
  });
  it("starts a new job when the body would pass the byte limit, counting brackets and commas", () => {
    // [a,b] = 2 + 10 + 1 + 10 = 23 bytes fits 23; a third shard would not.
    expect(packShards([10, 10, 10], { bodyBytes: 23, shards: 10 })).toEqual([
      [0, 2],
      [2, 3],
    ]);
  });
  it("starts a new job at the shard count limit", () => {
    expect(packShards([1, 1, 1, 1, 1], { bodyBytes: 1000, shards: 2 })).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
  });
});
