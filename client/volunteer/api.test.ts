import { describe, expect, it } from "vitest";
import { ColmeiaError } from "../api/errors.ts";
import { callError, createVolunteerApi, memoryIdentity } from "./api.ts";

type Handler = (method: string, path: string, headers: Record<string, string>, body: unknown) => Response;
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** An API client over a scripted fetch; `seen` lists "METHOD path token". */
function client(handler: Handler, identity = memoryIdentity()) {
  const seen: string[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const headers = Object.fromEntries(req.headers);
    const { pathname } = new URL(req.url);
    const text = await req.text();
    seen.push(`${req.method} ${pathname} ${headers.authorization ?? "-"}`);
    return handler(req.method, pathname, headers, text ? JSON.parse(text) : undefined);
  }) as typeof globalThis.fetch;
  return { api: createVolunteerApi({ baseUrl: "http://grid.test", identity, fetch }), seen, identity };
}

describe("createVolunteerApi", () => {
  it("registers once, stores the identity and reuses it", async () => {
    let n = 0;
    const { api, seen, identity } = client((_m, path) =>
      path === "/v1/volunteers" ? json(201, { id: `v${++n}`, token: `tok${n}` }) : json(200, { leases: [] }),
    );
    await api.lease(2);
    await api.lease(2);
    expect(seen).toEqual(["POST /v1/volunteers -", "POST /v1/leases Bearer tok1", "POST /v1/leases Bearer tok1"]);
    expect(await identity.load()).toEqual({ id: "v1", token: "tok1" });
    expect(api.currentIdentity()).toEqual({ id: "v1", token: "tok1" });
  });

  it("registers afresh and retries once when the stored token is refused", async () => {
    const { api, seen } = client(
      (_m, path, headers) =>
        path === "/v1/volunteers"
          ? json(201, { id: "v2", token: "new" })
          : headers.authorization === "Bearer new"
            ? json(200, { leases: [] })
            : json(401, { error: { code: "unauthorized", message: "unknown volunteer token" } }),
      memoryIdentity({ id: "v1", token: "old" }),
    );
    expect(await api.lease(1)).toEqual([]);
    expect(seen).toEqual(["POST /v1/leases Bearer old", "POST /v1/volunteers -", "POST /v1/leases Bearer new"]);
  });

  it("reports an unreachable coordinator as a retryable error with status 0", async () => {
    const { api } = createFailing();
    const err = await api.lease(1).catch((e) => e);
    expect(err).toBeInstanceOf(ColmeiaError);
    expect(err).toMatchObject({ status: 0, retryable: true });
  });

  it("carries the error code, message and retry-after of a refused call", async () => {
    const { api } = client(
      () => json(429, { error: { code: "rate_limited", message: "slow down" } }, { "retry-after": "3" }),
      memoryIdentity({ id: "v", token: "t" }),
    );
    expect(await api.lease(1).catch((e) => e)).toMatchObject({ status: 429, code: "rate_limited", message: "slow down", retryAfterMs: 3000, retryable: true });
  });

  it("treats an unexpected throw as retryable, so the core keeps the result or lease it was about", () => {
    expect(callError(new TypeError("x is undefined"))).toMatchObject({ status: 0, retryable: true, message: "unexpected failure: x is undefined" });
    const refused = new ColmeiaError(409, "already_submitted", "once");
    expect(callError(refused)).toBe(refused);
  });

  it("answers null from me() when the coordinator does not offer GET /v1/volunteers/me", async () => {
    const { api } = client(() => json(404, { error: { code: "not_found", message: "no route" } }), memoryIdentity({ id: "v", token: "t" }));
    expect(await api.me()).toBeNull();
  });

  it("sends results in one batch call and returns the per-lease answers in order", async () => {
    let body: unknown;
    const { api } = client(
      (_m, _p, _h, b) => (
        (body = b),
        json(200, {
          results: [
            { leaseId: "a", status: 202 },
            { leaseId: "b", status: 410 },
          ],
        })
      ),
      memoryIdentity({ id: "v", token: "t" }),
    );
    const out = await api.submit([
      { leaseId: "a", output: { count: 1 } },
      { leaseId: "b", output: { count: 2 } },
    ]);
    expect(body).toEqual({
      results: [
        { leaseId: "a", output: { count: 1 } },
        { leaseId: "b", output: { count: 2 } },
      ],
    });
    expect(out.map((r) => r.status)).toEqual([202, 410]);
  });
});

function createFailing() {
  const fetch = (async () => {
    throw new TypeError("fetch failed");
  }) as typeof globalThis.fetch;
  return { api: createVolunteerApi({ baseUrl: "http://grid.test", identity: memoryIdentity(), fetch }) };
}
