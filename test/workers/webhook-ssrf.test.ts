import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../coordinator/app.ts";
import { ALICE, call, callJson, expectError } from "./helpers.ts";

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
});
