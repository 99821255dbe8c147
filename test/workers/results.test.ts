import { describe, expect, it } from "vitest";
import { call, callJson, createJob, expectError, honest, lease, primesJob, shardList, status, storedRows, submit, volunteer } from "./helpers.ts";

/** What the submitter sees of a job: its status and its started shards. */
const seen = async (jobId: string) => ({ status: await status(jobId), shards: await shardList(jobId) });

describe("submitting one result", () => {
  it("accepts an honest output with 202 and counts the shard done", async () => {
    const job = await primesJob(2, 100);
    const v = await volunteer();
    const [l] = await lease(v);
    const res = await submit(v, l!.id, honest(l!));
    expect(res.status).toBe(202);
    expect((await status(job.id)).shards).toEqual({ total: 2, done: 1, failed: 0, awaitingConfirmation: 0 });
  });

  it("answers 409 to a second submit of the same lease", async () => {
    const job = await primesJob(2, 100);
    const v = await volunteer();
    const [l] = await lease(v);
    expect((await submit(v, l!.id, honest(l!))).status).toBe(202);
    await expectError(submit(v, l!.id, honest(l!)), 409);
    await expectError(submit(v, l!.id, { count: 999 }), 409);
    expect((await status(job.id)).shards.done).toBe(1);
  });

  it("answers 403 to another volunteer's lease and leaves it with its owner", async () => {
    const job = await primesJob(1, 100);
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l] = await lease(a);
    await expectError(submit(b, l!.id, honest(l!)), 403);
    expect((await status(job.id)).shards.done).toBe(0);
    expect((await submit(a, l!.id, honest(l!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
  });

  it("answers 404 to leases that do not exist", async () => {
    const job = await primesJob(1, 100);
    const v = await volunteer();
    const [l] = await lease(v);
    const before = await seen(job.id);
    const forged = l!.id.replace(/[^.]+$/, "AAAAAAAAAAAA");
    for (const id of [forged, "j_aaaaaaaaaaaaaaaa.0.AAAAAAAAAAAA", "nonsense", "j_x.1.2"]) {
      await expectError(submit(v, id, { count: 1 }), 404);
      await expectError(call("POST", `/v1/leases/${id}/heartbeat`, { token: v.token }), 404);
      await expectError(call("POST", `/v1/leases/${id}/release`, { token: v.token }), 404);
    }
    // Nothing moved, and the real lease is still held and open for its result.
    expect(await seen(job.id)).toEqual(before);
    expect((await submit(v, l!.id, honest(l!))).status).toBe(202);
  });

  it("answers 404 to made-up lease ids naming shards a job of inline inputs does not have, and keeps serving", async () => {
    // A result's lease id names its shard, and the usual path judges the output by that shard's
    // input before it finds the lease: a made-up id must not make it read an input that is not there.
    const job = await createJob({ kernel: "wordcount", shards: [{ text: "a b" }, { text: "c" }], replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [l] = await lease(v);
    const before = await seen(job.id);
    const nonce = l!.id.split(".").at(-1);
    const other = l!.shardId === "0" ? 1 : 0;
    for (const idx of [other, 2, 999_999_999_999]) {
      await expectError(submit(v, `${job.id}.${idx}.${nonce}`, honest(l!)), 404);
    }
    expect(await seen(job.id)).toEqual(before);
    expect((await submit(v, l!.id, honest(l!))).status).toBe(202);
    expect((await status(job.id)).shards.done).toBe(1);
  });

  it("rejects outputs not of the kernel's shape with 400 and changes nothing", async () => {
    const job = await primesJob(1, 100);
    const v = await volunteer();
    const [l] = await lease(v);
    const before = await seen(job.id);
    const bad = [{ count: "25" }, {}, { count: 25, extra: 1 }, { count: -1 }, { count: 2.5 }, null, [25], 25, { total: 25 }, { count: 1e300 }];
    for (const output of bad) {
      const err = await expectError(submit(v, l!.id, output), 400);
      expect(err.message, JSON.stringify(output)).toMatch(/output/);
    }
    await expectError(call("POST", `/v1/leases/${l!.id}/result`, { token: v.token, body: { count: 25 } }), 400);
    expect(await seen(job.id)).toEqual(before);
    expect(before.status).toMatchObject({ state: "running", shards: { done: 0, failed: 0 } });
    // The lease is still open for a result: none of the bad ones was recorded.
    expect((await submit(v, l!.id, honest(l!))).status).toBe(202);
  });

  it("rejects wordcount outputs whose keys are not words or whose counts are not positive", async () => {
    const job = await createJob({ kernel: "wordcount", shards: [{ text: "a b" }], replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [l] = await lease(v);
    for (const output of [{ counts: { "a b": 1 } }, { counts: { a: 0 } }, { counts: ["a"] }, { counts: { a: 1 }, words: 1 }]) {
      await expectError(submit(v, l!.id, output), 400);
    }
    expect((await status(job.id)).shards.done).toBe(0);
  });
});

describe("submitting results in a batch", () => {
  it("answers one status per entry, in order, for a mix of good and bad entries", async () => {
    const job = await primesJob(4, 100);
    const [a, b] = await Promise.all([volunteer(), volunteer()]);
    const [l0, l1, l2] = await lease(a, 3);
    const [theirs] = await lease(b, 1);
    const entries = [
      { leaseId: l0!.id, output: honest(l0!) },
      { leaseId: "j_aaaaaaaaaaaaaaaa.3.AAAAAAAAAAAA", output: { count: 1 } },
      { leaseId: l1!.id, output: { count: "wrong" } },
      { leaseId: theirs!.id, output: honest(theirs!) },
      { leaseId: l0!.id, output: honest(l0!) },
      { leaseId: "garbage", output: { count: 1 } },
      { leaseId: l2!.id, output: honest(l2!) },
    ];
    const res = await callJson<{ results: { leaseId: string; status: number; error?: { code: string; message: string } }[] }>("POST", "/v1/results", {
      token: a.token,
      body: { results: entries },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => [r.leaseId, r.status])).toEqual(entries.map((e, i) => [e.leaseId, [202, 404, 400, 403, 409, 404, 202][i]]));
    for (const r of res.body.results) {
      if (r.status === 202) expect(r.error).toBeUndefined();
      else expect(r.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    expect((await status(job.id)).shards.done).toBe(2);
    // The refused entries recorded nothing: both leases still take their owner's result.
    expect((await submit(a, l1!.id, honest(l1!))).status).toBe(202);
    expect((await submit(b, theirs!.id, honest(theirs!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 4 } });
  });

  it("accepts a batch of 64 and refuses 65 entries", async () => {
    const job = await primesJob(64, 10);
    const v = await volunteer();
    const leases = await lease(v, 64);
    const results = leases.map((l) => ({ leaseId: l.id, output: honest(l) }));
    await expectError(call("POST", "/v1/results", { token: v.token, body: { results: [...results, results[0]] } }), 400);
    expect((await status(job.id)).shards.done).toBe(0);
    const res = await callJson("POST", "/v1/results", { token: v.token, body: { results } });
    expect(res.body.results.every((r: { status: number }) => r.status === 202)).toBe(true);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 64 } });
  });

  it("stores a batch's progress in the step that accepted it (the meta row is written once, after the batch)", async () => {
    const job = await primesJob(10, 10);
    const v = await volunteer();
    const stored = async () => JSON.parse((await storedRows<{ k: string; v: string }>(job.id, "meta")).find((r) => r.k === "job")!.v);
    const first = await lease(v, 8);
    await callJson("POST", "/v1/results", { token: v.token, body: { results: first.map((l) => ({ leaseId: l.id, output: honest(l) })) } });
    // The merged result is checkpointed once per 64 accepted shards, not per batch: these 8 are
    // folded in from their replica rows after a restart (accSeq 0: nothing checkpointed yet).
    expect(await stored()).toMatchObject({ state: "running", next: 8, done: 8, seq: 8, accSeq: 0 });
    expect(await storedRows(job.id, "blobs")).toEqual([]);
    // The volunteer's credit, written once for the batch.
    expect(await storedRows(job.id, "contrib")).toMatchObject([{ volunteer: v.id, results: 8, credit: 8 }]);
    const rest = await lease(v, 2);
    await callJson("POST", "/v1/results", { token: v.token, body: { results: rest.map((l) => ({ leaseId: l.id, output: honest(l) })) } });
    // The last accepted shard checkpoints the whole result, in the same step.
    expect(await stored()).toMatchObject({ state: "done", next: 10, done: 10, seq: 10, accSeq: 10 });
    const sum = [...first, ...rest].reduce((n, l) => n + (honest(l) as { count: number }).count, 0);
    expect((await storedRows<{ name: string; data: string }>(job.id, "blobs")).map((b) => [b.name, JSON.parse(b.data)])).toEqual([["acc", { count: sum }]]);
  });
});
