import { afterEach, describe, expect, it, vi } from "vitest";
import type { Stats } from "../../shared/schemas.ts";
import { followStats, type Liveness } from "./stats-feed.ts";

/** The EventSource followStats opens, driven by the test. */
class FakeEventSource extends EventTarget {
  static readonly CLOSED = 2;
  static last: FakeEventSource | undefined;
  readyState = 1;
  readonly url: string;
  constructor(url: string) {
    super();
    this.url = url;
    FakeEventSource.last = this;
  }
  send(data: string): void {
    this.dispatchEvent(new MessageEvent("stats", { data }));
  }
  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }
}

const stats: Stats = {
  volunteersActive: 2,
  volunteersRegistered: 5,
  jobsRunning: 1,
  jobsTotal: 3,
  shardsCompleted: 40,
  shardsFailed: 0,
  resultsAccepted: 44,
  throughput: { shardsPerSecond: 1.5, windowSeconds: 60 },
  history: [{ t: 1_000_000_000_000, shards: 4 }],
  topContributors: [{ volunteer: "v_1", credit: 12, results: 4 }],
  at: 1_000_000_004_000,
};

afterEach(() => vi.unstubAllGlobals());

describe("followStats", () => {
  it("skips stats events it cannot read, without throwing, and shows the ones it can", () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    const shown: Stats[] = [];
    const liveness: Liveness[] = [];
    const stop = followStats({ onStats: (s) => shown.push(s), onLiveness: (l) => liveness.push(l) }, "/v1/stats/events");
    const source = FakeEventSource.last!;
    for (const bad of [
      "not json",
      "null",
      JSON.stringify({ volunteersActive: 2 }),
      JSON.stringify({ ...stats, throughput: { shardsPerSecond: "fast", windowSeconds: 60 } }),
      JSON.stringify({ ...stats, history: [{ t: 1 }] }),
      JSON.stringify({ ...stats, topContributors: [{ volunteer: 7, credit: 1, results: 1 }] }),
    ]) {
      expect(() => source.send(bad)).not.toThrow();
    }
    expect(shown).toEqual([]);
    expect(liveness).toEqual(["connecting"]);

    source.send(JSON.stringify({ ...stats, newFigure: 1 }));
    expect(shown).toEqual([{ ...stats, newFigure: 1 }]);
    expect(liveness).toEqual(["connecting", "live"]);
    stop();
    expect(source.readyState).toBe(FakeEventSource.CLOSED);
  });
});
