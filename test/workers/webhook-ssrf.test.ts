import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../coordinator/app.ts";
import { deliver } from "../../coordinator/job/webhook.ts";
import type { JobStatus } from "../../shared/schemas.ts";
import { ALICE, callJson, expectError } from "./helpers.ts";

const job = (url: string) => ({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, notify: { url } });
/** Creates a job through the app with WEBHOOK_HTTP_HOSTS set as given (whatever a local .dev.vars says). */
async function post(url: string, hosts = ""): Promise<Response> {
  const ctx = createExecutionContext();
  const req = new Request("http://x/v1/jobs", {
    method: "POST",
    headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
    body: JSON.stringify(job(url)),
  });
  const res = await app.fetch(req, { ...env, WEBHOOK_HTTP_HOSTS: hosts }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const jobCount = async () => (await callJson<{ jobs: unknown[] }>("GET", "/v1/jobs?limit=500", { token: ALICE })).body.jobs.length;

describe("webhook targets (no server-side request forgery)", () => {
  it.each([
    ["plain http", "http://hooks.example.invalid/x"],
    ["a loopback IPv4 literal", "https://127.0.0.1/x"],
    ["a decimal IPv4 host", "https://2130706433/x"],
    ["a hex IPv4 host", "https://0x7f.0.0.1/x"],
    ["the cloud metadata address", "https://169.254.169.254/latest/meta-data/"],
    ["a private address", "https://10.0.0.8/x"],
    ["an IPv6 literal", "https://[::1]/x"],
    ["an IPv4-mapped IPv6 literal", "https://[::ffff:127.0.0.1]/x"],
    ["localhost", "https://localhost/x"],
    ["a .localhost name", "https://api.localhost/x"],
    ["an .internal name", "https://metadata.google.internal/x"],
    ["a single-label intranet name", "https://intranet/x"],
    ["credentials in the URL", "https://user:pw@hooks.example.invalid/x"],
    ["an octal IPv4 host", "https://0177.0.0.1/x"],
    ["the unspecified address", "https://0.0.0.0/x"],
    ["the integer 0 (0.0.0.0)", "https://0/x"],
    ["a carrier-grade NAT address", "https://100.64.0.1/x"],
    ["a multicast address", "https://224.0.0.1/x"],
    ["a public IPv4 literal", "https://93.184.216.34/x"],
    ["an IPv6 link-local literal", "https://[fe80::1]/x"],
    ["an IPv6 unique-local literal", "https://[fd00::1]/x"],
    ["an IPv4-mapped IPv6 literal in hex", "https://[::ffff:7f00:1]/x"],
    ["a .local name", "https://printer.local/x"],
    ["localhost with a trailing dot", "https://localhost./x"],
    ["a .localhost name with trailing dots", "https://api.localhost../x"],
    ["an .internal name with a trailing dot", "https://metadata.google.internal./x"],
    ["a URL longer than 2048 characters", `https://hooks.example.invalid/${"a".repeat(2048)}`],
  ])("refuses %s with a 400 naming notify.url, creating nothing", async (_, url) => {
    const before = await jobCount();
    const err = await expectError(post(url), 400);
    expect(err.message).toMatch(/^notify\.url: /);
    expect(await jobCount()).toBe(before);
  });

  it("accepts a public https host", async () => {
    const res = await post("https://hooks.example.invalid/colmeia");
    // Left running (never cancelled or finished), so no delivery is ever attempted from the test.
    expect(res.status).toBe(201);
  });

  it("allows plain http to a local host only when the operator lists it in WEBHOOK_HTTP_HOSTS", async () => {
    expect((await post("http://127.0.0.1:9999/hook")).status).toBe(400);
    const res = await post("http://127.0.0.1:9999/hook", "127.0.0.1, localhost");
    expect(res.status).toBe(201);
  });

  it("matches allow-list entries as the URL parser spells hosts (an IPv6 entry without brackets)", async () => {
    expect((await post("http://[::1]:9999/hook", "")).status).toBe(400);
    expect((await post("http://[::1]:9999/hook", "::1")).status).toBe(201);
    expect((await post("http://LocalHost.:9999/hook", "localhost")).status).toBe(201);
  });
});

describe("webhook delivery", () => {
  const status = {
    id: "j_test",
    kernel: "primes.count",
    state: "done",
    shards: { total: 1, done: 1, failed: 0 },
    createdAt: 1,
    updatedAt: 2,
  } satisfies JobStatus;
  const pending = (url: string) => ({ url, state: "pending" as const, attempts: 0 });
  afterEach(() => vi.restoreAllMocks());

  it("treats a redirect as a failed attempt and never follows it", async () => {
    const fetch = vi
      .spyOn(globalThis, "fetch")
      .mockResolvedValue(new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }));
    const next = await deliver(pending("https://hooks.example.invalid/x"), status, "s3cret", 1000, []);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: "POST", redirect: "manual" });
    expect(next).toMatchObject({ state: "pending", attempts: 1 });
  });

  it("keeps nothing of what the target answered: only the state, the attempts and the next try", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(
      new Response("internal admin console v2.3 at 10.0.0.8", { status: 500, headers: { server: "secret-box" } }),
    );
    const failed = await deliver(pending("https://hooks.example.invalid/x"), status, "s3cret", 1000, []);
    expect(Object.keys(failed).sort()).toEqual(["attempts", "nextAt", "state", "url"]);
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new Error("connect ECONNREFUSED 10.0.0.8:443"));
    const refused = await deliver(failed, status, "s3cret", 2000, []);
    expect(Object.keys(refused).sort()).toEqual(["attempts", "nextAt", "state", "url"]);
    expect(refused).toMatchObject({ state: "pending", attempts: 2 });
  });

  it("gives up without a request a target the rules refuse now (stored before them, or no longer allowed)", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(null, { status: 204 }));
    for (const url of ["http://127.0.0.1:9999/hook", "https://169.254.169.254/latest/meta-data/", "https://localhost./x"]) {
      expect(await deliver(pending(url), status, "s3cret", 1000, [])).toEqual({ url, state: "gave_up", attempts: 0 });
    }
    expect(fetch).not.toHaveBeenCalled();
    const allowed = await deliver(pending("http://127.0.0.1:9999/hook"), status, "s3cret", 1000, ["127.0.0.1"]);
    expect(allowed).toEqual({ url: "http://127.0.0.1:9999/hook", state: "delivered", attempts: 1 });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
