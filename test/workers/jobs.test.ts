import { describe, expect, it } from "vitest";
import { newJobId } from "../../coordinator/ids.ts";
import { JobStatus } from "../../shared/schemas.ts";
import { ALICE, BOB, call, callJson, createJob, expectError, honest, lease, primesJob, result, status, submit, volunteer } from "./helpers.ts";

describe("creating jobs", () => {
  it("creates a range job with one shard per step and answers its status", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 1050, step: 100 }, label: "eleven" });
    expect(job).toMatchObject({ id: expect.stringMatching(/^j_/), state: "running", shards: { total: 11, done: 0, failed: 0 } });
    const s = await status(job.id);
    expect(JobStatus.parse(s)).toMatchObject({
      id: job.id,
      kernel: "primes.count",
      label: "eleven",
      state: "running",
      shards: { total: 11, done: 0, failed: 0 },
    });
    expect(s.createdAt).toBeGreaterThan(0);
    expect(s.updatedAt).toBeGreaterThanOrEqual(s.createdAt);
  });

  it("names jobs j_ and 16 characters of 33, each equally likely", async () => {
    expect((await createJob({ kernel: "primes.count", range: { start: 0, end: 10, step: 10 } })).id).toMatch(/^j_[a-km-z2-9]{16}$/);
    // 9,900 ids of 16 characters: each character about 4,800 times, within 4.8 standard
    // deviations here. Drawing each as \`byte % 33\` would give 25 of them 8 chances in 256 and the
    // other 8 only 7 (about 4,330 each), which the lower bound catches.
    const ids = Array.from({ length: 9900 }, newJobId);
    expect(new Set(ids).size).toBe(ids.length);
    const counts = new Map<string, number>();
    for (const id of ids) {
      expect(id).toMatch(/^j_[a-km-z2-9]{16}$/);
      for (const ch of id.slice(2)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(counts.size).toBe(33);
    for (const n of counts.values()) expect(n).toBeGreaterThan(4470);
    for (const n of counts.values()) expect(n).toBeLessThan(5130);
  });

  it("gives the last range shard only what is left of the range", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 5, end: 25, step: 7 }, replication: { replicas: 1, quorum: 1 } });
    const leases = await lease(await volunteer(), 10);
    expect(leases.map((l) => l.input)).toEqual([
      { start: 5, end: 12 },
      { start: 12, end: 19 },
      { start: 19, end: 25 },
    ]);
    expect(leases.every((l) => l.jobId === job.id && l.kernel === "primes.count")).toBe(true);
  });

  it("creates a job from explicit shards, one shard per element, inputs handed out unchanged", async () => {
    const shards = [{ text: "a b" }, { text: "ção Ção" }, { text: "" }];
    const job = await createJob({ kernel: "wordcount", shards, replication: { replicas: 1, quorum: 1 } });
    expect(job.shards.total).toBe(3);
    const leases = await lease(await volunteer(), 10);
    expect(leases.map((l) => [l.shardId, l.input])).toEqual(shards.map((s, i) => [String(i), s]));
  });

  it("finishes an empty range at once with the kernel's identity as result", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 10, end: 10, step: 5 } });
    expect(job).toMatchObject({ state: "done", shards: { total: 0 } });
    expect(await result(job.id)).toEqual({ count: 0 });
  });

  it("refuses params over 64 KiB of JSON (a copy travels with every lease) with a 400 naming them, creating nothing", async () => {
    const before = (await callJson<{ jobs: JobStatus[] }>("GET", "/v1/jobs?limit=500", { token: ALICE })).body.jobs.length;
    const range = { start: 0, end: 1000, step: 1 };
    const big = await expectError(
      call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "primes.count", params: { pad: "x".repeat(3 * 1024 * 1024) }, range } }),
      400,
    );
    expect(big).toMatchObject({ code: "invalid_body", message: expect.stringMatching(/^params: exceeds 65536 characters of JSON/) });
    // Nested past what a recursive walk could follow: refused the same way, never a 500.
    const deep = `{"kernel":"primes.count","range":${JSON.stringify(range)},"params":{"a":${"[".repeat(500_000)}${"]".repeat(500_000)}}}`;
    expect((await expectError(call("POST", "/v1/jobs", { token: ALICE, body: deep }), 400)).code).toBe("invalid_body");
    expect((await callJson<{ jobs: JobStatus[] }>("GET", "/v1/jobs?limit=500", { token: ALICE })).body.jobs).toHaveLength(before);
    const kernel = await callJson<{ id: string }>("POST", "/v1/kernels", {
      token: ALICE,
      body: { name: "one", language: "js", source: "export function compute() { return 1; }", reduce: "sum" },
    });
    const fits = await createJob({ kernel: kernel.body.id, params: { pad: "x".repeat(60_000) }, range: { start: 0, end: 10, step: 10 } });
    expect((await lease(await volunteer(), 1)).find((l) => l.jobId === fits.id)?.params).toEqual({ pad: "x".repeat(60_000) });
  });

  it("rejects a kernel that does not exist, naming the field", async () => {
    const err = await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "nope", range: { start: 0, end: 1, step: 1 } } }), 400);
    expect(err.message).toContain("kernel");
  });
});

