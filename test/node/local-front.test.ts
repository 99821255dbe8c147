import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";

// `npm start` serves through the Worker's LocalFront entrypoint (coordinator/local-front.ts), not
// Miniflare's entry and assets router: it must route every path as they did.
let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ vars: { REGISTRATIONS_PER_MINUTE: "5" } });
});
afterAll(async () => {
  await server?.stop();
});

describe("npm start's front door", () => {
  it("serves the static assets with their _headers: the volunteer page, its bundle, the dashboard", async () => {
    for (const [path, type] of [
      ["/", "text/html"],
      ["/build/volunteer.js", "text/javascript"],
      ["/dashboard", "text/html"],
    ] as const) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toContain(type);
      expect(res.headers.get("content-security-policy"), path).toContain("connect-src 'self'");
    }
    expect(await (await fetch(server.url)).text()).toContain("/build/volunteer.js");
  });

  it("redirects as the assets router does, and leaves unknown paths and other methods to the coordinator", async () => {
    const redirect = await fetch(`${server.url}/index.html`, { redirect: "manual" });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get("location")).toBe("/");
    for (const [method, path] of [
      ["GET", "/no-such-file.js"],
      ["POST", "/"],
      ["GET", "/v1/no-such-route"],
    ]) {
      const res = await fetch(`${server.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await res.json()) as unknown, `${method} ${path}`).toMatchObject({ error: { code: "not_found" } });
    }
  });

  it("routes the API, the health check and the contract to the coordinator", async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true });
    expect((await fetch(`${server.url}/openapi.json`)).headers.get("content-type")).toContain("application/json");
    const reg = await fetch(`${server.url}/v1/volunteers`, { method: "POST" });
    expect(reg.status).toBe(201);
    expect(await reg.json()).toMatchObject({ token: expect.any(String) });
  });

  it("ignores a CF-Connecting-IP the client sends: a forged address gets no rate-limit bucket of its own", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${server.url}/v1/volunteers`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": `203.0.113.${i + 1}` },
        body: "{}",
      });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    // Five registrations a minute from here, whatever address each request claims.
    expect(statuses.filter((s) => s === 201).length).toBeLessThanOrEqual(5);
    expect(statuses).toContain(429);
  });
});
