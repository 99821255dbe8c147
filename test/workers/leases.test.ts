import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../coordinator/app.ts";
import { REPLICA } from "../../coordinator/job/tables.ts";
import { call, callJson, createJob, expectError, jobRows, lease, leaseEventually, primesJob, sleep, volunteer } from "./helpers.ts";

describe("volunteer registration", () => {
  it("registers a volunteer with an id and a token", async () => {
    const res = await callJson<{ id: string; token: string }>("POST", "/v1/volunteers");
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), token: expect.any(String) });
    const other = await volunteer();
    expect(other.id).not.toBe(res.body.id);
  });

  it("rate-limits registrations per client address with 429 and retry-after", async () => {
    // The real app, given a registration limit of 2 a minute instead of the test project's 100000.
    const limited = { ...env, REGISTRATIONS_PER_MINUTE: "2" };
    const register = async (ip: string) => {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request("http://x/v1/volunteers", { method: "POST", headers: { "cf-connecting-ip": ip } }), limited, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    expect((await register("203.0.113.7")).status).toBe(201);
    expect((await register("203.0.113.7")).status).toBe(201);
    const refused = await register("203.0.113.7");
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    await expectError(refused, 429);
    expect((await register("203.0.113.8")).status).toBe(201);
  });

  it("refills the limiter's bucket over its window", async () => {
    const limiter = env.LIMITER.get(env.LIMITER.idFromName("test:bucket")) as unknown as { take(c: number, w: number): Promise<number> };
    expect(await limiter.take(2, 200)).toBe(0);
    expect(await limiter.take(2, 200)).toBe(0);
    const wait = await limiter.take(2, 200);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    await sleep(wait + 20);
    expect(await limiter.take(2, 200)).toBe(0);
  });
});

describe("leasing", () => {
  it("leases up to 64 distinct shards in one call and refuses 65", async () => {
    await primesJob(100, 10);
    const v = await volunteer();
    const leases = await lease(v, 64);
    expect(leases).toHaveLength(64);
    expect(new Set(leases.map((l) => l.shardId)).size).toBe(64);
    expect(leases[0]).toMatchObject({ id: expect.any(String), jobId: expect.any(String), kernel: "primes.count", params: {}, expiresAt: expect.any(Number) });
    const err = await expectError(call("POST", "/v1/leases", { token: v.token, body: { max: 65 } }), 400);
    expect(err.message).toContain("max");
    expect(await lease(v, 64)).toHaveLength(36);
  });

  it("leases one shard when no max is given", async () => {
    await primesJob(5, 10);
    const v = await volunteer();
    const res = await callJson("POST", "/v1/leases", { token: v.token });
    expect(res.status).toBe(200);
    expect(res.body.leases).toHaveLength(1);
  });

  it("answers an empty list when there is no work", async () => {
    expect(await lease(await volunteer(), 10)).toEqual([]);
  });

  it("never gives one volunteer two replicas of the same shard", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 50, step: 10 }, replication: { replicas: 3, quorum: 2 } });
    const [a, b, c, d] = await Promise.all([volunteer(), volunteer(), volunteer(), volunteer()]);
    const first = await lease(a, 64);
    expect(first.map((l) => l.shardId).sort()).toEqual(["0", "1", "2", "3", "4"]);
    for (let i = 0; i < 3; i++) expect(await lease(a, 64)).toEqual([]);
    expect((await lease(b, 64)).map((l) => l.shardId).sort()).toEqual(["0", "1", "2", "3", "4"]);
    expect((await lease(c, 64)).map((l) => l.shardId).sort()).toEqual(["0", "1", "2", "3", "4"]);
    expect(await lease(d, 64)).toEqual([]);
    const held = await jobRows<{ n: number }>(job.id, "SELECT COUNT(*) AS n FROM replicas GROUP BY idx, volunteer HAVING n > 1");
    expect(held).toEqual([]);
  });
});

describe("heartbeat and release", () => {
  it("extends a lease's expiresAt on heartbeat", async () => {
    const job = await primesJob(2, 10, { leaseTtlMs: 60_000 });
    const v = await volunteer();
    const [l] = await lease(v);
    await sleep(20);
    const res = await callJson<{ expiresAt: number }>("POST", `/v1/leases/${l!.id}/heartbeat`, { token: v.token });
    expect(res.status).toBe(200);
    expect(res.body.expiresAt).toBeGreaterThan(l!.expiresAt);
    const [row] = await jobRows<{ expires_at: number }>(job.id, "SELECT expires_at FROM replicas WHERE lease = ?", l!.id);
    expect(row!.expires_at).toBe(res.body.expiresAt);
  });

  it("puts a released shard back so another volunteer can lease it", async () => {
    const job = await primesJob(1, 10);
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    expect(await lease(b)).toEqual([]);
    const res = await callJson("POST", `/v1/leases/${l!.id}/release`, { token: a.token });
    expect(res.status).toBe(200);
    const [again] = await leaseEventually(b);
    expect(again).toMatchObject({ jobId: job.id, shardId: l!.shardId, input: l!.input });
    expect(again!.id).not.toBe(l!.id);
    await expectError(call("POST", `/v1/leases/${l!.id}/result`, { token: a.token, body: { output: { count: 4 } } }), 410);
    const rows = await jobRows<{ lease: string; state: number }>(job.id, "SELECT lease, state FROM replicas ORDER BY state");
    expect(rows).toEqual([
      { lease: again!.id, state: REPLICA.leased },
      { lease: l!.id, state: REPLICA.released },
    ]);
  });

  it("answers 403 to heartbeat and release of another volunteer's lease", async () => {
    const job = await primesJob(1, 10);
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    await expectError(call("POST", `/v1/leases/${l!.id}/heartbeat`, { token: b.token }), 403);
    await expectError(call("POST", `/v1/leases/${l!.id}/release`, { token: b.token }), 403);
    expect(await jobRows(job.id, "SELECT state, expires_at FROM replicas")).toEqual([{ state: REPLICA.leased, expires_at: l!.expiresAt }]);
  });
});
