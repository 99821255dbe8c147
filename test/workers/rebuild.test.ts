import { describe, expect, it } from "vitest";
import { REBUILD_STEP } from "../../coordinator/job/accumulator.ts";
import { compute } from "../../shared/kernels/compute.ts";
import { createJob, jobMeta, jobObject, lease, result, sleep, status, submitAll, volunteer, type Volunteer } from "./helpers.ts";

/** Leases and honestly submits up to `n` shards of the job (fewer when the job runs out). */
async function work(v: Volunteer, jobId: string, n: number): Promise<number> {
  let done = 0;
  while (done < n) {
    const got = (await lease(v, Math.min(64, n - done))).filter((l) => l.jobId === jobId);
    if (!got.length) break;
    await submitAll(v, got);
    done += got.length;
  }
  return done;
}

describe("backtracking in bounded steps", () => {
  it("refolds a large result a bounded batch at a time after a catch, and ends with the right result", { timeout: 60_000 }, async () => {
    const shards = REBUILD_STEP + 600;
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: shards * 10, step: 10 }, replication: { replicas: 1, quorum: 1 } });
    const [honest, caught] = [await volunteer(), await volunteer()];
    expect(await work(honest, job.id, shards - 100)).toBe(shards - 100);
    expect(await work(caught, job.id, 100)).toBe(100);
    expect((await status(job.id)).state).toBe("done");

    const { reopened } = await (jobObject(job.id) as unknown as { backtrack(v: string): Promise<{ reopened: number }> }).backtrack(caught.id);
    expect(reopened).toBeGreaterThan(0);
    // One step folded REBUILD_STEP shards at once; the rest follow from alarms, not in this call.
    const mid = await jobMeta(job.id);
    expect(mid.rebuilding).toBe(true);
    expect(mid.state).toBe("running");

    const deadline = Date.now() + 30_000;
    while ((await status(job.id)).state === "running" && Date.now() < deadline) {
      if (!(await work(honest, job.id, 64))) await sleep(50);
    }
    const end = await jobMeta(job.id);
    expect(end.state).toBe("done");
    expect(end.rebuilding).toBeUndefined();
    expect(await result(job.id)).toEqual(compute["primes.count"]!({ start: 0, end: shards * 10 }, {}));
  });
});
