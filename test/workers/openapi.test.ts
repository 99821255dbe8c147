import { describe, expect, it } from "vitest";
import { LIMITS } from "../../shared/limits.ts";
import { callJson } from "./helpers.ts";

describe("service description", () => {
  it("answers /healthz with 200", async () => {
    expect((await callJson("GET", "/healthz")).status).toBe(200);
  });

  it("serves /openapi.json describing every endpoint of the contract", async () => {
    const res = await callJson("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body.openapi).toMatch(/^3\./);
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const expected: [string, string][] = [
      ["/v1/jobs", "post"],
      ["/v1/jobs", "get"],
      ["/v1/jobs/{id}", "get"],
      ["/v1/jobs/{id}", "delete"],
      ["/v1/jobs/{id}/result", "get"],
      ["/v1/jobs/{id}/events", "get"],
      ["/v1/webhook-secret", "get"],
      ["/v1/volunteers", "post"],
      ["/v1/leases", "post"],
      ["/v1/leases/{id}/result", "post"],
      ["/v1/results", "post"],
      ["/v1/leases/{id}/heartbeat", "post"],
      ["/v1/leases/{id}/release", "post"],
      ["/v1/stats", "get"],
      ["/healthz", "get"],
      ["/metrics", "get"],
      ["/v1/health/deep", "get"],
    ];
    for (const [path, method] of expected) expect(paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
  });

  it("publishes the limits the coordinator enforces", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    expect(body["x-colmeia-limits"]).toEqual(JSON.parse(JSON.stringify(LIMITS)));
    expect(body["x-colmeia-limits"]).toMatchObject({ jobBodyBytes: 8 * 1024 * 1024, bodyBytes: 1024 * 1024, leasesPerCall: 64, resultsPerCall: 64 });
    expect(body["x-colmeia-limits"].rangeShards).toBeGreaterThanOrEqual(10_000_000);
    expect(Object.keys(body["x-colmeia-kernels"])).toEqual(expect.arrayContaining(["primes.count", "wordcount"]));
  });

  it("lists the metric families GET /metrics exports", async () => {
    const { body } = await callJson("GET", "/openapi.json");
    const names = (body["x-colmeia-metrics"] as { name: string; type: string }[]).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(["colmeia_volunteers_active", "colmeia_shards_completed_total", "colmeia_http_request_duration_seconds"]));
  });
});
