import { env, exports } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, expect } from "vitest";
import { app } from "../../coordinator/app.ts";
import { compute } from "../../shared/kernels/compute.ts";
import type { JobStatus, Lease } from "../../shared/schemas.ts";
import type { JobObject } from "../../coordinator/objects/job-object.ts";
import type { JobMeta } from "../../coordinator/job/meta.ts";
import type { ShardView } from "../../coordinator/job/status.ts";
import type { Observation, VolunteerObject } from "../../coordinator/objects/volunteer-object.ts";
import type { SubmitterObject } from "../../coordinator/objects/submitter-object.ts";
import { sha256Hex } from "../../shared/canonical.ts";

/** Submitter tokens the workerd test project is configured with (vitest.config.ts). */
export const ALICE = "tok-alice";
export const BOB = "tok-bob";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CallOptions {
  token?: string;
  /** A value to send as JSON, or a raw string sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** The request {@link call} and {@link callWith} send. */
function request(method: string, path: string, opts: CallOptions): Request {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization ??= `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  return new Request(`http://x${path}`, { method, headers, body });
}

/** One request to the real Worker (in this isolate, with the real Durable Objects). */
export function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(request(method, path, opts));
}

/**
 * One request to the real app with some bindings replaced (a var set, a binding missing or
 * broken), the rest as configured; waits for the work the request left running (waitUntil).
 */
