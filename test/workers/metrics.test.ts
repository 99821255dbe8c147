import { env } from "cloudflare:workers";
import { createExecutionContext, evictDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../coordinator/app.ts";
import type { Lease } from "../../shared/schemas.ts";
import { parseExposition, sampleValue, type ParsedFamily } from "../support/prometheus-text.ts";
import { ALICE, call, createJob, expectError, honest, lease, sleep, status, submit, submitAll, volunteer } from "./helpers.ts";

const TOKEN = "metrics-token-for-tests";

/** A request to the real app with METRICS_TOKEN set (whatever .dev.vars holds), waiting for its waitUntil work. */
async function operator(path: string, authorization: string | null = `Bearer ${TOKEN}`): Promise<Response> {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  const res = await app.fetch(new Request(`http://x${path}`, { headers }), { ...env, METRICS_TOKEN: TOKEN }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function scrape(): Promise<Map<string, ParsedFamily>> {
  const res = await operator("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await res.text());
}

/** Scrapes until `check` holds (jobs report to the grid in batches about once a second). */
async function scrapeUntil(what: string, check: (m: Map<string, ParsedFamily>) => boolean, timeoutMs = 8000): Promise<Map<string, ParsedFamily>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await scrape();
    if (check(m)) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

const v = (m: Map<string, ParsedFamily>, name: string, labels?: Record<string, string>) => sampleValue(m, name, labels);
const wrong = (l: Lease) => ({ count: (honest(l) as { count: number }).count + 1 });

describe("GET /metrics", () => {
  it("answers the Prometheus text format with HELP and TYPE for every family the contract names", async () => {
    const m = await scrape();
    for (const name of [
      "colmeia_volunteers_active",
      "colmeia_jobs_running",
      "colmeia_shards_completed_total",
      "colmeia_shards_failed_total",
      "colmeia_results_submitted_total",
      "colmeia_coordinator_checks_total",
      "colmeia_volunteers_blacklisted_total",
      "colmeia_leases_expired_total",
      "colmeia_results_rejected_total",
      "colmeia_webhook_deliveries_total",
      "colmeia_jobs_storage_bytes",
      "colmeia_job_storage_max_bytes",
      "colmeia_http_requests_total",
      "colmeia_http_request_duration_seconds",
    ]) {
      const family = m.get(name);
      expect(family, name).toBeDefined();
      expect(family!.help.length, name).toBeGreaterThan(10);
    }
    expect(m.get("colmeia_jobs_running")!.type).toBe("gauge");
    expect(m.get("colmeia_shards_completed_total")!.type).toBe("counter");
    expect(m.get("colmeia_http_request_duration_seconds")!.type).toBe("histogram");
    for (const f of m.values()) if (f.type === "counter") for (const s of f.samples) expect(s.value, s.name).toBeGreaterThanOrEqual(0);
  });

  it("requires Authorization: Bearer <METRICS_TOKEN> when it is set, for /metrics and /v1/health/deep", async () => {
    for (const path of ["/metrics", "/v1/health/deep"]) {
      for (const auth of [null, "Bearer wrong", "Bearer ", `Bearer ${TOKEN}x`, `Basic ${btoa(`x:${TOKEN}`)}`, TOKEN]) {
        const res = await operator(path, auth);
        expect((await expectError(res, 401)).code).toBe("unauthorized");
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
      expect((await operator(path, `Bearer ${TOKEN}`)).status).toBe(200);
    }
  });

  it("is open when METRICS_TOKEN is not set", async () => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request("http://x/metrics"), { ...env, METRICS_TOKEN: "" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(parseExposition(await res.text()).has("colmeia_jobs_running")).toBe(true);
  });

  it("counts shards, results and coordinator checks once an adaptive job ran with a newcomer", { timeout: 30_000 }, async () => {
    const before = await scrape();
    // No replication given: the adaptive policy. A newcomer's lone result on a cheap shard is checked by the coordinator.
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 400, step: 100 } });
    const newcomer = await volunteer();
    const leases = (await lease(newcomer, 4)).filter((l) => l.jobId === job.id);
    expect(leases).toHaveLength(4);
    await submitAll(newcomer, leases);
    expect((await status(job.id)).state).toBe("done");

    const delta = (m: Map<string, ParsedFamily>, name: string, labels?: Record<string, string>) => v(m, name, labels) - v(before, name, labels);
    const after = await scrapeUntil("the job's report reached the grid", (m) => delta(m, "colmeia_shards_completed_total") >= 4);
    expect(delta(after, "colmeia_shards_completed_total")).toBe(4);
    expect(delta(after, "colmeia_results_submitted_total")).toBe(4);
    expect(delta(after, "colmeia_coordinator_checks_total")).toBeGreaterThanOrEqual(4);
    expect(delta(after, "colmeia_leases_issued_total")).toBeGreaterThanOrEqual(4);
    expect(delta(after, "colmeia_jobs_created_total")).toBe(1);
    expect(delta(after, "colmeia_jobs_finished_total", { state: "done" })).toBe(1);
    expect(v(after, "colmeia_volunteers_active")).toBeGreaterThanOrEqual(1);
  });

  it("counts a cheater the coordinator caught: its result rejected as proven wrong, the volunteer blacklisted once", { timeout: 30_000 }, async () => {
    const before = await scrape();
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 200, step: 100 } });
    const liar = await volunteer();
    const [l, other] = (await lease(liar, 2)).filter((x) => x.jobId === job.id);
    expect((await submit(liar, l!.id, wrong(l!))).status).toBe(202);
    const delta = (m: Map<string, ParsedFamily>, name: string, labels?: Record<string, string>) => v(m, name, labels) - v(before, name, labels);
    const after = await scrapeUntil("the catch is counted", (m) => delta(m, "colmeia_volunteers_blacklisted_total") >= 1);
    expect(delta(after, "colmeia_volunteers_blacklisted_total")).toBe(1);
    expect(delta(after, "colmeia_results_rejected_total", { reason: "proven_wrong" })).toBe(1);
    // Refused at the edge from now on (a 403 in the request counts), and never counted twice.
    await sleep(1100); // past the isolate's cached profile of a newcomer
    if (other) await expectError(submit(liar, other.id, honest(other)), 403);
    await sleep(1100);
    const later = await scrape();
    expect(delta(later, "colmeia_volunteers_blacklisted_total")).toBe(1);
    if (other) expect(delta(later, "colmeia_http_requests_total", { route: "/v1/leases/:id/result", method: "POST", code: "403" })).toBeGreaterThanOrEqual(1);
  });

  it("counts leases that expired and results refused as invalid", { timeout: 30_000 }, async () => {
    const before = await scrape();
    const job = await createJob({
      kernel: "primes.count",
      range: { start: 0, end: 200, step: 100 },
      replication: { replicas: 1, quorum: 1 },
      leaseTtlMs: 1000,
    });
    const a = await volunteer();
    const [l1, l2] = (await lease(a, 2)).filter((x) => x.jobId === job.id);
    await expectError(submit(a, l1!.id, { count: "many" }), 400);
    await sleep(1500);
    await expectError(submit(a, l2!.id, honest(l2!)), 410);
    const delta = (m: Map<string, ParsedFamily>, name: string, labels?: Record<string, string>) => v(m, name, labels) - v(before, name, labels);
    const after = await scrapeUntil(
      "expiry is counted",
      (m) => delta(m, "colmeia_leases_expired_total") >= 2 && delta(m, "colmeia_results_rejected_total", { reason: "lease_expired" }) >= 1,
    );
    expect(delta(after, "colmeia_leases_expired_total")).toBe(2);
    expect(delta(after, "colmeia_results_rejected_total", { reason: "lease_expired" })).toBe(1);
    // Refused by the schema before the lease is looked at: that one is visible in the request counts instead.
    expect(v(after, "colmeia_http_requests_total", { route: "/v1/leases/:id/result", method: "POST", code: "400" })).toBeGreaterThanOrEqual(1);
  });

  it("records request latency by route pattern and status class, never by raw path", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    for (let i = 0; i < 3; i++) expect((await call("GET", `/v1/jobs/${job.id}`, { token: ALICE })).status).toBe(200);
    await expectError(call("GET", "/v1/jobs/j_doesnotexist000", { token: ALICE }), 404);
    await expectError(call("GET", "/no/such/path"), 404);
    const m = await scrape();
    const duration = m.get("colmeia_http_request_duration_seconds")!;
    const routes = new Set(duration.samples.map((s) => s.labels.route));
    expect(routes.has("/v1/jobs/:id")).toBe(true);
    expect([...routes].some((r) => r?.includes(job.id))).toBe(false);
    expect(routes.has("(unmatched)")).toBe(true);
    expect(v(m, "colmeia_http_request_duration_seconds_count", { route: "/v1/jobs/:id", method: "GET", status: "2xx" })).toBeGreaterThanOrEqual(3);
    expect(v(m, "colmeia_http_request_duration_seconds_count", { route: "/v1/jobs/:id", method: "GET", status: "4xx" })).toBeGreaterThanOrEqual(1);
    expect(v(m, "colmeia_http_requests_total", { route: "/v1/jobs/:id", method: "GET", code: "200" })).toBeGreaterThanOrEqual(3);
    const bucket = (le: string) => v(m, "colmeia_http_request_duration_seconds_bucket", { route: "/v1/jobs/:id", method: "GET", status: "2xx", le });
    expect(bucket("+Inf")).toBeGreaterThanOrEqual(bucket("0.005"));
  });

  it("keeps its counters when the grid and metrics objects restart", { timeout: 30_000 }, async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 200, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const a = await volunteer();
    await submitAll(
      a,
      (await lease(a, 2)).filter((l) => l.jobId === job.id),
    );
    await call("GET", `/v1/jobs/${job.id}`, { token: ALICE });
    const before = await scrapeUntil("the job reported", (m) => v(m, "colmeia_shards_completed_total") >= 2);

    await evictDurableObject(env.GRID.get(env.GRID.idFromName("grid")));
    await evictDurableObject(env.METRICS.get(env.METRICS.idFromName("metrics")));

    const after = await scrape();
    for (const name of ["colmeia_shards_completed_total", "colmeia_results_submitted_total", "colmeia_jobs_created_total", "colmeia_leases_issued_total"]) {
      expect(v(after, name), name).toBeGreaterThanOrEqual(v(before, name));
      expect(v(after, name), name).toBeGreaterThan(0);
    }
    const requests = { route: "/v1/jobs/:id", method: "GET", code: "200" };
    expect(v(after, "colmeia_http_requests_total", requests)).toBeGreaterThanOrEqual(v(before, "colmeia_http_requests_total", requests));
    expect(v(after, "colmeia_http_requests_total", requests)).toBeGreaterThan(0);
  });
});
