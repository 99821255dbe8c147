import { describe, expect, it } from "vitest";
import { workerFirst } from "../../coordinator/local-front.ts";

describe("npm start's front door: which paths the coordinator answers before any asset", () => {
  it("matches run_worker_first globs as Cloudflare does: * spans slashes, nothing else is a wildcard", () => {
    const first = workerFirst(["/v1/*", "/healthz", "/dashboard"]);
    for (const path of ["/v1/jobs", "/v1/leases/j_1.2.x/result", "/v1/", "/healthz", "/dashboard"]) expect(first(path), path).toBe(true);
    for (const path of ["/", "/v1", "/healthz/", "/healthzz", "/dashboard.html", "/build/volunteer.js", "/xv1/jobs"]) expect(first(path), path).toBe(false);
    // A dot is a dot, not "any character".
    expect(workerFirst(["/openapi.json"])("/openapiXjson")).toBe(false);
  });

  it("lets an exclusion win over an inclusion", () => {
    const first = workerFirst(["/v1/*", "!/v1/public/*"]);
    expect(first("/v1/jobs")).toBe(true);
    expect(first("/v1/public/logo.png")).toBe(false);
    expect(workerFirst([])("/v1/jobs")).toBe(false);
  });
});
