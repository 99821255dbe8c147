import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type { InferResponseType } from "hono/client";
import { compute } from "../../shared/kernels/compute.ts";
import { startLocalServer, type LocalServer } from "../../test/support/local-server.ts";
import type { Rpc } from "./connection.ts";
import { ColmeiaError, createClient, registerVolunteer, volunteerClient, type JobStatusAnswer, type LeaseAnswer } from "./index.ts";

// The library against a real local coordinator; this test plays the volunteer by hand.

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("typed client", () => {
  it("has answer types that match the coordinator's own route types", () => {
    type StatusRoute = InferResponseType<Rpc["v1"]["jobs"][":id"]["$get"], 200>;
    expectTypeOf<JobStatusAnswer["state"]>().toEqualTypeOf<StatusRoute["state"]>();
    expectTypeOf<JobStatusAnswer["shards"]>().toEqualTypeOf<StatusRoute["shards"]>();
    expectTypeOf<JobStatusAnswer["id"] | JobStatusAnswer["kernel"]>().toEqualTypeOf<StatusRoute["id"] | StatusRoute["kernel"]>();
    expectTypeOf<LeaseAnswer["expiresAt"]>().toEqualTypeOf<number>();
  });

  it("submits, follows progress while a volunteer works, and reads the merged result", async () => {
    const colmeia = createClient({ url: server.url, token: server.tokens[0] });
    const job = await colmeia.submit({ kernel: "primes.count", range: { start: 0, end: 1000, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    expect(job).toMatchObject({ state: "running", shards: { total: 10, done: 0, failed: 0 } });
    await expect(colmeia.result(job.id)).rejects.toMatchObject({ status: 409 });

    const me = await registerVolunteer({ url: server.url });
    const volunteer = volunteerClient({ url: server.url, token: me.token });
    const seen: number[] = [];
    const waiting = colmeia.wait(job.id, { onProgress: (s) => seen.push(s.shards.done) });

    let held = 0;
    while (held < 10) {
      const leases = await volunteer.lease(4);
      if (leases.length === 0) continue;
      held += leases.length;
      const answers = await volunteer.submitResults(leases.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) })));
      expect(answers.results.every((r) => r.status === 202)).toBe(true);
    }

    const final = await waiting;
    expect(final).toMatchObject({ id: job.id, state: "done", shards: { total: 10, done: 10, failed: 0 } });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(10);
    expect(await colmeia.result(job.id)).toEqual({ id: job.id, result: { count: 168 } });
    expect((await colmeia.list()).jobs.map((j) => j.id)).toContain(job.id);
  });

  it("extends and gives back leases, and cancelling tells the holder the shard is gone", async () => {
    const colmeia = createClient({ url: server.url, token: server.tokens[1] });
    const job = await colmeia.submit({ kernel: "primes.count", range: { start: 0, end: 20, step: 10 }, replication: { replicas: 1, quorum: 1 } });
    const volunteer = volunteerClient({ url: server.url, token: (await registerVolunteer({ url: server.url })).token });

    const leases = await volunteer.lease(2);
    expect(leases.map((l) => l.jobId)).toEqual([job.id, job.id]);
    const [a, b] = leases as [LeaseAnswer, LeaseAnswer];
    expect((await volunteer.heartbeat(a.id)).expiresAt).toBeGreaterThanOrEqual(a.expiresAt);
    await volunteer.release(b.id);

    const cancelled = await colmeia.cancel(job.id);
    expect(cancelled.state).toBe("cancelled");
    await expect(volunteer.submitResult(a.id, { count: 4 })).rejects.toMatchObject({ status: 410 });
    expect((await colmeia.wait(job.id)).state).toBe("cancelled");
  });

  it("rejects with ColmeiaError carrying the contract's status and code", async () => {
    const colmeia = createClient({ url: server.url, token: server.tokens[0] });
    const error = await colmeia.status("j_0000000000000000").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ColmeiaError);
    expect(error).toMatchObject({ status: 404, code: expect.any(String) });

    await expect(createClient({ url: server.url, token: "wrong" }).list()).rejects.toMatchObject({ status: 401 });
    await expect(colmeia.status("")).rejects.toMatchObject({ code: "invalid_id" });
    await expect(colmeia.submit({ kernel: "primes.count" })).rejects.toMatchObject({ status: 400 });

    const offline = createClient({ url: "http://127.0.0.1:9", token: "x" });
    await expect(offline.list()).rejects.toMatchObject({ status: 0, code: "unreachable" });
  });
});
