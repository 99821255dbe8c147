import { describe, expect, it } from "vitest";
import { ALICE, call, createJob, expectError, jobMeta, jobRows, lease, status, volunteer, type JobTable } from "./helpers.ts";

/** Rows in one of the job's tables: storage is the behaviour here (a big job costs nothing until its shards are leased). */
const count = async (jobId: string, table: JobTable) => (await jobRows<{ n: number }>(jobId, `SELECT COUNT(*) AS n FROM ${table}`))[0]!.n;

describe("large range jobs", () => {
  for (const total of [1_000_000, 10_000_000]) {
    it(`accepts a ${total.toLocaleString("en")}-shard range job without materialising its shards`, async () => {
      const job = await createJob({ kernel: "primes.count", range: { start: 0, end: total * 10, step: 10 } });
      expect(job).toMatchObject({ state: "running", shards: { total, done: 0, failed: 0 } });
      expect(await status(job.id)).toMatchObject({ state: "running", shards: { total, done: 0, failed: 0 } });
      expect(await count(job.id, "shards")).toBe(0);
      expect(await count(job.id, "inputs")).toBe(0);
      expect(await count(job.id, "replicas")).toBe(0);
    });
  }

  it("materialises only the shards it has leased", async () => {
    const total = 10_000_000;
    const job = await createJob({ kernel: "primes.count", range: { start: 3, end: 3 + total * 10 - 4, step: 10 }, replication: { replicas: 1, quorum: 1 } });
    const leases = await lease(await volunteer(), 5);
    expect(leases.map((l) => l.shardId)).toEqual(["0", "1", "2", "3", "4"]);
    expect(leases[4]!.input).toEqual({ start: 43, end: 53 });
    expect(await count(job.id, "shards")).toBe(5);
    expect((await jobMeta(job.id)).next).toBe(5);
  });

  it("rejects a range of more shards than the published limit, creating nothing", async () => {
    const before = (await (await call("GET", "/v1/jobs", { token: ALICE })).json()) as { jobs: unknown[] };
    const err = await expectError(
      call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "primes.count", range: { start: 0, end: 2 ** 53, step: 1 } } }),
      400,
    );
    expect(err.message).toMatch(/range/);
    const after = (await (await call("GET", "/v1/jobs", { token: ALICE })).json()) as { jobs: unknown[] };
    expect(after.jobs.length).toBe(before.jobs.length);
  });
});
