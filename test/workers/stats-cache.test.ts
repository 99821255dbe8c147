import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSse } from "../../client/api/sse.ts";
import { app } from "../../coordinator/app.ts";
import type { GridObject } from "../../coordinator/objects/grid-object.ts";
import { statsCache } from "../../coordinator/routes/stats.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { Stats } from "../../shared/schemas.ts";
import { leaseEventually, primesJob, sleep, status, submitAll, volunteer } from "./helpers.ts";

const grid = () => env.GRID.get(env.GRID.idFromName("grid")) as unknown as DurableObjectStub<GridObject>;
/** Reads the grid object has served since it started: the calls a flood must not multiply. */
const served = () => runInDurableObject(grid(), (o: GridObject) => ({ ...o.served }));

/** GET on the real app, waiting for what it left to do (the cache write) before answering. */
async function get(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://x${path}`), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("public statistics through the edge cache", () => {
  it("answers a flood of GET /v1/stats from the cache: the grid object sees at most one read", async () => {
    const before = await served();
    const first = await get("/v1/stats");
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe(`public, max-age=${LIMITS.statsMaxAgeSeconds}`);
    const { at } = (await first.json()) as Stats;

    // A query string does not make a new cache entry.
    const flood = await Promise.all(Array.from({ length: 100 }, (_, i) => get(`/v1/stats${i % 2 ? `?bust=${i}` : ""}`)));
    for (const res of flood) {
      expect(res.status).toBe(200);
      expect(res.headers.get("cf-cache-status")).toBe("HIT");
      expect(((await res.json()) as Stats).at).toBe(at);
    }
    expect((await served()).stats - before.stats).toBeLessThanOrEqual(1);
  });

  it("feeds every statistics stream the grid's own figures, one grid read per isolate-second however many streams", async () => {
    const cache = await statsCache();
    const key = new Request("http://x/v1/stats");
    const figures = (await (await get("/v1/stats")).json()) as Stats;
    // A cached copy may be two seconds old: the dashboard's stream must not show it.
    await cache.put(key, Response.json({ ...figures, at: 42 }, { headers: { "cache-control": "public, max-age=60" } }));
    await sleep(1100); // past this isolate's own one-second sharing
    const before = await served();
    try {
      const streams = await Promise.all(Array.from({ length: 10 }, () => get("/v1/stats/events")));
      const ids = new Set<string>();
      for (const res of streams) {
        const it = readSse(res.body!);
        const first = await it.next();
        await it.return(undefined);
        expect(first.value).toMatchObject({ event: "stats" });
        ids.add((first.value as { id: string }).id);
      }
      expect(ids.has("42")).toBe(false);
      // Ten streams opened within a second share one read (two if they straddle a second).
      expect((await served()).stats - before.stats).toBeGreaterThanOrEqual(1);
      expect((await served()).stats - before.stats).toBeLessThanOrEqual(2);
    } finally {
      await cache.delete(key);
    }
  });

  it("counts a finished job in the grid's figures before its last result is answered", async () => {
    const job = await primesJob(6);
    const before = await runInDurableObject(grid(), (o: GridObject) => o.stats());
    // Volunteers until the job is done (checks and quorum decide how many it takes).
    for (let round = 0; round < 4 && (await status(job.id)).state === "running"; round++) {
      const v = await volunteer();
      const leases = await leaseEventually(v, 1, 6);
      await sleep(1200); // the job's once-a-second batch of figures has gone: the next one starts with these results
      await submitAll(v, leases);
    }
    // No waiting after the result that ended it: the grid must already agree with the job's own status.
    const after = await runInDurableObject(grid(), (o: GridObject) => o.stats());
    const running = await runInDurableObject(grid(), (o: GridObject) => o.runningJobs());
    expect((await status(job.id)).state).toBe("done");
    expect(running.map((r) => r.id)).not.toContain(job.id);
    expect(after.shardsCompleted - before.shardsCompleted).toBe(6);
    expect(after.jobsRunning).toBe(running.length);
  }, 20_000);

  it("keeps leasing going through a stats flood: one running-job read per isolate-second, whatever the flood", async () => {
    const job = await primesJob(8);
    const v = await volunteer();
    const before = await served();
    const [leases] = await Promise.all([leaseEventually(v, 8, 8), Promise.all(Array.from({ length: 300 }, () => get("/v1/stats")))]);
    expect(leases.map((l) => l.jobId)).toEqual(leases.map(() => job.id));
    expect(leases).toHaveLength(8);
    const after = await served();
    expect(after.stats - before.stats).toBeLessThanOrEqual(1);
    expect(after.runningJobs - before.runningJobs).toBeLessThanOrEqual(2);
  });
});
