import { describe, expect, it } from "vitest";
import { REPLICA, SHARD } from "../../coordinator/job/tables.ts";
import { call, expectError, honest, jobRows, lease, leaseEventually, primesJob, result, sleep, status, submit, volunteer } from "./helpers.ts";

describe("lease expiry", () => {
  it("re-issues a shard whose lease expired, with no request needed to notice", async () => {
    const job = await primesJob(1, 100, { leaseTtlMs: 1000 });
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    expect(await lease(b)).toEqual([]);

    // Nothing is asked of the coordinator while the lease runs out: the job's alarm must expire it.
    await sleep(1600);
    expect(await jobRows(job.id, "SELECT state FROM replicas WHERE lease = ?", l!.id)).toEqual([{ state: REPLICA.expired }]);
    expect(await jobRows(job.id, "SELECT state, deficit, active FROM shards")).toEqual([{ state: SHARD.open, deficit: 1, active: 0 }]);

    const [again] = await leaseEventually(b);
    expect(again).toMatchObject({ jobId: job.id, shardId: l!.shardId, input: l!.input });
    await expectError(submit(a, l!.id, honest(l!)), 410);
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
    const a = await volunteer();
    const [l] = await lease(a);
    for (let i = 0; i < 6; i++) {
      await sleep(300);
      expect((await call("POST", `/v1/leases/${l!.id}/heartbeat`, { token: a.token })).status).toBe(200);
    }
    expect(await jobRows(job.id, "SELECT state FROM replicas")).toEqual([{ state: REPLICA.leased }]);
    expect((await submit(a, l!.id, honest(l!))).status).toBe(202);
  });
});
