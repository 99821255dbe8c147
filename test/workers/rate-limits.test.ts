import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../coordinator/app.ts";
import { addressKey } from "../../coordinator/rate-limit.ts";
import { sha256Hex } from "../../shared/canonical.ts";
import { LIMITS } from "../../shared/limits.ts";
import { callJson, createJob, expectError, volunteer } from "./helpers.ts";

/** Tokens of this file only, so lowering their limits touches no other test. */
const [ONE, TWO] = ["tok-rate-one", "tok-rate-two"];

interface Send {
  token?: string;
  ip?: string;
  body?: unknown;
  bindings?: Record<string, string>;
}

/** One request to the real app with explicit bindings (`.dev.vars` may hold unrelated values). */
async function send(method: string, path: string, { token, ip, body, bindings = {} }: Send = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (ip) headers["cf-connecting-ip"] = ip;
  if (body !== undefined) headers["content-type"] = "application/json";
  const ctx = createExecutionContext();
  const req = new Request(`http://x${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const res = await app.fetch(req, { ...env, SUBMIT_TOKENS: `${ONE},${TWO}`, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Expects the contract's 429 with a whole number of seconds to wait. */
async function expectLimited(res: Response): Promise<number> {
  expect(res.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
  expect((await expectError(res, 429)).code).toBe("rate_limited");
  return Number(res.headers.get("retry-after"));
}

const job = { kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 } };
const submitter = async (token: string) => {
  const id = `s_${(await sha256Hex(`submitter:${token}`)).slice(0, 24)}`;
  return env.SUBMITTERS.get(env.SUBMITTERS.idFromName(id));
};

describe("rate limits per submitter token", () => {
  it("answers 429 rate_limited with retry-after past a token's limit, creates nothing, and leaves other tokens alone", async () => {
    const three = { SUBMIT_RATE_PER_MINUTE: "3" };
    expect((await send("GET", "/v1/jobs", { token: ONE, bindings: three })).status).toBe(200);
    const created = await send("POST", "/v1/jobs", { token: ONE, body: job, bindings: three });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await send("GET", `/v1/jobs/${id}`, { token: ONE, bindings: three })).status).toBe(200);

    const wait = await expectLimited(await send("POST", "/v1/jobs", { token: ONE, body: job, bindings: three }));
    expect(wait).toBeLessThanOrEqual(60);
    await expectLimited(
      await send("POST", "/v1/kernels", {
        token: ONE,
        body: { name: "k", language: "js", source: "export function compute() { return 1; }", reduce: "sum" },
        bindings: three,
      }),
    );
    await expectLimited(await send("POST", "/v1/datasets?name=a.txt", { token: ONE, body: "a\nb\n", bindings: three }));
    await expectLimited(await send("DELETE", `/v1/jobs/${id}`, { token: ONE, bindings: three }));

    // Nothing the refused calls asked for exists: one job, no kernel, no dataset, and the job still runs.
    const mine = await submitter(ONE);
    expect((await mine.jobs(100)).map((j) => j.id)).toEqual([id]);
    expect(await mine.kernelCount()).toBe(0);
    expect(await mine.datasets()).toEqual([]);

    // Another token has its own bucket.
    const other = await send("POST", "/v1/jobs", { token: TWO, body: job, bindings: three });
    expect(other.status).toBe(201);
    const otherId = ((await other.json()) as { id: string }).id;

    // Raised again (the operator's binding), the same token is served: cancel what this test made.
    for (const [token, jobId] of [
      [ONE, id],
      [TWO, otherId],
    ] as const) {
      const res = await send("DELETE", `/v1/jobs/${jobId}`, { token, bindings: { SUBMIT_RATE_PER_MINUTE: "100000" } });
      expect((await res.json()) as object).toMatchObject({ state: "cancelled" });
    }
  });

  it("publishes the limits in /openapi.json", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    expect(body["x-colmeia-limits"]).toMatchObject({
      submitterCallsPerMinute: LIMITS.submitterCallsPerMinute,
      addressCallsPerMinute: LIMITS.addressCallsPerMinute,
    });
  });
});

describe("rate limits per client address", () => {
  it("keys IPv6 callers by their /64 and IPv4 callers by the whole address", () => {
    expect(addressKey("2001:db8:0:1::7")).toBe(addressKey("2001:0DB8:0000:0001:ffff:ffff:ffff:fffe"));
    expect(addressKey("2001:db8:0:1::7")).not.toBe(addressKey("2001:db8:0:2::7"));
    expect(addressKey("::ffff:192.0.2.1")).toBe(addressKey("192.0.2.1"));
    expect(addressKey("192.0.2.1")).not.toBe(addressKey("192.0.2.2"));
    expect(addressKey("2001:db8::")).toBe(addressKey("2001:db8:0:0:1:2:3:4"));
  });

  it("leaves loopback callers (every volunteer of a local grid) unlimited", async () => {
    const two = { ADDRESS_RATE_PER_MINUTE: "2" };
    for (const ip of ["127.0.0.1", "::1"]) {
      for (let i = 0; i < 5; i++) expect((await send("GET", "/v1/stats", { ip, bindings: two })).status).toBe(200);
    }
  });

  it("makes IPv6 addresses in one /64 share a bucket and leaves other /64s alone, on anonymous and volunteer calls", async () => {
    const two = { ADDRESS_RATE_PER_MINUTE: "2" };
    const v = await volunteer();
    expect((await send("GET", "/v1/stats", { ip: "2001:db8:aa:1::1", bindings: two })).status).toBe(200);
    expect((await send("GET", "/v1/volunteers/me", { token: v.token, ip: "2001:db8:aa:1:ffff::2", bindings: two })).status).toBe(200);
    await expectLimited(await send("GET", "/v1/stats", { ip: "2001:db8:aa:1:1:2:3:4", bindings: two }));
    await expectLimited(await send("POST", "/v1/leases", { token: v.token, ip: "2001:db8:aa:1::9", body: { max: 1 }, bindings: two }));
    await expectLimited(await send("POST", "/v1/volunteers", { ip: "2001:db8:aa:1::10", body: {}, bindings: two }));
    // The neighbouring /64 (same /48) has a bucket of its own.
    expect((await send("GET", "/v1/stats", { ip: "2001:db8:aa:2::1", bindings: two })).status).toBe(200);
    expect((await send("GET", "/v1/volunteers/me", { token: v.token, ip: "2001:db8:aa:2::2", bindings: two })).status).toBe(200);
    // IPv4: the whole address is the key.
    for (let i = 0; i < 2; i++) expect((await send("GET", "/v1/stats", { ip: "203.0.113.7", bindings: two })).status).toBe(200);
    await expectLimited(await send("GET", "/v1/stats", { ip: "203.0.113.7", bindings: two }));
    expect((await send("GET", "/v1/stats", { ip: "203.0.113.8", bindings: two })).status).toBe(200);
  });

  it("limits the deep health check per address, open or guarded, as /metrics is", async () => {
    const two = { ADDRESS_RATE_PER_MINUTE: "2", METRICS_TOKEN: "" };
    for (let i = 0; i < 2; i++) expect((await send("GET", "/v1/health/deep", { ip: "198.51.100.90", bindings: two })).status).not.toBe(429);
    await expectLimited(await send("GET", "/v1/health/deep", { ip: "198.51.100.90", bindings: two }));
    // The bucket is the address's, whoever asks: a caller holding the operator token shares it.
    await expectLimited(await send("GET", "/v1/health/deep", { ip: "198.51.100.90", token: "op-secret", bindings: { ...two, METRICS_TOKEN: "op-secret" } }));
    expect((await send("GET", "/v1/health/deep", { ip: "198.51.100.91", bindings: two })).status).not.toBe(429);
  });

  it("refuses a lease call past the limit without handing out its shard", async () => {
    const one = { ADDRESS_RATE_PER_MINUTE: "1" };
    const { id } = await createJob(job);
    const v = await volunteer();
    expect((await send("GET", "/v1/stats", { ip: "198.51.100.77", bindings: one })).status).toBe(200);
    await expectLimited(await send("POST", "/v1/leases", { token: v.token, ip: "198.51.100.77", body: { max: 1 }, bindings: one }));
    const res = await send("POST", "/v1/leases", { token: v.token, ip: "198.51.100.78", body: { max: 1 }, bindings: one });
    expect(((await res.json()) as { leases: { jobId: string }[] }).leases.map((l) => l.jobId)).toEqual([id]);
  });

  it("does not throttle volunteers at the default limit: 300 calls at once from one address all pass", async () => {
    const v = await volunteer();
    const answers = await Promise.all(Array.from({ length: 300 }, () => send("GET", "/v1/volunteers/me", { token: v.token, ip: "192.0.2.200" })));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
  });
});
