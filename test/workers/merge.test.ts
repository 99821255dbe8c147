import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countWords } from "../../shared/kernels/wordcount.ts";
import { createJob, jobMeta, jobObject, lease, result, runVolunteers, status, submitAll, volunteer } from "./helpers.ts";

const PRIMES_BELOW_2M = 148_933;
const primes40 = () => createJob({ kernel: "primes.count", range: { start: 0, end: 2_000_000, step: 50_000 }, replication: { replicas: 2, quorum: 2 } });

/** Texts with many distinct words: a merged result of many keys. */
function texts(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const own = Array.from({ length: 120 }, (_, k) => `w${i}x${k}`).join(" ");
    return `The cat, the DOG; ção Ção ${i % 7 ? "odd" : "seven"} ${own} the`;
  });
}

/** Per-word sums of the texts, as the merged wordcount result must be. */
function expectedCounts(all: string[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const t of all) for (const [w, n] of Object.entries(countWords({ text: t }).counts)) sum[w] = (sum[w] ?? 0) + n;
  return sum;
}

describe("merging results", () => {
  it("counts the 148933 primes below 2,000,000 over 40 shards with 2-of-2 replication", async () => {
    const job = await primes40();
    expect(job.shards.total).toBe(40);
    const final = await runVolunteers(job.id, 4, 6);
    expect(final).toMatchObject({ state: "done", shards: { total: 40, done: 40, failed: 0 } });
    expect(await result(job.id)).toEqual({ count: PRIMES_BELOW_2M });
  });

  it("sums wordcount outputs per word across explicit shards", async () => {
    const all = ["Hello world", "hello, HELLO again", "World 42 ß straße", "", "naïve Naïve 42"];
    const job = await createJob({ kernel: "wordcount", shards: all.map((text) => ({ text })), replication: { replicas: 2, quorum: 2 } });
    expect((await runVolunteers(job.id, 3, 2)).state).toBe("done");
    expect(await result(job.id)).toEqual({
      counts: { hello: 3, world: 2, again: 1, "42": 2, ß: 1, straße: 1, naïve: 2 },
    });
    expect(await result(job.id)).toEqual({ counts: expectedCounts(all) });
  });

  it("gives the right primes count after the job's object is evicted mid-job", async () => {
    const job = await primes40();
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    for (let round = 0; round < 2; round++) {
      const la = await lease(a, 10);
      const lb = await lease(b, 10);
      await submitAll(a, la);
      await submitAll(b, lb);
    }
    expect((await status(job.id)).shards.done).toBe(20);
    // Nothing checkpointed yet (once per 64 accepted shards): the restart folds all 20 in again.
    expect((await jobMeta(job.id)).accSeq).toBe(0);
    await evictDurableObject(jobObject(job.id));
    expect((await status(job.id)).shards.done).toBe(20);
    const final = await runVolunteers(job.id, 3, 8);
    expect(final).toMatchObject({ state: "done", shards: { done: 40 } });
    expect(await result(job.id)).toEqual({ count: PRIMES_BELOW_2M });
  });

  it("replays the shards accepted since the last checkpoint after an eviction", async () => {
    const all = texts(100);
    const job = await createJob({ kernel: "wordcount", shards: all.map((text) => ({ text })), replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    for (let i = 0; i < 7; i++) await submitAll(v, await lease(v, 10));
    const meta = await jobMeta(job.id);
    expect(meta.seq).toBe(70);
    // The merged result is checkpointed once per 64 accepted shards: the 64th was, the 6 after it
    // exist only in memory and in their replica rows, and are folded onto the checkpoint again.
    expect(meta.accSeq).toBe(64);
    await evictDurableObject(jobObject(job.id));
    for (let i = 0; i < 3; i++) await submitAll(v, await lease(v, 10));
    expect((await status(job.id)).state).toBe("done");
    expect(await result(job.id)).toEqual({ counts: expectedCounts(all) });
    await evictDurableObject(jobObject(job.id));
    expect(await result(job.id)).toEqual({ counts: expectedCounts(all) });
  });
});
