import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ReputationOutbox } from "../../coordinator/job/reputation-outbox.ts";
import { JobStore } from "../../coordinator/job/store.ts";
import type { Observation } from "../../coordinator/objects/volunteer-object.ts";
import { jobObject, storedRows } from "./helpers.ts";

// A job's reputation observations as stored: storage is the behaviour (none may be lost to an
// eviction or a failed call). Runs over the storage of an object that holds no job, so no alarm
// of its own flushes them meanwhile.

function withOutbox<T>(name: string, step: (outbox: ReputationOutbox) => Promise<T>): Promise<T> {
  return runInDurableObject(jobObject(name), async (_o: unknown, state: DurableObjectState) => {
    const store = new JobStore(state.storage.sql);
    store.init();
    return step(new ReputationOutbox(() => store.outboxes));
  });
}

describe("a job's reputation outbox", () => {
  it("sends a bounded number at once, deletes what the records took and keeps failures, counting nothing twice", async () => {
    const name = `rep-outbox-${crypto.randomUUID()}`;
    const volunteers = Array.from({ length: 20 }, (_, i) => `v${String(i).padStart(2, "0")}`);
    const failing = new Set(["v03", "v11"]);
    const result = await withOutbox(name, async (outbox) => {
      outbox.agreed(volunteers, false);
      let inFlight = 0;
      let most = 0;
      const sent: string[] = [];
      await outbox.flush(async (volunteer: string, o: Observation) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        if (failing.has(volunteer)) throw new Error("record unreachable");
        // Agreed again while its first observation was on the way: only the new agreement is left to send.
        if (volunteer === "v15") outbox.agreed([volunteer], false);
        sent.push(`${volunteer}:${o.agreed}`);
      });
      return { most, sent };
    });
    expect(result.sent).toHaveLength(18);
    expect(result.most).toBeGreaterThan(1);
    expect(result.most).toBeLessThanOrEqual(8);
    const left = await storedRows<{ volunteer: string; obs: string }>(name, "rep_outbox");
    expect(left.map((r) => [r.volunteer, JSON.parse(r.obs)]).sort()).toEqual([
      ["v03", { agreed: 1 }],
      ["v11", { agreed: 1 }],
      ["v15", { agreed: 1 }],
    ]);
    // The next flush (after an eviction: a fresh outbox over the same storage) sends exactly those:
    // v15 agreed twice in all, and its record hears of two agreements, not three.
    const again = await flushAll(name);
    expect(again).toEqual(["v03:1", "v11:1", "v15:1"]);
    expect(await storedRows(name, "rep_outbox")).toEqual([]);
  });

  it("resends a failed observation before anything newer under its key", async () => {
    const name = `rep-outbox-${crypto.randomUUID()}`;
    await withOutbox(name, async (outbox) => {
      outbox.agreed(["a"], false);
      await outbox.flush(() => Promise.reject(new Error("record unreachable")));
      // Outvoted after the agreement the record has not taken yet: the reset must arrive after it.
      outbox.outvoted(["a"], false);
    });
    expect(await flushAll(name)).toEqual(["a:1"]);
    expect(await flushAll(name)).toEqual(["a:outvoted=1"]);
    expect(await flushAll(name)).toEqual([]);
  });
});

describe("whether a job's reputation outbox has anything to send (read on every call, to set the alarm)", () => {
  it("follows every write, take and deletion, from memory where it knows", async () => {
    const name = `rep-outbox-${crypto.randomUUID()}`;
    const seen = await withOutbox(name, async (outbox) => {
      const states = [outbox.pending];
      outbox.agreed(["a"], false);
      states.push(outbox.pending);
      await outbox.flush(() => Promise.reject(new Error("record unreachable")));
      // Failed: still in flight, still to send.
      states.push(outbox.pending);
      await outbox.flush(async () => {});
      // Sent and deleted: nothing left.
      states.push(outbox.pending);
      await outbox.flush(async () => {});
      states.push(outbox.pending);
      // A take that found nothing must not hide what comes after it.
      outbox.agreed(["b"], false);
      states.push(outbox.pending);
      return states;
    });
    expect(seen).toEqual([false, true, true, false, false, true]);
    // A fresh instance over the same storage (after a reset) reads it there.
    expect(await withOutbox(name, async (outbox) => outbox.pending)).toBe(true);
    expect(await flushAll(name)).toEqual(["b:1"]);
    expect(await withOutbox(name, async (outbox) => outbox.pending)).toBe(false);
  });
});

/** One flush over the storage of `name`; what it sent, sorted. */
function flushAll(name: string): Promise<string[]> {
  return withOutbox(name, async (outbox) => {
    const sent: string[] = [];
    await outbox.flush(async (volunteer, o) => void sent.push(o.outvoted ? `${volunteer}:outvoted=${o.outvoted}` : `${volunteer}:${o.agreed}`));
    return sent.sort();
  });
}
