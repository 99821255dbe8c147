import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobObject } from "../../coordinator/objects/job-object.ts";
import { ALICE, call, callJson, expectError, primesJob, runVolunteers, storedRows, volunteer } from "./helpers.ts";

describe("robustness", () => {
  it("stores nothing for made-up job and lease ids", async () => {
    const fake = "j_abcdefghijkmnopq";
    await expectError(call("GET", `/v1/jobs/${fake}`, { token: ALICE }), 404);
    const v = await volunteer();
    const res = await callJson("POST", "/v1/results", { token: v.token, body: { results: [{ leaseId: `${fake}.3.AAAAAAAAAAAA`, output: { count: 1 } }] } });
    expect(res.body.results[0].status).toBe(404);
    const stub = env.JOBS.get(env.JOBS.idFromName(fake));
    const tables = await runInDurableObject(stub, (o: JobObject) => o.store.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray());
    expect(tables.filter((t) => !String(t.name).startsWith("_cf"))).toEqual([]);
  });

  it("pages through a submitter's jobs without skipping or repeating any", async () => {
    for (let i = 0; i < 5; i++) await primesJob(1);
    const all = (await callJson("GET", "/v1/jobs?limit=500", { token: ALICE })).body.jobs.map((j: { id: string }) => j.id);
    const paged: string[] = [];
    let next: string | undefined;
    do {
      const page = await callJson("GET", `/v1/jobs?limit=2${next ? `&before=${next}` : ""}`, { token: ALICE });
      expect(page.status).toBe(200);
      paged.push(...page.body.jobs.map((j: { id: string }) => j.id));
      next = page.body.next;
    } while (next);
    expect(paged).toEqual(all);
    await expectError(call("GET", "/v1/jobs?before=12", { token: ALICE }), 400);
  });

  it("records every contributor's job in its own volunteer record, for later backtracking", async () => {
    const job = await primesJob(6);
    expect((await runVolunteers(job.id, 2, 3)).state).toBe("done");
    // Storage: the job keeps each contribution until the volunteer's record acknowledges it (reported),
    // which is what a later backtrack relies on; no API lists a volunteer's jobs.
    const until = Date.now() + 5000;
    let rows: { volunteer: string; reported: number }[] = [];
    do {
      rows = await storedRows(job.id, "contrib");
      if (rows.every((r) => r.reported === 1)) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < until);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.reported === 1)).toBe(true);
  });
});
