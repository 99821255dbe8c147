import { describe, expect, it } from "vitest";
import { call, createJob, expectError, honest, jobRows, lease, leaseEventually, result, status, submit, volunteer, type Volunteer } from "./helpers.ts";

const oneShard = (replication: Record<string, number>) =>
  createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication });

type Several<N extends number, R extends Volunteer[] = []> = R["length"] extends N ? R : Several<N, [...R, Volunteer]>;
const volunteers = <N extends number>(n: N) => Promise.all(Array.from({ length: n }, volunteer)) as Promise<Several<N>>;

describe("quorum", () => {
  it("accepts a shard once two replicas agree and merges it", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2 });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    expect((await submit(a, la!.id, honest(la!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0 } });
    const [lb] = await leaseEventually(b);
    expect(lb!.shardId).toBe(la!.shardId);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { total: 1, done: 1, failed: 0 } });
    expect(await result(job.id)).toEqual({ count: 25 });
  });

  it("issues an extra replica when outputs disagree and accepts the output the quorum agrees on", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2, maxReplicas: 3 });
    const [a, b, c] = await volunteers(3);
    const [la] = await lease(a);
    const [lb] = await leaseEventually(b);
    expect(await lease(c)).toEqual([]);
    // The wrong answer comes first: the coordinator must not take it on trust, nor reveal the disagreement.
    expect((await submit(a, la!.id, { count: 26 })).status).toBe(202);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 0 } });
    const [lc] = await leaseEventually(c);
    expect(lc).toMatchObject({ jobId: job.id, shardId: la!.shardId });
    expect((await submit(c, lc!.id, honest(lc!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1, failed: 0 } });
    expect(await result(job.id)).toEqual({ count: 25 });
  });

  it("fails the shard and the job when the replica budget is spent without quorum", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2, maxReplicas: 3 });
    const [a, b, c, d] = await volunteers(4);
    const outputs = [{ count: 24 }, { count: 25 }, { count: 26 }];
    for (const [i, v] of [a, b, c].entries()) {
      const [l] = await leaseEventually(v);
      expect(l, `replica ${i + 1} issued`).toBeDefined();
      expect((await submit(v, l!.id, outputs[i])).status).toBe(202);
    }
    const s = await status(job.id);
    expect(s).toMatchObject({ state: "failed", shards: { total: 1, done: 0, failed: 1 } });
    expect(s.error).toMatch(/quorum/);
    expect(await lease(d)).toEqual([]);
    await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: "tok-alice" }), 409);
  });

  it("fails at once when maxReplicas equals replicas and the two outputs disagree", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2, maxReplicas: 2 });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    const [lb] = await leaseEventually(b);
    await submit(a, la!.id, { count: 25 });
    await submit(b, lb!.id, { count: 7 });
    expect(await status(job.id)).toMatchObject({ state: "failed", shards: { failed: 1 } });
    expect((await status(job.id)).error).toEqual(expect.any(String));
  });

  it("answers 410 to the outstanding leases of a job that failed", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 200, step: 100 }, replication: { replicas: 2, quorum: 2, maxReplicas: 2 } });
    const [a, b] = await volunteers(2);
    const held = await lease(a, 2);
    const [b0] = await lease(b, 1);
    // b gets a second replica of one of a's two shards (picked at random): disagree on that one.
    const same = held.find((l) => l.shardId === b0!.shardId)!;
    const other = held.find((l) => l !== same)!;
    await submit(a, same.id, { count: 1 });
    await submit(b, b0!.id, { count: 2 });
    expect((await status(job.id)).state).toBe("failed");
    await expectError(submit(a, other.id, honest(other)), 410);
  });

  it("hashes outputs itself, so equal outputs with keys in another order agree", async () => {
    const job = await createJob({ kernel: "wordcount", shards: [{ text: "b a b c" }], replication: { replicas: 2, quorum: 2, maxReplicas: 2 } });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    const [lb] = await leaseEventually(b);
    await submit(a, la!.id, { counts: { a: 1, b: 2, c: 1 } });
    const res = await call("POST", `/v1/leases/${lb!.id}/result`, {
      token: b.token,
      body: '{"output":{"counts":{"c":1,"b":2,"a":1}}}',
    });
    expect(res.status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
    expect(await result(job.id)).toEqual({ counts: { a: 1, b: 2, c: 1 } });
    const hashes = await jobRows<{ hash: string }>(job.id, "SELECT DISTINCT hash FROM replicas");
    expect(hashes).toHaveLength(1);
    expect(hashes[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("never accepts a lone result when the submitter leaves replication to the coordinator", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 } });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    expect((await submit(a, la!.id, { count: 99 })).status).toBe(202);
    expect((await status(job.id)).state).toBe("running");
    const [lb] = await leaseEventually(b);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect((await status(job.id)).shards.done).toBe(0);
  });
});
