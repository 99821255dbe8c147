import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./helpers.ts";

describe("pages", () => {
  it("serves the volunteer page under a policy that lets it talk to its own origin only", async () => {
    const res = await env.ASSETS.fetch("http://x/");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/build/volunteer.js");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("worker-src 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("serves the dashboard at /dashboard", async () => {
    const res = await call("GET", "/dashboard");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/build/dashboard.js");
  });
});
