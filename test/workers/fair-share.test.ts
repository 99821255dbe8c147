import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../coordinator/app.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { Lease } from "../../shared/schemas.ts";
import { ALICE, BOB, call, callWith, createJob, expectError, status, submitAll, volunteer, type Volunteer } from "./helpers.ts";

/** One lease call through the Worker with extra bindings (e.g. SUBMIT_WEIGHTS). */
async function leaseWith(v: Volunteer, max: number, bindings: Record<string, string> = {}): Promise<Lease[]> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request("http://x/v1/leases", {
      method: "POST",
      headers: { authorization: `Bearer ${v.token}`, "content-type": "application/json" },
      body: JSON.stringify({ max }),
    }),
    { ...env, ...bindings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return ((await res.json()) as { leases: Lease[] }).leases;
}

/** Leases `calls` times (finishing each batch), counting leases per job. */
async function serve(calls: number, max: number, bindings: Record<string, string> = {}): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < calls; i++) {
    const v = await volunteer();
    const got = await leaseWith(v, max, bindings);
    for (const l of got) counts.set(l.jobId, (counts.get(l.jobId) ?? 0) + 1);
    await submitAll(v, got);
  }
  return counts;
}

const job = (shards: number, extra: Record<string, unknown> = {}) => ({
  kernel: "primes.count",
  range: { start: 0, end: shards * 10, step: 10 },
  replication: { replicas: 1, quorum: 1 },
  ...extra,
});

describe("fair share between submitters", () => {
  it("shares volunteers half and half between a big job created first and a small one created later", async () => {
    const big = await createJob(job(5000), ALICE);
    const small = await createJob(job(500), BOB);
    const counts = await serve(40, 8);
    const [b, s] = [counts.get(big.id) ?? 0, counts.get(small.id) ?? 0];
    expect(b + s).toBe(320);
    expect(Math.abs(b - s)).toBeLessThanOrEqual(32); // each within 10 % of half
  });

  it("weighs submitters by SUBMIT_WEIGHTS", async () => {
    const a = await createJob(job(5000), ALICE);
    const b = await createJob(job(5000), BOB);
    const counts = await serve(40, 8, { SUBMIT_WEIGHTS: `${ALICE}=3` });
    const share = (counts.get(a.id) ?? 0) / ((counts.get(a.id) ?? 0) + (counts.get(b.id) ?? 0));
    expect(share).toBeGreaterThan(0.68);
    expect(share).toBeLessThan(0.82);
  });

  it("serves one submitter's jobs by priority, then age", async () => {
    const older = await createJob(job(500), ALICE);
    const urgent = await createJob(job(500, { priority: 5 }), ALICE);
    expect((await status(urgent.id)).priority).toBe(5);
    const counts = await serve(5, 8);
    expect(counts.get(urgent.id)).toBe(40);
    expect(counts.get(older.id) ?? 0).toBe(0);
  });

  it("leaves no running job invisible, however many there are", { timeout: 60_000 }, async () => {
    const jobs = [];
    for (let i = 0; i < 280; i++) jobs.push(await createJob(job(1), ALICE));
    const last = jobs.at(-1)!;
    const deadline = Date.now() + 40_000;
    while ((await status(last.id)).state === "running" && Date.now() < deadline) {
      const v = await volunteer();
      await submitAll(v, await leaseWith(v, 64));
    }
    expect((await status(last.id)).state).toBe("done");
  });

  it("refuses a job past the token's running-shard quota with 429, creating nothing", async () => {
    const max = LIMITS.rangeShards;
    const fit = Math.floor(LIMITS.runningShardsPerSubmitter / max);
    for (let i = 0; i < fit; i++) await createJob({ kernel: "primes.count", range: { start: 0, end: max, step: 1 } }, BOB);
    const before = ((await (await call("GET", "/v1/jobs", { token: BOB })).json()) as { jobs: unknown[] }).jobs.length;
    const res = call("POST", "/v1/jobs", { token: BOB, body: { kernel: "primes.count", range: { start: 0, end: max, step: 1 } } });
    expect((await expectError(res, 429)).message).toMatch(/quota/);
    const after = ((await (await call("GET", "/v1/jobs", { token: BOB })).json()) as { jobs: unknown[] }).jobs.length;
    expect(after).toBe(before);
  });

  it("admits concurrent creations one at a time against the quota: no more pass than fit", async () => {
    const max = LIMITS.rangeShards;
    const fit = Math.floor(LIMITS.runningShardsPerSubmitter / max);
    const token = "tok-carol";
    const create = () =>
      callWith({ SUBMIT_TOKENS: `${ALICE},${BOB},${token}` }, "POST", "/v1/jobs", {
        token,
        body: { kernel: "primes.count", range: { start: 0, end: max, step: 1 } },
      });
    // All at once: every creation reads the quota before any of them has started.
    const statuses = (await Promise.all(Array.from({ length: fit + 2 }, create))).map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(fit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
  });
});
