import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../client/api/sse.ts";
import { compute } from "../../shared/kernels/compute.ts";
import { JobStatus, type Lease } from "../../shared/schemas.ts";

const ALICE = { authorization: "Bearer tok-alice" };
const BOB = { authorization: "Bearer tok-bob" };
const created: string[] = [];

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(`http://x${path}`, init);
}

async function createJob(shards: number): Promise<string> {
  const res = await call("/v1/jobs", {
    method: "POST",
    headers: { ...ALICE, "content-type": "application/json" },
    body: JSON.stringify({
      kernel: "primes.count",
      range: { start: 0, end: shards * 1000, step: 1000 },
      replication: { replicas: 1, quorum: 1 },
    }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  created.push(id);
  return id;
}

async function volunteer(): Promise<string> {
  const res = await call("/v1/volunteers", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** Leases and completes one shard of `jobId` as a plain HTTP volunteer; other jobs' leases go back. */
async function completeOne(token: string, jobId: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  for (let tries = 0; tries < 50; tries++) {
    const res = await call("/v1/leases", { method: "POST", headers, body: JSON.stringify({ max: 1 }) });
    const { leases } = (await res.json()) as { leases: Lease[] };
    const lease = leases[0];
    if (!lease) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (lease.jobId !== jobId) {
      await call(`/v1/leases/${lease.id}/release`, { method: "POST", headers, body: "{}" });
      continue;
    }
    const output = compute[lease.kernel]!(lease.input, lease.params);
    const sent = await call(`/v1/leases/${lease.id}/result`, { method: "POST", headers, body: JSON.stringify({ output }) });
    expect(sent.status).toBe(202);
    return;
  }
  throw new Error(`no lease of ${jobId} came within 50 tries`);
}

function openEvents(jobId: string, headers: Record<string, string> = ALICE): Promise<Response> {
  return call(`/v1/jobs/${jobId}/events`, { headers });
}

/** Reads a whole stream (it must end by itself) into events with parsed statuses. */
async function drain(res: Response): Promise<{ id: number; status: JobStatus; raw: SseEvent }[]> {
  const out = [];
  for await (const e of readSse(res.body!)) out.push({ id: Number(e.id), status: JobStatus.parse(JSON.parse(e.data)), raw: e });
  return out;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  // A job left running would keep handing out leases to later tests' volunteers.
  for (const id of created.splice(0)) await call(`/v1/jobs/${id}`, { method: "DELETE", headers: ALICE });
});

describe("GET /v1/jobs/:id/events", () => {
  it("streams a running job's progress in order and ends after the final state", async () => {
    const id = await createJob(5);
    const res = await openEvents(id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = drain(res);

    const token = await volunteer();
    for (let i = 0; i < 5; i++) {
      await completeOne(token, id);
      await pause(300); // wider than the hub's 250 ms coalescing gap, so each shard shows up
    }
    const got = await events;

    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got.every((e) => e.raw.event === "status" && e.status.id === id)).toBe(true);
    expect(got[0]!.status).toMatchObject({ state: "running", shards: { total: 5, done: 0, failed: 0 } });
    for (let i = 1; i < got.length; i++) {
      expect(got[i]!.id).toBeGreaterThan(got[i - 1]!.id);
      expect(got[i]!.status.shards.done).toBeGreaterThanOrEqual(got[i - 1]!.status.shards.done);
    }
    const last = got.at(-1)!.status;
    expect(last.state).toBe("done");
    expect(last.shards).toEqual({ total: 5, done: 5, failed: 0, awaitingConfirmation: 0 });
    expect(got.slice(0, -1).every((e) => e.status.state === "running")).toBe(true);
    // The stream's data is exactly what GET /v1/jobs/:id answers.
    const status = await (await call(`/v1/jobs/${id}`, { headers: ALICE })).json();
    expect(got.at(-1)!.status).toEqual(status);
  });

  it("on reconnect with an old Last-Event-ID sends the current status at once", async () => {
    const id = await createJob(3);
    const first = await openEvents(id);
    const reader = readSse(first.body!);
    const opening = (await reader.next()).value!;
    await reader.return(undefined);

    const token = await volunteer();
    await completeOne(token, id);
    await completeOne(token, id);
    await pause(300);

    const again = readSse((await openEvents(id, { ...ALICE, "last-event-id": opening.id! })).body!);
    const caughtUp = (await again.next()).value!;
    await again.return(undefined);
    expect(Number(caughtUp.id)).toBeGreaterThan(Number(opening.id));
    expect(JSON.parse(caughtUp.data)).toMatchObject({ id, state: "running", shards: { done: 2 } });
  });

  it("on reconnect with the current Last-Event-ID repeats nothing and sends only later changes", async () => {
    const id = await createJob(3);
    const token = await volunteer();
    await completeOne(token, id);
    await pause(300);
    const current = readSse((await openEvents(id)).body!);
    const latest = (await current.next()).value!;
    await current.return(undefined);
    expect(JSON.parse(latest.data)).toMatchObject({ shards: { done: 1 } });

    const resumed = readSse((await openEvents(id, { ...ALICE, "last-event-id": latest.id! })).body!);
    const next = resumed.next(); // must not be the status the client already has
    await pause(100);
    await completeOne(token, id);
    const change = (await next).value!;
    await resumed.return(undefined);
    expect(Number(change.id)).toBeGreaterThan(Number(latest.id));
    expect(JSON.parse(change.data)).toMatchObject({ shards: { done: 2 } });
  });

  it("for a finished job sends the final status once, or nothing when the client already has it", async () => {
    const id = await createJob(1);
    await completeOne(await volunteer(), id);
    const fresh = await drain(await openEvents(id));
    expect(fresh.map((e) => e.status.state)).toEqual(["done"]);

    const resumed = await drain(await openEvents(id, { ...ALICE, "last-event-id": String(fresh[0]!.id) }));
    expect(resumed).toEqual([]);
  });

  it("answers 404 to another submitter, to an unknown job and 401 without a token", async () => {
    const id = await createJob(2);
    const bob = await openEvents(id, BOB);
    expect(bob.status).toBe(404);
    expect(await bob.json()).toEqual({ error: { code: "job_not_found", message: expect.any(String) } });

    const unknown = await openEvents("j_0000000000000000");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("job_not_found");

    expect((await openEvents(id, {})).status).toBe(401);
  });
});