describe("listing jobs", () => {
  it("lists only the jobs of the calling token", async () => {
    const a = await primesJob(2);
    const b = await createJob({ kernel: "primes.count", range: { start: 0, end: 10, step: 5 } }, BOB);
    const alice = await callJson<{ jobs: JobStatus[] }>("GET", "/v1/jobs", { token: ALICE });
    const bob = await callJson<{ jobs: JobStatus[] }>("GET", "/v1/jobs", { token: BOB });
    expect(alice.status).toBe(200);
    expect(alice.body.jobs.map((j) => j.id)).toContain(a.id);
    expect(alice.body.jobs.map((j) => j.id)).not.toContain(b.id);
    expect(bob.body.jobs.map((j) => j.id)).toEqual([b.id]);
    expect(() => alice.body.jobs.forEach((j) => JobStatus.parse(j))).not.toThrow();
  });
});

describe("results", () => {
  it("answers 409 before the job is done and the merged result after", async () => {
    const job = await primesJob(3, 100);
    await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: ALICE }), 409);
    const v = await volunteer();
    for (const l of await lease(v, 3)) expect((await submit(v, l.id, honest(l))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { total: 3, done: 3, failed: 0 } });
    const res = await callJson("GET", `/v1/jobs/${job.id}/result`, { token: ALICE });
    expect(res).toMatchObject({ status: 200, body: { id: job.id, result: { count: 62 } } });
  });
});

describe("cancelling", () => {
  it("cancels a running job and answers 410 to its outstanding leases", async () => {
    const job = await primesJob(4);
    const v = await volunteer();
    const [l1, l2, l3] = await lease(v, 3);
    const res = await callJson<JobStatus>("DELETE", `/v1/jobs/${job.id}`, { token: ALICE });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe("cancelled");
    expect((await status(job.id)).state).toBe("cancelled");
    await expectError(submit(v, l1!.id, honest(l1!)), 410);
    await expectError(call("POST", `/v1/leases/${l2!.id}/heartbeat`, { token: v.token }), 410);
    await expectError(call("POST", `/v1/leases/${l3!.id}/release`, { token: v.token }), 410);
    await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: ALICE }), 409);
    expect(await lease(await volunteer(), 4)).toEqual([]);
  });

  it("keeps a second cancel harmless and refuses to cancel a finished job", async () => {
    const job = await primesJob(1, 10);
    expect((await callJson("DELETE", `/v1/jobs/${job.id}`, { token: ALICE })).body.state).toBe("cancelled");
    expect((await callJson("DELETE", `/v1/jobs/${job.id}`, { token: ALICE })).body.state).toBe("cancelled");
    const done = await createJob({ kernel: "primes.count", range: { start: 0, end: 0, step: 1 } });
    await expectError(call("DELETE", `/v1/jobs/${done.id}`, { token: ALICE }), 409);
    expect((await status(done.id)).state).toBe("done");
  });
});

describe("ownership and authentication", () => {
  it("answers 404 to another submitter's status, result and cancel, and leaves the job alone", async () => {
    const job = await primesJob(2);
    await expectError(call("GET", `/v1/jobs/${job.id}`, { token: BOB }), 404);
    await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: BOB }), 404);
    await expectError(call("DELETE", `/v1/jobs/${job.id}`, { token: BOB }), 404);
    expect((await status(job.id)).state).toBe("running");
  });

  it("answers 404 to job ids that do not exist", async () => {
    await expectError(call("GET", "/v1/jobs/j_aaaaaaaaaaaaaaaa", { token: ALICE }), 404);
    await expectError(call("GET", "/v1/jobs/not-a-job", { token: ALICE }), 404);
    await expectError(call("DELETE", "/v1/jobs/j_aaaaaaaaaaaaaaaa", { token: ALICE }), 404);
  });

  it("answers 401 without a token or with an unknown one", async () => {
    const job = await primesJob(1);
    const v = await volunteer();
    for (const headers of [
      {} as Record<string, string>,
      { authorization: "Bearer nope" },
      { authorization: "tok-alice" },
      { authorization: `Bearer ${v.token}` },
    ]) {
      await expectError(call("GET", "/v1/jobs", { headers }), 401);
      await expectError(call("GET", `/v1/jobs/${job.id}`, { headers }), 401);
      await expectError(call("DELETE", `/v1/jobs/${job.id}`, { headers }), 401);
      await expectError(call("POST", "/v1/jobs", { headers, body: { kernel: "primes.count", range: { start: 0, end: 1, step: 1 } } }), 401);
    }
    expect((await status(job.id)).state).toBe("running");
  });
});
