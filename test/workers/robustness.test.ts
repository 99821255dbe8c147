import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobObject } from "../../coordinator/objects/job-object.ts";
import type { Lease } from "../../shared/schemas.ts";
import {
  ALICE,
  call,
  callJson,
  callWith,
  expectError,
  honest,
  jobObject,
  jobRows,
  lease,
  primesJob,
  runVolunteers,
  status,
  storedRows,
  volunteer,
} from "./helpers.ts";

/** Makes the job object's `ReplicaTable.method` throw from its `n`th call on, as a failing disk would; a fresh object (after the reset) has the real one. */
function failOnCall(jobId: string, method: "lease" | "submitHeld", n: number): Promise<void> {
  return runInDurableObject(jobObject(jobId), (o: JobObject) => {
    const replicas = o.store.replicas;
    const real = replicas[method].bind(replicas) as (...args: unknown[]) => never;
    let calls = 0;
    replicas[method] = (...args: unknown[]) => {
      if (++calls >= n) throw new Error("disk on fire");
      return real(...args);
    };
  });
}

describe("robustness", () => {
  it("stores nothing for made-up job and lease ids", async () => {
    const fake = "j_abcdefghijkmnopq";
    await expectError(call("GET", `/v1/jobs/${fake}`, { token: ALICE }), 404);
    const v = await volunteer();
    const res = await callJson("POST", "/v1/results", { token: v.token, body: { results: [{ leaseId: `${fake}.3.AAAAAAAAAAAA`, output: { count: 1 } }] } });
    expect(res.body.results[0].status).toBe(404);
    const stub = env.JOBS.get(env.JOBS.idFromName(fake));
    const tables = await runInDurableObject(stub, (o: JobObject) => o.store.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray());
    expect(tables.filter((t) => !String(t.name).startsWith("_cf"))).toEqual([]);
  });

  it("never leaves a job running unlisted: when its owner's list cannot take it, it is not created", async () => {
    const grid = () => env.GRID.get(env.GRID.idFromName("grid"));
    const running = () => runInDurableObject(grid(), (o: { sql: SqlStorage }) => o.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM running").one().n);
    // The submitters' objects, except that listing a job fails (an object failing mid-request).
    const submitters = {
      idFromName: (name: string) => env.SUBMITTERS.idFromName(name),
      get: (id: DurableObjectId) => {
        const real = env.SUBMITTERS.get(id) as unknown as Record<string, (...args: unknown[]) => unknown>;
        return new Proxy(real, {
          get: (target, key) =>
            key === "addJob" ? () => Promise.reject(new Error("submitter object unavailable")) : (...args: unknown[]) => target[key as string]!(...args),
        });
      },
    };
    const before = await running();
    const body = { kernel: "primes.count", range: { start: 0, end: 3000, step: 1000 }, replication: { replicas: 1, quorum: 1 } };
    const res = await callWith({ SUBMITTERS: submitters }, "POST", "/v1/jobs", { token: ALICE, body });
    expect(res.status).toBe(500);
    expect(await running()).toBe(before);
  });

  it("pages through a submitter's jobs without skipping or repeating any", async () => {
    for (let i = 0; i < 5; i++) await primesJob(1);
    const all = (await callJson("GET", "/v1/jobs?limit=500", { token: ALICE })).body.jobs.map((j: { id: string }) => j.id);
    const paged: string[] = [];
    let next: string | undefined;
    do {
      const page = await callJson("GET", `/v1/jobs?limit=2${next ? `&before=${next}` : ""}`, { token: ALICE });
      expect(page.status).toBe(200);
      paged.push(...page.body.jobs.map((j: { id: string }) => j.id));
      next = page.body.next;
    } while (next);
    expect(paged).toEqual(all);
    await expectError(call("GET", "/v1/jobs?before=12", { token: ALICE }), 400);
  });

  it("records every contributor's job in its own volunteer record, for later backtracking", async () => {
    const job = await primesJob(6);
    expect((await runVolunteers(job.id, 2, 3)).state).toBe("done");
    // Storage: the job keeps each contribution until the volunteer's record acknowledges it (reported),
    // which is what a later backtrack relies on; no API lists a volunteer's jobs.
    const until = Date.now() + 5000;
    let rows: { volunteer: string; reported: number }[] = [];
    do {
      rows = await storedRows(job.id, "contrib");
      if (rows.every((r) => r.reported === 1)) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < until);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.reported === 1)).toBe(true);
  });

  it("keeps nothing of a result batch that fails midway, and takes the whole batch when sent again", async () => {
    const job = await primesJob(3, 10);
    const v = await volunteer();
    const leases = await lease(v, 3);
    const results = leases.map((l) => ({ leaseId: l.id, output: honest(l) }));
    // The third output's write fails (a bug, a full disk), after the first two shards were accepted in memory.
    await failOnCall(job.id, "submitHeld", 3);
    const failed = await callJson("POST", "/v1/results", { token: v.token, body: { results } });
    // Not half a batch: no shard accepted, no output stored, no credit, every lease still out.
    expect(await jobRows(job.id, "SELECT idx FROM shards WHERE state != 0")).toEqual([]);
    expect(await jobRows(job.id, "SELECT lease FROM replicas WHERE state != 0 OR output IS NOT NULL")).toEqual([]);
    expect(await storedRows(job.id, "contrib")).toEqual([]);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0 } });
    expect(failed.status).toBe(500);
    expect(failed.body.error.code).toBe("internal");
    // The object came back without the fault: the same batch is taken whole.
    const again = await callJson("POST", "/v1/results", { token: v.token, body: { results } });
    expect(again.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202, 202]);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 3 } });
  });

  it("resumes the lease cursor from the started shards after a reset, though leasing never stores it", async () => {
    const job = await primesJob(6, 10);
    const [a, b] = [await volunteer(), await volunteer()];
    const storedNext = async () => JSON.parse((await storedRows<{ k: string; v: string }>(job.id, "meta")).find((r) => r.k === "job")!.v).next;
    expect((await lease(a, 2)).map((l) => l.shardId)).toEqual(["0", "1"]);
    // Leasing wrote shard and replica rows, not the meta row: its cursor is still where creation left it.
    expect(await storedNext()).toBe(0);
    // The object resets (an eviction, a failed step): memory is gone, storage stays.
    await expect(runInDurableObject(jobObject(job.id), (_o: JobObject, state: DurableObjectState) => state.abort("test: reset"))).rejects.toThrow(
      "test: reset",
    );
    // The new instance resumes one past the last started shard: nothing is started twice.
    const leases = await lease(b, 4);
    expect(leases.map((l) => l.shardId)).toEqual(["2", "3", "4", "5"]);
    expect(await jobRows(job.id, "SELECT idx FROM shards ORDER BY idx")).toEqual([0, 1, 2, 3, 4, 5].map((idx) => ({ idx })));
    // The meta row's next write (a result's progress) stores the cursor with it.
    const res = await callJson("POST", "/v1/results", { token: b.token, body: { results: [{ leaseId: leases[0]!.id, output: honest(leases[0]!) }] } });
    expect(res.body.results[0].status).toBe(202);
    expect(await storedNext()).toBe(6);
  });

  it("keeps nothing of a lease batch that fails midway", async () => {
    const job = await primesJob(3, 10);
    const v = await volunteer();
    // Its shards' rows are written, then its leases' fail.
    await failOnCall(job.id, "lease", 1);
    // The grid skips a failing job for a moment: this call finds no work.
    expect((await callJson("POST", "/v1/leases", { token: v.token, body: { max: 3 } })).body.leases).toEqual([]);
    // No shard started, no lease stored, the cursor where it was: the three shards are still to hand out.
    expect(await jobRows(job.id, "SELECT idx FROM shards")).toEqual([]);
    expect(await jobRows(job.id, "SELECT lease FROM replicas")).toEqual([]);
    const direct = jobObject(job.id) as unknown as { lease(volunteer: string, max: number): Promise<{ leases: Lease[] }> };
    expect((await direct.lease(v.id, 3)).leases.map((l) => l.shardId).sort()).toEqual(["0", "1", "2"]);
  });
});
