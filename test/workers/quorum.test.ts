import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobObject } from "../../coordinator/objects/job-object.ts";
import { REPLICA } from "../../coordinator/job/tables.ts";
import { ERROR_HASH } from "../../coordinator/job/verify.ts";
import {
  call,
  createJob,
  expectError,
  honest,
  isRinger,
  jobObject,
  jobRows,
  lease,
  leaseEventually,
  result,
  status,
  submit,
  volunteer,
  type Volunteer,
} from "./helpers.ts";

const oneShard = (replication: Record<string, number>) => createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication });

type Several<N extends number, R extends Volunteer[] = []> = R["length"] extends N ? R : Several<N, [...R, Volunteer]>;
const volunteers = <N extends number>(n: N) => Promise.all(Array.from({ length: n }, volunteer)) as Promise<Several<N>>;

describe("quorum", () => {
  it("accepts a shard once two replicas agree and merges it", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2 });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    expect((await submit(a, la!.id, honest(la!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0 } });
    const [lb] = await leaseEventually(b);
    expect(lb!.shardId).toBe(la!.shardId);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { total: 1, done: 1, failed: 0 } });
    expect(await result(job.id)).toEqual({ count: 25 });
  });

  it("issues an extra replica when outputs disagree and accepts the output the quorum agrees on", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2, maxReplicas: 3 });
    const [a, b, c] = await volunteers(3);
    const [la] = await lease(a);
    const [lb] = await leaseEventually(b);
    expect(await lease(c)).toEqual([]);
    // The wrong answer comes first: the coordinator must not take it on trust, nor reveal the disagreement.
    expect((await submit(a, la!.id, { count: 26 })).status).toBe(202);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 0 } });
    const [lc] = await leaseEventually(c);
    expect(lc).toMatchObject({ jobId: job.id, shardId: la!.shardId });
    expect((await submit(c, lc!.id, honest(lc!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1, failed: 0 } });
    expect(await result(job.id)).toEqual({ count: 25 });
  });

  it("retries a shard without quorum with fresh volunteers, then fails it alone, saying why", async () => {
    const job = await oneShard({ replicas: 2, quorum: 2, maxReplicas: 2 });
    const vs = await volunteers(7);
    for (let round = 0; round < 3; round++) {
      const [a, b] = [vs[2 * round]!, vs[2 * round + 1]!];
      const [la] = await leaseEventually(a);
      const [lb] = await leaseEventually(b);
      expect((await submit(a, la!.id, { count: 24 + round })).status).toBe(202);
      expect((await submit(b, lb!.id, { count: 30 + round })).status).toBe(202);
      // Those who voted in a round never get the shard again: the next round is fresh volunteers.
      if (round < 2) {
        expect(await lease(a)).toEqual([]);
        expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 0 } });
        // Nor may they vote again through their old lease, still unexpired: it was used.
        const again = await expectError(submit(a, la!.id, { count: 30 + round }), 409);
        expect(again.code).toBe("already_submitted");
        expect((await status(job.id)).shards.awaitingConfirmation ?? 0).toBe(0);
      }
    }
    const s = await status(job.id);
    expect(s).toMatchObject({ state: "failed", shards: { total: 1, done: 0, failed: 1 } });
    expect(s.error).toMatch(/^shard 0: no quorum.* in 3 rounds$/);
    expect(await lease(vs[6]!)).toEqual([]);
    await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: "tok-alice" }), 409);
  });

  it("keeps computing the other shards when one fails and ends failed once every shard is settled", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 200, step: 100 }, replication: { replicas: 1, quorum: 1, maxReplicas: 1 } });
    const vs = await volunteers(4);
    const held = await lease(vs[0]!, 2);
    expect(held).toHaveLength(2);
    // Shard 0's kernel fails: one volunteer saying so is not enough, even at quorum 1; a second one is.
    const first = held.find((l) => l.shardId === "0")!;
    const second = held.find((l) => l.shardId === "1")!;
    expect((await call("POST", `/v1/leases/${first.id}/result`, { token: vs[0]!.token, body: { error: { message: "RangeError: boom" } } })).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 0 } });
    for (const v of [vs[1]!]) {
      // the confirming volunteer
      const [l] = await leaseEventually(v);
      expect(l!.shardId).toBe("0");
      await call("POST", `/v1/leases/${l!.id}/result`, { token: v.token, body: { error: { message: "RangeError: boom again" } } });
    }
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 1 } });
    expect((await submit(vs[0]!, second.id, honest(second))).status).toBe(202);
    const s = await status(job.id);
    expect(s).toMatchObject({ state: "failed", shards: { total: 2, done: 1, failed: 1 }, error: "shard 0: RangeError: boom" });
    const shards = await call("GET", `/v1/jobs/${job.id}/shards`, { token: "tok-alice" }).then((r) => r.json() as Promise<{ shards: unknown[] }>);
    expect(shards.shards).toEqual([
      { shard: "0", state: "failed", error: "shard 0: RangeError: boom" },
      { shard: "1", state: "accepted", output: { count: 21 } },
    ]);
  });

  it("hashes outputs itself, so equal outputs with keys in another order agree", async () => {
    const job = await createJob({ kernel: "wordcount", shards: [{ text: "b a b c" }], replication: { replicas: 2, quorum: 2, maxReplicas: 2 } });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    const [lb] = await leaseEventually(b);
    await submit(a, la!.id, { counts: { a: 1, b: 2, c: 1 } });
    const res = await call("POST", `/v1/leases/${lb!.id}/result`, {
      token: b.token,
      body: '{"output":{"counts":{"c":1,"b":2,"a":1}}}',
    });
    expect(res.status).toBe(202);
    // Two replicas at most and a quorum of two: the shard is done only if the two outputs agreed.
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
    expect(await result(job.id)).toEqual({ counts: { a: 1, b: 2, c: 1 } });
  });

  it("never accepts a lone result it cannot check when the submitter leaves replication to the coordinator", async () => {
    // A 6,000,000-number span is past what the coordinator computes itself.
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 6_000_000, step: 6_000_000 } });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    expect((await submit(a, la!.id, { count: 99 })).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, awaitingConfirmation: 1 } });
    const [lb] = await leaseEventually(b);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect((await status(job.id)).shards.done).toBe(0);
  });

  it("confirms a newcomer's lone result itself when it can compute the shard, and proves a wrong one wrong", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 200, step: 100 } });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    expect((await submit(a, la!.id, honest(la!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 1, awaitingConfirmation: 0 }, work: { checks: 1 } });
    const [lb] = await leaseEventually(b);
    // A newcomer's lease is now and then a ringer of shard 0 (already verified): its wrong output is then caught with no new check.
    const checks = (await isRinger(lb!)) ? 1 : 2;
    expect((await submit(b, lb!.id, { count: 1 })).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 1, awaitingConfirmation: 0 }, work: { checks } });
    // Proven wrong, not merely waiting for a second opinion (that lease would answer 409 already_submitted).
    expect((await expectError(submit(b, lb!.id, honest(lb!)), 403)).code).toBe("volunteer_blacklisted");
  });
  it("refuses kernel failures on a shard it computes itself: two volunteers cannot fail it, and neither is caught", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 } });
    const [a, b, c] = await volunteers(3);
    const fail = (v: Volunteer, leaseId: string, message: string) =>
      call("POST", `/v1/leases/${leaseId}/result`, { token: v.token, body: { error: { message } } });
    // Two fresh identities each claim the kernel fails on the job's one shard.
    for (const [n, v] of [a, b].entries()) {
      const [l] = await leaseEventually(v);
      expect(l!.shardId).toBe("0");
      expect((await fail(v, l!.id, "chosen by the attacker")).status).toBe(202);
      // The coordinator ran the kernel on the shard: the failure is refused, and another replica is due.
      expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, failed: 0 }, work: { checks: n + 1 } });
    }
    const [lc] = await leaseEventually(c);
    expect((await submit(c, lc!.id, honest(lc!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1, failed: 0 } });
    expect(await result(job.id)).toEqual({ count: 25 });
    // A failure is outvoted, never proof: a slow machine times out honestly. Both still lease.
    for (const v of [a, b]) expect((await call("POST", "/v1/leases", { token: v.token, body: { max: 1 } })).status).toBe(200);
  });

  it("never counts a kernel failure as proven wrong when it judges the shard later: the failure is outvoted", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 } });
    const [a, b] = await volunteers(2);
    const [la] = await lease(a);
    // What a failure the coordinator could not check on arrival leaves (past a batch's read budget,
    // say): stored under the failure hash, its shard needing a second replica.
    await jobRows(
      job.id,
      "UPDATE replicas SET state = ?, hash = ?, output = ?, at = ? WHERE lease = ?",
      REPLICA.submitted,
      ERROR_HASH,
      JSON.stringify({ error: { message: "timed out" } }),
      Date.now(),
      la!.id,
    );
    await jobRows(job.id, "UPDATE shards SET active = active - 1 WHERE idx = 0");
    await runInDurableObject(jobObject(job.id), (o: JobObject) => o.store.shards.require(0, 2, 1));
    // Another volunteer's output disagrees with it: the coordinator computes the shard to judge.
    const [lb] = await leaseEventually(b);
    expect((await submit(b, lb!.id, honest(lb!))).status).toBe(202);
    expect(await jobRows(job.id, "SELECT state FROM replicas WHERE lease = ?", la!.id)).toEqual([{ state: REPLICA.rejected }]);
    expect(await jobRows(job.id, "SELECT volunteer FROM catches")).toEqual([]);
    expect((await call("POST", "/v1/leases", { token: a.token, body: { max: 1 } })).status).toBe(200);
    expect((await status(job.id)).shards.failed).toBe(0);
  });

  it("lets a lone newcomer finish a whole checkable job, even in batches of 64", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 64 * 1000, step: 1000 } });
    const [a] = await volunteers(1);
    const batch = await lease(a, 64);
    expect(batch).toHaveLength(64);
    const res = await call("POST", "/v1/results", { token: a.token, body: { results: batch.map((l) => ({ leaseId: l.id, output: honest(l) })) } });
    expect(res.status).toBe(200);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 64, awaitingConfirmation: 0 } });
    expect(await result(job.id)).toEqual({ count: 6413 }); // primes below 64,000
  });
});
