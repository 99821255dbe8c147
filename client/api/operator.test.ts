import { describe, expect, it } from "vitest";
import { operatorClient } from "./operator.ts";

const answering = (status: number, body: unknown) => {
  const seen: string[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("authorization") ?? "-"}`);
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }) as typeof globalThis.fetch;
  return { seen, client: operatorClient({ url: "http://grid.test", token: "op", fetch }) };
};
const checks = [{ name: "BLOBS", ok: false, ms: 3, detail: "bucket missing" }];

describe("operatorClient.deepHealth", () => {
  it("answers a failing verdict's 503 with its checks, sending the operator token", async () => {
    const { client, seen } = answering(503, { verdict: "failing", checks, at: 1 });
    expect(await client.deepHealth()).toEqual({ verdict: "failing", checks, at: 1 });
    expect(seen).toEqual(["GET /v1/health/deep Bearer op"]);
  });

  it("throws the contract's error for a refused call, and a bad response for anything else", async () => {
    await expect(answering(401, { error: { code: "unauthorized", message: "operator token" } }).client.deepHealth()).rejects.toMatchObject({
      status: 401,
      code: "unauthorized",
    });
    await expect(answering(503, { error: { code: "unavailable", message: "down" } }).client.deepHealth()).rejects.toMatchObject({
      status: 503,
      code: "unavailable",
    });
    await expect(answering(200, { verdict: "fine", checks: [] }).client.deepHealth()).rejects.toMatchObject({ code: "bad_response" });
  });
});
