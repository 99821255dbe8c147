import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ErrorBody } from "../../shared/schemas.ts";
import { jobCreateCase, jobReadCase, routeCase, volunteerCase, type FuzzCase, type FuzzWorld } from "./fuzz-cases.ts";
import { ALICE, BOB, callJson, createJob, lease, prng, sleep, storedRows, volunteer } from "./helpers.ts";

/**
 * Everything a malformed request could have changed, read through the API and the job's own
 * tables: storage too, because "bad input never changes state" includes state no answer shows
 * (a lease's deadline, a stray output or hash).
 */
async function snapshot(w: FuzzWorld) {
  const [alice, bob, job, stats, replicas, shards] = await Promise.all([
    callJson("GET", "/v1/jobs", { token: ALICE }),
    callJson("GET", "/v1/jobs", { token: BOB }),
    callJson("GET", `/v1/jobs/${w.jobId}`, { token: ALICE }),
    env.GRID.get(env.GRID.idFromName("grid")).stats(),
    storedRows(w.jobId, "replicas"),
    storedRows(w.jobId, "shards"),
  ]);
  const { shardsCompleted, shardsFailed, resultsAccepted, jobsTotal, jobsRunning, volunteersRegistered } = stats;
  return {
    alice: alice.body,
    bob: bob.body,
    job: job.body,
    replicas,
    shards,
    stats: { shardsCompleted, shardsFailed, resultsAccepted, jobsTotal, jobsRunning, volunteersRegistered },
  };
}

/** A running job, one lease held by `volunteer` and one shard held by `otherVolunteer`. */
async function world(): Promise<FuzzWorld> {
  const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 1000, step: 100 }, replication: { replicas: 2, quorum: 2 } });
  const [v, o] = await Promise.all([volunteer(), volunteer()]);
  const [l] = await lease(v, 1);
  await lease(o, 1);
  // Let the job's batched statistics reach the grid before the "before" snapshot.
  await sleep(1200);
  return { jobId: job.id, lease: l!.id, volunteer: v.token, otherVolunteer: o.token };
}

function send(c: FuzzCase): Promise<Response> {
  const headers = new Headers();
  if (c.auth !== undefined) headers.set("authorization", c.auth);
  if (c.body !== undefined && c.type !== null) headers.set("content-type", c.type ?? "application/json");
  const init: RequestInit & { duplex?: string } = { method: c.method, headers, body: c.body };
  if (c.body instanceof ReadableStream) init.duplex = "half";
  return exports.default.fetch(`http://x${c.path}`, init);
}

const describeCase = (c: FuzzCase) =>
  `${c.method} ${c.path.slice(0, 120)} auth=${(c.auth ?? "-").slice(0, 40)} type=${c.type ?? "json"} body=${typeof c.body === "string" ? c.body.slice(0, 120) : c.body ? "<stream>" : "-"}`;

/** Sends `n` cases from `make`, each must be a 4xx in the error shape; state must not move. */
async function fuzz(seed: number, n: number, make: (r: ReturnType<typeof prng>, w: FuzzWorld) => FuzzCase) {
  const w = await world();
  const before = await snapshot(w);
  const r = prng(seed);
  const statuses = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = make(r, w);
    const res = await send(c);
    const text = await res.text();
    const what = `case ${i} (seed ${seed}): ${describeCase(c)} → ${res.status} ${text.slice(0, 200)}`;
    expect(res.status, what).toBeGreaterThanOrEqual(400);
    expect(res.status, what).toBeLessThan(500);
    expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
    const body = ErrorBody.safeParse(JSON.parse(text));
    expect(body.success && body.data.error.code.length > 0 && body.data.error.message.length > 0, what).toBe(true);
    if (res.status === 429) expect(res.headers.get("retry-after"), what).toBeTruthy();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  }
  // Anything wrongly recorded would reach the grid's figures within a flush interval.
  await sleep(1200);
  expect(await snapshot(w)).toEqual(before);
  return statuses;
}

describe("malformed requests", () => {
  it("refuses 150 malformed job creations with a 4xx in the error shape and creates nothing", { timeout: 60_000 }, async () => {
    const seen = await fuzz(0xc01e1a, 150, jobCreateCase);
    expect([...seen.keys()].sort()).toEqual([400, 401, 413, 415]);
  });

  it("refuses 60 bad job reads and cancels (garbage ids, another owner, no token, bad query)", { timeout: 60_000 }, async () => {
    const seen = await fuzz(0x5eed, 60, jobReadCase);
    expect([...seen.keys()].sort()).toEqual([400, 401, 404, 409]);
  });

  it("refuses 160 malformed volunteer calls and leaves every lease as it was", { timeout: 60_000 }, async () => {
    const seen = await fuzz(0xbee5, 160, volunteerCase);
    expect([...seen.keys()].sort()).toEqual([400, 401, 403, 404, 413, 415]);
  });

  it("answers 30 calls to routes that do not exist with the error shape", { timeout: 60_000 }, async () => {
    await fuzz(7, 30, routeCase);
  });

  it("refuses a job body over 8 MiB with 413 but reads one just under 8 MiB", { timeout: 30_000 }, async () => {
    // Shards of 400,000 characters each (under the per-shard limit), then one invalid shard.
    const body = (n: number) => JSON.stringify({ kernel: "wordcount", shards: [...Array(n).fill({ text: "x".repeat(400_000) }), null] });
    const over = await send({ method: "POST", path: "/v1/jobs", auth: `Bearer ${ALICE}`, body: body(21) });
    expect(over.status).toBe(413);
    const under = await send({ method: "POST", path: "/v1/jobs", auth: `Bearer ${ALICE}`, body: body(20) });
    expect(under.status).toBe(400);
    expect(((await under.json()) as ErrorBody).error.message).toMatch(/^shards\.20\b/);
  });

  it("refuses other bodies over 1 MiB with 413", async () => {
    const v = await volunteer();
    const body = JSON.stringify({ max: 1, pad: "x".repeat(1024 * 1024) });
    const res = await send({ method: "POST", path: "/v1/leases", auth: `Bearer ${v.token}`, body });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe("body_too_large");
  });
});
