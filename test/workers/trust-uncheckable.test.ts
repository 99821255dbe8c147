import { describe, expect, it } from "vitest";
import type { KernelManifest, Lease } from "../../shared/schemas.ts";
import {
  ALICE,
  call,
  callJson,
  createJob,
  lease,
  leaseEventually,
  makeTrusted,
  observed,
  result,
  ringerSources,
  status,
  volunteer,
  type Volunteer,
} from "./helpers.ts";

const DOUBLE = "export function compute(input) { return { value: input.n * 2 }; }";
const profile = async (v: Volunteer) => (await callJson("GET", "/v1/volunteers/me", { token: v.token })).body;
const send = (v: Volunteer, l: Lease, output: unknown) => call("POST", `/v1/leases/${l.id}/result`, { token: v.token, body: { output } });
const right = (l: Lease) => ({ value: (l.input as { n: number }).n * 2 });

async function doubleKernel(): Promise<string> {
  const res = await callJson<KernelManifest>("POST", "/v1/kernels", { token: ALICE, body: { name: "double", language: "js", source: DOUBLE, reduce: "sum" } });
  return res.body.id;
}

describe("trust on work the coordinator cannot recompute", () => {
  it("does not let trust earned on checkable work vouch for a published kernel's lone result", async () => {
    const t = await volunteer();
    await makeTrusted(t);
    expect(await profile(t)).toMatchObject({ trusted: true, trustedUncheckable: false });
    const job = await createJob({ kernel: await doubleKernel(), shards: Array.from({ length: 10 }, (_, n) => ({ n })) });
    const leases = await leaseEventually(t, 10, 10);
    for (const l of leases) expect((await send(t, l, right(l))).status).toBe(202);
    expect((await status(job.id)).shards.done).toBe(0);
  });

  it("accepts most lone results of a volunteer trusted on uncheckable work, auditing some", async () => {
    const t = await volunteer();
    await makeTrusted(t, true);
    const job = await createJob({ kernel: await doubleKernel(), shards: Array.from({ length: 40 }, (_, n) => ({ n })) });
    const leases = await leaseEventually(t, 40, 40);
    for (const l of leases) await send(t, l, right(l));
    const done = (await status(job.id)).shards.done;
    expect(done).toBeGreaterThan(20);
    expect(done).toBeLessThan(40);
  });

  it("rejects an outvoted result and takes the volunteer's validated record in that class", async () => {
    const [a, b, c] = [await volunteer(), await volunteer(), await volunteer()];
    await observed(c, { agreed: 7 }, { agreed: 7, uncheckable: true });
    const job = await createJob({ kernel: await doubleKernel(), shards: [{ n: 4 }], replication: { replicas: 2, quorum: 2, maxReplicas: 3 } });
    const [lc] = await leaseEventually(c);
    const [la] = await leaseEventually(a);
    await send(c, lc!, { value: 9 });
    await send(a, la!, right(la!));
    const [lb] = await leaseEventually(b);
    await send(b, lb!, right(lb!));
    // a and b's output won; c's was rejected (its lease takes no other answer now), which costs it
    // its validated record in this class.
    expect(await status(job.id)).toMatchObject({ state: "done" });
    expect(await result(job.id)).toEqual({ value: 8 });
    expect((await send(c, lc!, right(lc!))).status).toBe(403);
    // The reputation report goes out with the job's next alarm.
    const deadline = Date.now() + 5000;
    while ((await profile(c)).uncheckable.validated !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await profile(c)).toMatchObject({ validated: 7, uncheckable: { validated: 0 }, blacklisted: false });
  });

  it("makes shards confirmed by two independently trusted volunteers ringer sources, and never a pair with a stranger", async () => {
    const [t1, t2, stranger] = [await volunteer(), await volunteer(), await volunteer()];
    await makeTrusted(t1);
    await makeTrusted(t2);
    const job = await createJob({ kernel: await doubleKernel(), shards: [{ n: 1 }, { n: 2 }] });
    const both = await leaseEventually(t1, 2, 2);
    // Each shard wants one confirmation: t2 takes one, the stranger the other. Both lease before
    // anything is accepted, so neither lease can be a ringer.
    const [confirmed] = await leaseEventually(t2);
    const [paired] = await leaseEventually(stranger);
    expect(new Set([confirmed!.shardId, paired!.shardId]).size).toBe(2);
    for (const l of both) await send(t1, l, right(l));
    await send(t2, confirmed!, right(confirmed!));
    await send(stranger, paired!, right(paired!));
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { total: 2, done: 2 } });
    // Storage: which shards ringers are drawn from is internal by design, like the ringers themselves.
    expect(await ringerSources(job.id)).toEqual([confirmed!.shardId]);
  });

  it("offers a stranger's result to trusted volunteers to confirm first, so fresh identities rarely vouch for each other", async () => {
    const [s1, s2, t] = [await volunteer(), await volunteer(), await volunteer()];
    await makeTrusted(t);
    const job = await createJob({ kernel: await doubleKernel(), shards: [{ n: 1 }] });
    const [first] = await leaseEventually(s1);
    await send(s1, first!, { value: 999 });
    // Within the hold a second stranger gets nothing (the only shard waits for a trusted confirmer)...
    expect(await lease(s2)).toEqual([]);
    // ...while a volunteer trusted on any work may confirm it at once.
    const [confirm] = await lease(t);
    expect(confirm).toMatchObject({ jobId: job.id, shardId: first!.shardId });
  });

  it("leases of a published kernel's ringer look like any other lease of the job", async () => {
    const job = await createJob({ kernel: await doubleKernel(), shards: Array.from({ length: 3 }, (_, n) => ({ n })) });
    const v = await volunteer();
    const [l] = await lease(v);
    expect(Object.keys(l!).sort()).toEqual(["expiresAt", "id", "input", "jobId", "kernel", "module", "params", "shardId"]);
    expect(l!.jobId).toBe(job.id);
  });
});
