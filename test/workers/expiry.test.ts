import { describe, expect, it } from "vitest";
import { call, expectError, expectNoWork, honest, lease, leaseEventually, primesJob, result, sleep, status, submit, volunteer } from "./helpers.ts";

describe("lease expiry", () => {
  it("re-issues a shard whose lease expired, with no request needed to notice", async () => {
    const job = await primesJob(1, 100, { leaseTtlMs: 1000 });
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    expect(await lease(b)).toEqual([]);

    // Nothing is asked of the coordinator while the lease runs out: the job's alarm must expire it.
    // Only that alarm puts an expired lease's shard back (a lease call never looks for overdue
    // leases), so the shard being handed out again is the proof.
    await sleep(1600);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 0 } });

    const [again] = await leaseEventually(b);
    expect(again).toMatchObject({ jobId: job.id, shardId: l!.shardId, input: l!.input });
    expect((await expectError(submit(a, l!.id, honest(l!)), 410)).code).toBe("lease_expired");
    expect((await submit(b, again!.id, honest(again!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
    expect(await result(job.id)).toEqual({ count: 25 });
  });

  it("lets a volunteer whose lease expired lease the same shard again", async () => {
    const job = await primesJob(1, 100, { leaseTtlMs: 1000 });
    const a = await volunteer();
    const [l] = await lease(a);
    await sleep(1600);
    const [again] = await leaseEventually(a);
    expect(again).toMatchObject({ jobId: job.id, shardId: l!.shardId });
    await expectError(submit(a, l!.id, honest(l!)), 410);
    expect((await submit(a, again!.id, honest(again!))).status).toBe(202);
  });

  it("keeps a lease alive past its first deadline while heartbeats arrive", async () => {
    const job = await primesJob(1, 100, { leaseTtlMs: 1000 });
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    for (let i = 0; i < 6; i++) {
      await sleep(300);
      expect((await call("POST", `/v1/leases/${l!.id}/heartbeat`, { token: a.token })).status).toBe(200);
    }
    // Still a's, 1.8 s into a 1 s lease: nobody else is given the shard, and a's result counts.
    await expectNoWork(b);
    expect((await submit(a, l!.id, honest(l!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
  });
});
