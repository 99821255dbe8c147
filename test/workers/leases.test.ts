import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../coordinator/app.ts";
import { nonce } from "../../coordinator/job/leasing.ts";
import {
  call,
  callJson,
  createJob,
  expectError,
  expectNoWork,
  honest,
  lease,
  leaseEventually,
  primesJob,
  sleep,
  status,
  submit,
  volunteer,
} from "./helpers.ts";

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

  it("ends every lease id with 12 random base64url characters, each of the 64 equally likely", async () => {
    const v = await volunteer();
    await primesJob(3);
    const leases = await lease(v, 3);
    expect(leases).toHaveLength(3);
    for (const l of leases) expect(l.id).toMatch(new RegExp(`^${l.jobId}\\.${l.shardId}\\.[A-Za-z0-9_-]{12}$`));
    // 4,000 draws of 12 characters: each character about 750 times (a biased draw, say
    // modulo a number that is not a power of two, would leave some far off), and no repeat.
    const draws = Array.from({ length: 4000 }, nonce);
    expect(new Set(draws).size).toBe(draws.length);
    const counts = new Map<string, number>();
    for (const ch of draws.join("")) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(64);
    for (const n of counts.values()) expect(n).toBeGreaterThan(600);
    for (const n of counts.values()) expect(n).toBeLessThan(900);
  });

  it("never gives one volunteer two replicas of the same shard", async () => {
    await createJob({ kernel: "primes.count", range: { start: 0, end: 50, step: 10 }, replication: { replicas: 3, quorum: 2 } });
    const [a, b, c, d] = await Promise.all([volunteer(), volunteer(), volunteer(), volunteer()]);
    const first = await lease(a, 64);
    expect(first.map((l) => l.shardId).sort()).toEqual(["0", "1", "2", "3", "4"]);
    for (let i = 0; i < 3; i++) expect(await lease(a, 64)).toEqual([]);
    expect((await lease(b, 64)).map((l) => l.shardId).sort()).toEqual(["0", "1", "2", "3", "4"]);
    expect((await lease(c, 64)).map((l) => l.shardId).sort()).toEqual(["0", "1", "2", "3", "4"]);
    // Every one of the 15 replicas is accounted for above (five distinct shards each to a, b and c,
    // none left for d), so none went to a volunteer twice.
    expect(await lease(d, 64)).toEqual([]);
  });
});

describe("heartbeat and release", () => {
  it("extends a lease's expiresAt on heartbeat", async () => {
    await primesJob(2, 10, { leaseTtlMs: 2000 });
    const v = await volunteer();
    const [l] = await lease(v);
    await sleep(1000);
    const res = await callJson<{ expiresAt: number }>("POST", `/v1/leases/${l!.id}/heartbeat`, { token: v.token });
    expect(res.status).toBe(200);
    expect(res.body.expiresAt).toBeGreaterThan(l!.expiresAt);
    // Between the first deadline and the new one, the lease is still good.
    await sleep((l!.expiresAt + res.body.expiresAt) / 2 - Date.now());
    expect((await submit(v, l!.id, honest(l!))).status).toBe(202);
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
    expect((await expectError(submit(a, l!.id, honest(l!)), 410)).code).toBe("lease_released");
    expect((await submit(b, again!.id, honest(again!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
  });

  it("answers 403 to heartbeat and release of another volunteer's lease, which neither extend nor release it", async () => {
    await primesJob(1, 10, { leaseTtlMs: 2000 });
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    await sleep(400); // a heartbeat now would move the deadline 400 ms on
    await expectError(call("POST", `/v1/leases/${l!.id}/heartbeat`, { token: b.token }), 403);
    await expectError(call("POST", `/v1/leases/${l!.id}/release`, { token: b.token }), 403);
    // Not released: nobody else is given the shard. Not extended: it ends at its first deadline.
    await expectNoWork(b);
    await sleep(l!.expiresAt + 200 - Date.now());
    expect((await expectError(submit(a, l!.id, honest(l!)), 410)).code).toBe("lease_expired");
  });
});
