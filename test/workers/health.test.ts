import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HealthCheck } from "../../coordinator/routes/health.ts";
import { callWith, jobRows } from "./helpers.ts";

type Health = { verdict: "ok" | "degraded" | "failing"; checks: HealthCheck[] };

/** GET /v1/health/deep on the real app with these bindings (METRICS_TOKEN unset unless given). */
async function deep(bindings: Record<string, unknown> = {}): Promise<{ status: number; body: Health }> {
  const res = await callWith({ METRICS_TOKEN: "", ...bindings }, "GET", "/v1/health/deep");
  return { status: res.status, body: (await res.json()) as Health };
}

const check = (h: Health, prefix: string) => h.checks.find((c) => c.name.startsWith(prefix));

describe("GET /v1/health/deep", () => {
  it("answers ok with every check passing on a healthy grid", async () => {
    const { status, body } = await deep();
    expect(status).toBe(200);
    expect(body.verdict, JSON.stringify(body.checks, null, 1)).toBe("ok");
    for (const name of [
      "JOBS",
      "SUBMITTERS",
      "GRID",
      "VOLUNTEERS",
      "GATEWAYS",
      "var: GATEWAY_COUNT",
      "LIMITER",
      "METRICS",
      "BLOBS",
      "ASSETS",
      "storage headroom",
      "secret: SUBMIT_TOKENS",
      "secret: COLMEIA_SECRET",
    ]) {
      const c = check(body, name);
      expect(c, name).toMatchObject({ ok: true, ms: expect.any(Number), detail: expect.any(String) });
    }
  });

  it("leaves nothing behind: no probe job is created and the R2 probe object is deleted", async () => {
    await deep();
    // Storage is the behaviour: the probe must not leave a job object's tables behind.
    expect(await jobRows("health-probe", "SELECT name FROM sqlite_master")).toEqual([]);
    expect((await env.BLOBS.list({ prefix: "health/" })).objects).toEqual([]);
  });

  it("answers failing with 503 when a binding is broken, naming it", async () => {
    const { status, body } = await deep({ BLOBS: undefined });
    expect(status).toBe(503);
    expect(body.verdict).toBe("failing");
    expect(check(body, "BLOBS")).toMatchObject({ ok: false, detail: expect.stringContaining("BLOBS") });
    expect(check(body, "JOBS")).toMatchObject({ ok: true });

    const broken = { get: () => Promise.reject(new Error("bucket unavailable")), put: () => Promise.reject(new Error("bucket unavailable")) };
    const again = await deep({ BLOBS: broken });
    expect(again.status).toBe(503);
    expect(check(again.body, "BLOBS")).toMatchObject({ ok: false, detail: "bucket unavailable" });
  });

  it("answers failing without submitter tokens, degraded when only a warning fails", async () => {
    const noTokens = await deep({ SUBMIT_TOKENS: "" });
    expect(noTokens).toMatchObject({ status: 503, body: { verdict: "failing" } });
    expect(check(noTokens.body, "secret: SUBMIT_TOKENS")).toMatchObject({ ok: false });

    const noMetrics = await deep({ METRICS: undefined });
    expect(noMetrics).toMatchObject({ status: 200, body: { verdict: "degraded" } });
    expect(check(noMetrics.body, "METRICS")).toMatchObject({ ok: false });
  });

  it("reports the grid's own secret as the fallback when COLMEIA_SECRET is not set", async () => {
    const { body } = await deep({ COLMEIA_SECRET: "" });
    expect(body.verdict).toBe("ok");
    expect(check(body, "secret: COLMEIA_SECRET")).toMatchObject({ ok: true, detail: expect.stringContaining("grid object") });
  });

  it("reads every gateway, and degrades on a GATEWAY_COUNT it cannot use, naming it", async () => {
    const four = await deep({ GATEWAY_COUNT: "4" });
    expect(four.body.verdict).toBe("ok");
    expect(check(four.body, "GATEWAYS")).toMatchObject({ ok: true, detail: expect.stringMatching(/^4 gateways answered; \d+ sessions open/) });

    const bad = await deep({ GATEWAY_COUNT: "lots" });
    expect(bad).toMatchObject({ status: 200, body: { verdict: "degraded" } });
    expect(check(bad.body, "var: GATEWAY_COUNT")).toMatchObject({ ok: false, detail: expect.stringContaining('"lots"') });
    expect(check(bad.body, "GATEWAYS")).toMatchObject({ ok: true, detail: expect.stringMatching(/^16 gateways answered/) });

    const none = await deep({ GATEWAYS: undefined });
    expect(none).toMatchObject({ status: 503, body: { verdict: "failing" } });
    expect(check(none.body, "GATEWAYS")).toMatchObject({ ok: false, detail: expect.stringContaining("GATEWAYS") });
  });
});
