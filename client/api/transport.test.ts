import { describe, expect, it } from "vitest";
import { ColmeiaError } from "./errors.ts";
import { hasList } from "./guards.ts";
import { expectOk, parseRetryAfter, readJson, transportFetch } from "./transport.ts";

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("the call should have failed"),
    (error: unknown) => {
      expect(error).toBeInstanceOf(ColmeiaError);
      return error as ColmeiaError;
    },
  );

describe("ColmeiaError", () => {
  it("calls network failures, 429 and 5xx retryable, and nothing else", () => {
    const retryable = (status: number, code = "x") => new ColmeiaError(status, code, "m").retryable;
    const yes: [number, string?][] = [[0, "unreachable"], [429], [500], [502], [503]];
    const no: [number, string?][] = [[0, "invalid_id"], [0, "invalid_url"], [400], [401], [404], [409], [410]];
    for (const [status, code] of yes) expect(retryable(status, code), `${status} ${code}`).toBe(true);
    for (const [status, code] of no) expect(retryable(status, code), `${status} ${code}`).toBe(false);
  });

  it("carries the coordinator's retry-after as milliseconds, in seconds or as a date, and nothing when it said nothing", async () => {
    const limited = await failure(readJson(answer(429, { error: { code: "rate_limited", message: "slow down" } }, { "retry-after": "3" })));
    expect(limited).toMatchObject({ status: 429, code: "rate_limited", message: "slow down", retryable: true, retryAfterMs: 3000 });

    const later = new Date(Date.now() + 60_000).toUTCString();
    const busy = await failure(expectOk(answer(503, "<html>busy</html>", { "retry-after": later })));
    expect(busy).toMatchObject({ status: 503, code: "http_error", retryable: true });
    expect(busy.retryAfterMs).toBeGreaterThan(55_000);
    expect(busy.retryAfterMs).toBeLessThanOrEqual(60_000);

    const gone = await failure(readJson(answer(404, { error: { code: "job_not_found", message: "no such job" } })));
    expect(gone).toMatchObject({ status: 404, code: "job_not_found", retryable: false, retryAfterMs: undefined });
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(" ")).toBeUndefined();
    expect(parseRetryAfter("0")).toBe(0);
  });

  it("is what a network failure becomes: status 0, unreachable, retryable", async () => {
    const down = transportFetch({ fetch: () => Promise.reject(new TypeError("fetch failed")) });
    const error = await failure(down("http://127.0.0.1:9/v1/jobs"));
    expect(error).toMatchObject({ status: 0, code: "unreachable", retryable: true, retryAfterMs: undefined });
    expect(error.message).toMatch(/^cannot reach the coordinator at http:\/\/127\.0\.0\.1:9 \(fetch failed\)/);
  });

  it("gives up an attempt after timeoutMs as unreachable, unless the caller brought its own signal", async () => {
    // A coordinator that never answers: only an abort ends the call.
    const hang = (_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
    const limited = transportFetch({ fetch: hang, timeoutMs: 30 });
    expect(await failure(limited("http://127.0.0.1:9/v1/leases"))).toMatchObject({ status: 0, code: "unreachable", retryable: true });
    const own = new AbortController();
    const mine = limited("http://127.0.0.1:9/v1/leases", { signal: own.signal });
    setTimeout(() => own.abort(new Error("caller stopped")), 80);
    await expect(mine).rejects.toThrow("caller stopped");
  });
});

describe("readJson", () => {
  it("hands back the answer exactly as sent, fields it does not know included", async () => {
    const sent = { id: "j_1", state: "running", shards: { total: 2, done: 0, failed: 0, later: { x: 1 } }, extra: [1] };
    expect(await readJson(answer(201, sent))).toEqual(sent);
  });

  it("calls an answer that is not a JSON object a bad response, unless any body will do", async () => {
    for (const body of ["<html>hello</html>", "[1,2]", "null", ""]) {
      expect(await failure(readJson(answer(200, body)))).toMatchObject({ status: 200, code: "bad_response" });
    }
    expect(await readJson(answer(200, "[1,2]"), "any")).toEqual([1, 2]);
    expect(await readJson(answer(200, ""), "any")).toBeUndefined();
  });

  it("calls an answer that fails the guard it is read with a bad response", async () => {
    expect(await failure(readJson(answer(200, { leases: "none" }), hasList("leases")))).toMatchObject({ status: 200, code: "bad_response" });
    expect(await readJson(answer(200, { leases: [] }), hasList("leases"))).toEqual({ leases: [] });
  });

  it("keeps the status of an error answer that is not the contract's error body", async () => {
    const error = await failure(readJson(answer(502, { message: "bad gateway" })));
    expect(error).toMatchObject({ status: 502, code: "http_error", retryable: true });
  });
});
