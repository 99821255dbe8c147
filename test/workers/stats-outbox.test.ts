import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { StatsOutbox, type StatsDelta } from "../../coordinator/job/stats-outbox.ts";
import { JobStore } from "../../coordinator/job/store.ts";
import { jobObject, storedRows } from "./helpers.ts";

// A job's grid statistics as stored: storage is the behaviour (nothing counted may be lost to an
// eviction or a failed report). Each step below opens the storage of an object that holds no job
// (so no alarm of its own touches it) with a fresh JobStore and StatsOutbox: the object as it is
// after an eviction, with nothing in memory but what the previous step wrote.

type Row = { k: string; volunteer: string; credit: number };
const byVolunteer = (rows: Row[]) => [...rows].sort((a, b) => (a.volunteer < b.volunteer ? -1 : 1));

/** Runs `step` with a fresh outbox over the storage of object `name`. */
function afterEviction<T>(name: string, step: (outbox: StatsOutbox, store: JobStore) => Promise<T>): Promise<T> {
  return runInDurableObject(jobObject(name), async (_o: unknown, state: DurableObjectState) => {
    const store = new JobStore(state.storage.sql);
    store.init();
    return step(new StatsOutbox(() => store), store);
  });
}

/** One flush with `report`; what it was handed. */
const flushWith = (name: string, report: (d: StatsDelta) => Promise<void>) =>
  afterEviction(name, async (outbox) => {
    const handed: StatsDelta[] = [];
    await outbox.flush({ report: async (d) => (handed.push(structuredClone(d)), report(d)) }, "now");
    return handed;
  });

/** Two volunteers credited, a twice and b once, in three steps. */
async function counted(): Promise<string> {
  const name = `stats-outbox-${crypto.randomUUID()}`;
  await afterEviction(name, async (outbox) => {
    for (const agreeing of [["a"], ["a", "b"]]) {
      outbox.result();
      outbox.accepted(agreeing);
      await Promise.resolve(); // the step ends: its counts are written
    }
  });
  return name;
}

describe("a job's statistics outbox", () => {
  it("stores credit as one row per volunteer, and hands it all to the grid after an eviction", async () => {
    const name = await counted();
    const counts = await storedRows<{ k: string; delta: string }>(name, "stats_outbox");
    expect(counts.map((r) => r.k)).toEqual(["pending"]);
    // Counts in one small row, credit per volunteer: a step writes only the volunteers it credited.
    expect(JSON.parse(counts[0]!.delta)).toMatchObject({ shardsCompleted: 2, resultsAccepted: 2, credit: {} });
    expect(byVolunteer(await storedRows<Row>(name, "stats_credit"))).toEqual([
      { k: "pending", volunteer: "a", credit: 2 },
      { k: "pending", volunteer: "b", credit: 1 },
    ]);
    expect(await flushWith(name, async () => {})).toEqual([expect.objectContaining({ shardsCompleted: 2, resultsAccepted: 2, credit: { a: 2, b: 1 } })]);
    expect(await storedRows(name, "stats_outbox")).toEqual([]);
    expect(await storedRows(name, "stats_credit")).toEqual([]);
  });

  it("keeps a batch whose report failed, credit and all, and merges an in-flight batch of the format before credit rows", async () => {
    const name = await counted();
    expect(await flushWith(name, () => Promise.reject(new Error("grid unavailable")))).toHaveLength(1);
    expect((await storedRows<{ k: string }>(name, "stats_outbox")).map((r) => r.k)).toEqual(["pending"]);
    expect(byVolunteer(await storedRows<Row>(name, "stats_credit"))).toEqual([
      { k: "pending", volunteer: "a", credit: 2 },
      { k: "pending", volunteer: "b", credit: 1 },
    ]);
    // Credit inside the batch's JSON, as a version before this one stored it.
    const legacy = { shardsCompleted: 1, shardsFailed: 0, resultsAccepted: 1, credit: { a: 5 }, seen: [] };
    await afterEviction(name, async (_outbox, store) => store.outboxes.putStats("inflight", JSON.stringify(legacy)));
    expect(await flushWith(name, async () => {})).toEqual([expect.objectContaining({ shardsCompleted: 3, resultsAccepted: 3, credit: { a: 7, b: 1 } })]);
    expect(await storedRows(name, "stats_outbox")).toEqual([]);
    expect(await storedRows(name, "stats_credit")).toEqual([]);
  });
});
