import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobObject } from "../../coordinator/objects/job-object.ts";
import { ALICE, BOB, call, callJson, createJob, expectError, jobObject, lease, submitAll, volunteer } from "./helpers.ts";

const DAY = 24 * 60 * 60 * 1000;

describe("retention of finished jobs", () => {
  it("deletes a finished job's storage after the retention period; its owner then gets 410, others 404", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    await submitAll(v, await lease(v, 1));
    expect((await callJson("GET", `/v1/jobs/${job.id}`, { token: ALICE })).body.state).toBe("done");

    // Younger than the retention period: the alarm keeps it.
    await runDurableObjectAlarm(jobObject(job.id));
    expect((await call("GET", `/v1/jobs/${job.id}/result`, { token: ALICE })).status).toBe(200);

    await runInDurableObject(jobObject(job.id), (o: JobObject) => {
      o.store.saveMeta({ ...o.store.meta!, updatedAt: Date.now() - 31 * DAY });
    });
    await runDurableObjectAlarm(jobObject(job.id));
    const gone = await expectError(call("GET", `/v1/jobs/${job.id}`, { token: ALICE }), 410);
    expect(gone.code).toBe("job_expired");
    await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: ALICE }), 410);
    await expectError(call("GET", `/v1/jobs/${job.id}`, { token: BOB }), 404);
    const tables = await runInDurableObject(jobObject(job.id), (o: JobObject) =>
      o.store.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((t) => t.name),
    );
    expect(tables).toEqual(["tomb"]);
    const list = await callJson<{ jobs: { id: string }[] }>("GET", "/v1/jobs?limit=500", { token: ALICE });
    expect(list.status).toBe(200);
    expect(list.body.jobs.map((j) => j.id)).not.toContain(job.id);
  });

  it("sends a finished job's unsent contribution reports from its alarm, its table saying what is owed, and never wakes in a loop past retention", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    await submitAll(v, await lease(v, 1));
    expect((await callJson("GET", `/v1/jobs/${job.id}`, { token: ALICE })).body.state).toBe("done");
    // A report that never reached the volunteer's record, with no retry time in memory (as after an eviction).
    const unreported = () =>
      runInDurableObject(jobObject(job.id), (o: JobObject) => o.store.sql.exec("SELECT volunteer FROM contrib WHERE reported = 0").toArray());
    await runInDurableObject(jobObject(job.id), (o: JobObject) => void o.store.sql.exec("UPDATE contrib SET reported = 0"));
    expect(await unreported()).toHaveLength(1);
    await runDurableObjectAlarm(jobObject(job.id));
    expect(await unreported()).toEqual([]);
    // Past its retention with something still owed (a webhook waiting, here): the next wake is a
    // while off, not in the past, which would fire the alarm again at once, forever.
    const alarm = await runInDurableObject(jobObject(job.id), async (o: JobObject, state: DurableObjectState) => {
      o.store.saveMeta({
        ...o.store.meta!,
        updatedAt: Date.now() - 31 * DAY,
        notify: { url: "https://example.com/hook", state: "pending", attempts: 0, nextAt: Date.now() + 3_600_000 },
      });
      return state.storage.getAlarm();
    });
    expect(alarm).not.toBeNull();
    await runDurableObjectAlarm(jobObject(job.id));
    const next = await runInDurableObject(jobObject(job.id), (_o: JobObject, state: DurableObjectState) => state.storage.getAlarm());
    expect(next).toBeGreaterThan(Date.now() + 30_000);
    expect((await callJson("GET", `/v1/jobs/${job.id}`, { token: ALICE })).status).toBe(200);
  });

  it("never deletes a running job", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    await runInDurableObject(jobObject(job.id), (o: JobObject) => {
      o.store.saveMeta({ ...o.store.meta!, updatedAt: Date.now() - 90 * DAY });
    });
    await runDurableObjectAlarm(jobObject(job.id));
    expect((await callJson("GET", `/v1/jobs/${job.id}`, { token: ALICE })).body.state).toBe("running");
  });
});

describe("a new job announces itself", () => {
  it("sets its own alarm at creation, so the grid hears of it even if the creating request's announcement failed", async () => {
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 100, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const alarm = await runInDurableObject(jobObject(job.id), (_o: JobObject, state: DurableObjectState) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + 1000);
  });
});
