import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { compactReturned, expireLeases, RETURNED_KEPT_PER_VOLUNTEER } from "../../coordinator/job/leasing.ts";
import type { JobObject } from "../../coordinator/objects/job-object.ts";
import { REPLICA } from "../../coordinator/job/tables.ts";
import { call, createJob, honest, jobObject, lease, leaseEventually, storedRows, submit, volunteer } from "./helpers.ts";

describe("storage that cannot run out", () => {
  it("keeps only the hash of an output that lost the vote", async () => {
    const job = await createJob({ kernel: "wordcount", shards: [{ text: "a b" }], replication: { replicas: 2, quorum: 2, maxReplicas: 3 } });
    const [a, b, c] = [await volunteer(), await volunteer(), await volunteer()];
    const [la] = await leaseEventually(a);
    const [lb] = await leaseEventually(b);
    const junk = { counts: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`junk${i}`, 1])) };
    await submit(a, la!.id, junk);
    await submit(b, lb!.id, honest(lb!));
    const [lc] = await leaseEventually(c);
    await submit(c, lc!.id, honest(lc!));
    // Storage is the behaviour: what is kept of each output.
    const rows = await storedRows<{ lease: string; state: number; output: string | null; hash: string | null }>(job.id, "replicas");
    const lost = rows.find((r) => r.lease === la!.id)!;
    expect(lost).toMatchObject({ state: REPLICA.rejected, output: null, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rows.filter((r) => r.output !== null)).toHaveLength(2);
  });

  it("compacts leases that ended without output a day ago, and keeps recent ones", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 300, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [old, recent] = await lease(v, 2);
    for (const l of [old!, recent!]) expect((await call("POST", `/v1/leases/${l.id}/release`, { token: v.token })).status).toBe(200);
    const removed = await runInDurableObject(jobObject(job.id), (o: JobObject) => {
      o.store.sql.exec("UPDATE replicas SET expires_at = 0 WHERE lease = ?", old!.id);
      return compactReturned(o.store, Date.now());
    });
    expect(removed).toBe(1);
    // Storage is the behaviour: which rows are kept.
    const left = await storedRows<{ lease: string }>(job.id, "replicas");
    expect(left.map((r) => r.lease)).toEqual([recent!.id]);
  });

  it("keeps a bounded number of one volunteer's released leases however long it leases and releases in a loop", { timeout: 60_000 }, async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 500, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const [v, other] = [await volunteer(), await volunteer()];
    const [kept] = await lease(other, 1);
    expect((await call("POST", `/v1/leases/${kept!.id}/release`, { token: other.token })).status).toBe(200);
    const cycles = RETURNED_KEPT_PER_VOLUNTEER + 40;
    let last = "";
    for (let i = 0; i < cycles; i++) {
      const [l] = await lease(v, 1);
      expect((await call("POST", `/v1/leases/${l!.id}/release`, { token: v.token })).status).toBe(200);
      last = l!.id;
    }
    // Storage is the behaviour: how many of the loop's rows are kept, and which.
    const rows = await storedRows<{ lease: string; volunteer: string; state: number }>(job.id, "replicas");
    const mine = rows.filter((r) => r.volunteer === v.id);
    expect(mine).toHaveLength(RETURNED_KEPT_PER_VOLUNTEER);
    expect(mine.every((r) => r.state === REPLICA.released)).toBe(true);
    expect(mine.map((r) => r.lease)).toContain(last);
    // Another volunteer's rows are not touched, and the newest release still answers 410.
    expect(rows.filter((r) => r.volunteer === other.id).map((r) => r.lease)).toEqual([kept!.id]);
    expect((await call("POST", `/v1/leases/${last}/result`, { token: v.token, body: { output: { count: 0 } } })).status).toBe(410);
  });

  it("keeps a bounded number of one volunteer's expired leases too, when the alarm expires them", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 500, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [l] = await lease(v, 1);
    const kept = await runInDurableObject(jobObject(job.id), (o: JobObject) => {
      // 300 leases it let expire before (as a loop of leasing and walking away leaves them), then the one it holds runs out.
      for (let i = 0; i < 300; i++) {
        o.store.sql.exec(
          "INSERT INTO replicas (lease, idx, volunteer, state, expires_at) VALUES (?, 0, ?, ?, 0)",
          `${job.id}.0.old${i}`,
          v.id,
          REPLICA.expired,
        );
      }
      o.store.sql.exec("UPDATE replicas SET expires_at = 0 WHERE lease = ?", l!.id);
      expect(expireLeases(o.store, Date.now())).toBe(1);
      return o.store.sql
        .exec<{ lease: string }>("SELECT lease FROM replicas WHERE volunteer = ?", v.id)
        .toArray()
        .map((r) => r.lease);
    });
    // The newest kept (in the order leases were issued), the oldest gone.
    expect(kept).toHaveLength(RETURNED_KEPT_PER_VOLUNTEER);
    expect(kept).toContain(`${job.id}.0.old299`);
    expect(kept).not.toContain(`${job.id}.0.old0`);
  });

  it("fails a job cleanly once its storage passes the ceiling, keeping its status; its leases then answer 410", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 400, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [first, second] = await leaseEventually(v, 2, 2);
    await runInDurableObject(jobObject(job.id), (o: JobObject) => {
      o.storageMaxBytes = 1;
    });
    expect((await submit(v, first!.id, honest(first!))).status).toBe(202);
    const res = await call("GET", `/v1/jobs/${job.id}`, { token: "tok-alice" });
    const status = (await res.json()) as { state: string; error?: string };
    expect(status.state).toBe("failed");
    expect(status.error).toMatch(/storage reached/);
    expect((await submit(v, second!.id, honest(second!))).status).toBe(410);
  });
});