export async function callWith(bindings: Record<string, unknown>, method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request(method, path, opts), { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Calls and reads the JSON answer (tolerating an empty body). */
// biome-ignore lint/suspicious/noExplicitAny: tests read the JSON answers field by field
export async function callJson<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await call(method, path, opts);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** Asserts the contract's error shape and status, returning the error code. */
export async function expectError(res: Response | Promise<Response>, status: number): Promise<{ code: string; message: string }> {
  const r = await res;
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect({ status: r.status, body }).toMatchObject({ status, body: { error: { code: expect.any(String), message: expect.any(String) } } });
  return body.error;
}

const created: { id: string; token: string }[] = [];

// Dispatch serves the oldest running job first, so every test cancels what it left running.
afterEach(async () => {
  for (const { id, token } of created.splice(0)) await call("DELETE", `/v1/jobs/${id}`, { token });
});

/** Creates a job (201 expected); it is cancelled after the test if still running. */
export async function createJob(body: Record<string, unknown>, token = ALICE): Promise<JobStatus> {
  const res = await callJson<JobStatus>("POST", "/v1/jobs", { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  created.push({ id: res.body.id, token });
  return res.body;
}

/** A primes.count range job: `n` shards of `step` numbers from 0. */
export function primesJob(n: number, step = 1000, extra: Record<string, unknown> = {}) {
  return createJob({ kernel: "primes.count", range: { start: 0, end: n * step, step }, replication: { replicas: 1, quorum: 1 }, ...extra });
}

export async function status(id: string, token = ALICE): Promise<JobStatus> {
  const res = await callJson<JobStatus>("GET", `/v1/jobs/${id}`, { token });
  expect(res.status).toBe(200);
  return res.body;
}

export async function result(id: string, token = ALICE): Promise<unknown> {
  const res = await callJson<{ id: string; result: unknown }>("GET", `/v1/jobs/${id}/result`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.result;
}

/** The job's started shards as `GET /v1/jobs/:id/shards` lists them: state, and output once accepted. */
export async function shardList(id: string, token = ALICE): Promise<ShardView[]> {
  const res = await callJson<{ shards: ShardView[] }>("GET", `/v1/jobs/${id}/shards?limit=1000`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.shards;
}

export interface Volunteer {
  id: string;
  token: string;
}

export async function volunteer(): Promise<Volunteer> {
  const res = await callJson<Volunteer>("POST", "/v1/volunteers");
  expect(res.status).toBe(201);
  return res.body;
}

/** Leases up to `max` shards, sorted by job and shard (the coordinator may hand them out in any order). */
export async function lease(v: Volunteer, max = 1): Promise<Lease[]> {
  const res = await callJson<{ leases: Lease[] }>("POST", "/v1/leases", { token: v.token, body: { max } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.leases.sort((a, b) => a.jobId.localeCompare(b.jobId) || Number(a.shardId) - Number(b.shardId));
}

/**
 * Leases until at least `want` leases came back or `timeoutMs` passed. A job that had nothing to
 * hand out is skipped by this isolate for a moment, so work that reappears (a release, an expiry,
 * an extra replica) is found by asking again.
 */
export async function leaseEventually(v: Volunteer, want = 1, max = want, timeoutMs = 3000): Promise<Lease[]> {
  const got: Lease[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < want && Date.now() < deadline) {
    got.push(...(await lease(v, max - got.length)));
    if (got.length < want) await sleep(50);
  }
  return got;
}

/**
 * Asserts that `v` is handed no work for `ms`: longer than an isolate skips a job that had nothing
 * to hand out, so work that came free meanwhile would be found.
 */
export async function expectNoWork(v: Volunteer, ms = 600): Promise<void> {
  expect(await leaseEventually(v, 1, 1, ms)).toEqual([]);
}

/** The honest output of a lease, computed with the shared kernels. */
export const honest = (l: Lease) => compute[l.kernel]!(l.input, l.params);

export function submit(v: Volunteer, leaseId: string, output: unknown): Promise<Response> {
  return call("POST", `/v1/leases/${leaseId}/result`, { token: v.token, body: { output } });
}

/** Submits honest outputs for `leases` in one batch; every entry must be accepted. */
export async function submitAll(v: Volunteer, leases: Lease[]): Promise<void> {
  if (!leases.length) return;
  const res = await callJson<{ results: { status: number }[] }>("POST", "/v1/results", {
    token: v.token,
    body: { results: leases.map((l) => ({ leaseId: l.id, output: honest(l) })) },
  });
  expect(res.status).toBe(200);
  expect(res.body.results.map((r) => r.status)).toEqual(leases.map(() => 202));
}

/** Plain HTTP volunteers leasing, computing and submitting until the job leaves `running`. */
export async function runVolunteers(jobId: string, count: number, max = 8, timeoutMs = 60_000): Promise<JobStatus> {
  const vols = await Promise.all(Array.from({ length: count }, volunteer));
  const deadline = Date.now() + timeoutMs;
  const work = async (v: Volunteer) => {
    while (Date.now() < deadline) {
      const leases = await lease(v, max);
      if (leases.length) await submitAll(v, leases);
      else if ((await status(jobId)).state !== "running") return;
      else await sleep(30);
    }
  };
  await Promise.all(vols.map(work));
  return status(jobId);
}

/** The job's Durable Object stub. */
export const jobObject = (jobId: string) => env.JOBS.get(env.JOBS.idFromName(jobId));

/** Runs `sql` inside the job's Durable Object and returns the rows. */
export function jobRows<T = Record<string, unknown>>(jobId: string, sql: string, ...args: unknown[]): Promise<T[]> {
  return runInDurableObject(jobObject(jobId), (o: JobObject) => o.store.sql.exec(sql, ...args).toArray() as T[]);
}

/** A table of a job's Durable Object (coordinator/job/tables.ts). */
export type JobTable = "meta" | "shards" | "inputs" | "replicas" | "banned" | "catches" | "rep_outbox" | "stats_outbox" | "stats_credit" | "contrib" | "blobs";

/**
 * Every row of one of the job's tables, in storage order. For tests where storage is the behaviour
 * (what is durable before it is acted on, what is kept and for how long); anything the HTTP API
 * shows is asserted through the API.
 */
export function storedRows<T = Record<string, unknown>>(jobId: string, table: JobTable): Promise<T[]> {
  return jobRows<T>(jobId, `SELECT * FROM ${table} ORDER BY rowid`);
}

/** Whether a lease is a ringer (a spot-check of a verified shard): only storage can say, as nothing in the lease may give it away. */
export async function isRinger(l: Lease): Promise<boolean> {
  const [row] = await jobRows<{ ringer: number }>(l.jobId, "SELECT ringer FROM replicas WHERE lease = ?", l.id);
  return row!.ringer === 1;
}

/** The job's shards whose right output is known, that ringers are drawn from: internal by design, like the ringers themselves. */
export async function ringerSources(jobId: string): Promise<string[]> {
  return (await jobRows<{ idx: number }>(jobId, "SELECT idx FROM shards WHERE verified = 1 ORDER BY idx")).map((r) => String(r.idx));
}

/** The job's meta row as stored (not the public status). */
export function jobMeta(jobId: string): Promise<JobMeta> {
  return runInDurableObject(jobObject(jobId), (o: JobObject) => o.store.meta!);
}

/** A small seeded PRNG (mulberry32), so fuzz runs are reproducible. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}

/** The Durable Object holding volunteer `id`'s record. */
/** Runs `fn` inside the submitter object of `token` (named as the app names it: a hash of the token). */
export async function inSubmitter<T>(token: string, fn: (o: SubmitterObject) => T | Promise<T>): Promise<T> {
  const id = `s_${(await sha256Hex(`submitter:${token}`)).slice(0, 24)}`;
  const stub = env.SUBMITTERS.get(env.SUBMITTERS.idFromName(id));
  return runInDurableObject(stub as DurableObjectStub<SubmitterObject>, fn);
}

export const volunteerRecord = (id: string) => env.VOLUNTEERS.get(env.VOLUNTEERS.idFromName(id)) as unknown as DurableObjectStub<VolunteerObject>;

/** A volunteer's record, told what jobs observed of it (its own observe()): as if it had done that work. */
export async function observed(v: Volunteer, ...observations: Observation[]): Promise<void> {
  const stub = volunteerRecord(v.id);
  for (const o of observations) await stub.observe(v.id, o);
}

/** Gives a volunteer a proven record, as if it had done the work: on checkable work, or on both classes. */
export async function makeTrusted(v: Volunteer, uncheckable = false): Promise<void> {
  await observed(v, { agreed: 50, ringersPassed: 5 }, ...(uncheckable ? [{ agreed: 50, ringersPassed: 5, uncheckable: true }] : []));
}
