import { describe, expect, it } from "vitest";
import { LIMITS } from "../../shared/limits.ts";
import { call, callJson, createJob, expectError, honest, lease, sleep, submit, volunteer } from "./helpers.ts";

describe("volunteers cannot hold a job hostage", () => {
  it("caps the leases one volunteer may hold in a job, and publishes the cap", async () => {
    await createJob({ kernel: "primes.count", range: { start: 0, end: 300, step: 1 }, replication: { replicas: 1, quorum: 1 } });
    const hoarder = await volunteer();
    let held = 0;
    for (let i = 0; i < 4; i++) held += (await lease(hoarder, 64)).length;
    expect(held).toBe(LIMITS.leasesPerVolunteerPerJob);
    const other = await volunteer();
    expect((await lease(other, 64)).length).toBeGreaterThan(0);
    const { body } = await callJson("GET", "/openapi.json");
    expect(body["x-colmeia-limits"]).toMatchObject({ leasesPerVolunteerPerJob: LIMITS.leasesPerVolunteerPerJob, leaseHardTtls: LIMITS.leaseHardTtls });
  });

  it("caps the leases one volunteer may hold across the grid, and publishes the cap", async () => {
    for (let j = 0; j < 3; j++) await createJob({ kernel: "primes.count", range: { start: 0, end: 300, step: 1 }, replication: { replicas: 1, quorum: 1 } });
    const hoarder = await volunteer();
    let held = 0;
    for (let i = 0; i < 8; i++) held += (await lease(hoarder, 64)).length;
    expect(held).toBe(LIMITS.leasesPerVolunteer);
    expect(LIMITS.leasesPerVolunteer).toBeLessThan(3 * LIMITS.leasesPerVolunteerPerJob);
    expect((await lease(await volunteer(), 64)).length).toBe(64);
    const { body } = await callJson("GET", "/openapi.json");
    expect(body["x-colmeia-limits"]).toMatchObject({ leasesPerVolunteer: LIMITS.leasesPerVolunteer });
  });

  it("ends a lease at its hard deadline however often it is heartbeaten", { timeout: 15_000 }, async () => {
    await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 }, leaseTtlMs: 1000 });
    const v = await volunteer();
    const [l] = await lease(v);
    const hardDeadline = Date.now() + LIMITS.leaseHardTtls * 1000;
    let last = 0;
    while (Date.now() < hardDeadline - 300) {
      const res = await callJson<{ expiresAt: number }>("POST", `/v1/leases/${l!.id}/heartbeat`, { token: v.token });
      expect(res.status).toBe(200);
      last = res.body.expiresAt;
      expect(last).toBeLessThanOrEqual(l!.expiresAt - 1000 + LIMITS.leaseHardTtls * 1000);
      await sleep(250);
    }
    await sleep(Math.max(0, last - Date.now()) + 700);
    await expectError(submit(v, l!.id, honest(l!)), 410);
  });

  it("gives one lease at a time to a volunteer that hands back 256, however much it completed first", { timeout: 60_000 }, async () => {
    await createJob({ kernel: "primes.count", range: { start: 0, end: 2000, step: 1 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    // 320 shards completed honestly: past the 256 the throttle counts.
    for (let i = 0; i < 5; i++) {
      const batch = await lease(v, 64);
      const res = await call("POST", "/v1/results", { token: v.token, body: { results: batch.map((l) => ({ leaseId: l.id, output: honest(l) })) } });
      expect(res.status).toBe(200);
    }
    // Then it hoards: whole batches leased and handed back.
    let returned = 0;
    while (returned < 256) {
      const batch = await lease(v, 64);
      expect(batch).toHaveLength(64);
      for (const l of batch) expect((await call("POST", `/v1/leases/${l.id}/release`, { token: v.token })).status).toBe(200);
      returned += batch.length;
    }
    expect(await lease(v, 64)).toHaveLength(1);
  });

  it("gives a volunteer that keeps handing work back one lease at a time", async () => {
    await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 1 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    for (const l of await lease(v, 8)) expect((await call("POST", `/v1/leases/${l.id}/release`, { token: v.token })).status).toBe(200);
    expect(await lease(v, 10)).toHaveLength(1);
    const fresh = await volunteer();
    expect(await lease(fresh, 10)).toHaveLength(10);
  });
});
