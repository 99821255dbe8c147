import { describe, expect, it } from "vitest";
import { BOB, callJson, expectError, call, primesJob, runVolunteers } from "./helpers.ts";

describe("GET /v1/jobs/:id/shards", () => {
  it("lists every accepted shard with its output, in pages", async () => {
    const job = await primesJob(12, 1000);
    expect((await runVolunteers(job.id, 2, 4)).state).toBe("done");
    const first = await callJson("GET", `/v1/jobs/${job.id}/shards?limit=5`, { token: "tok-alice" });
    expect(first.status).toBe(200);
    expect(first.body.shards).toHaveLength(5);
    expect(first.body.next).toBe(4);
    const rest = await callJson("GET", `/v1/jobs/${job.id}/shards?after=4&limit=100`, { token: "tok-alice" });
    const all = [...first.body.shards, ...rest.body.shards];
    expect(all.map((s: { shard: string }) => s.shard)).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    expect(all.every((s: { state: string }) => s.state === "accepted")).toBe(true);
    expect(all.reduce((n: number, s: { output: { count: number } }) => n + s.output.count, 0)).toBe(1438); // primes below 12,000
    expect(rest.body.next).toBeUndefined();
  });

  it("hides a job's shards from another submitter and rejects a bad page size", async () => {
    const job = await primesJob(2);
    await expectError(call("GET", `/v1/jobs/${job.id}/shards`, { token: BOB }), 404);
    await expectError(call("GET", `/v1/jobs/${job.id}/shards?limit=0`, { token: "tok-alice" }), 400);
  });
});
