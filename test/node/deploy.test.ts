import { describe, expect, it } from "vitest";
import { compute } from "../../shared/kernels/compute.ts";
import { JobStatus, type Lease } from "../../shared/schemas.ts";
import { localGrid } from "../support/per-file.ts";

/**
 * What a `wrangler deploy` does to a running grid, played on this machine: the Worker and every
 * Durable Object start again from the same storage while volunteers keep working. Locally the
 * new version is a stop and start of the whole server on the same state folder, which is harsher
 * than a deploy (nothing overlaps), so what holds here holds there.
 */
const local = localGrid();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every answer volunteers saw, and the calls that met no server at all. */
const seen = { statuses: [] as number[], unreachable: 0 };

/** One volunteer call; a call that meets no server (it is restarting) answers `undefined`. */
async function call<T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T } | undefined> {
  let res: Response;
  try {
    res = await fetch(`${local.grid.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    seen.unreachable++;
    return undefined;
  }
  seen.statuses.push(res.status);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A plain HTTP volunteer: leases, computes (a little slowly), submits, until told to stop. */
async function volunteer(token: string, until: () => boolean): Promise<void> {
  while (!until()) {
    const got = await call<{ leases: Lease[] }>("POST", "/v1/leases", token, { max: 2 });
    if (got?.status !== 200 || !got.body.leases.length) {
      await sleep(200);
      continue;
    }
    await sleep(100); // the computation, slowed down so the restart falls mid-job
    const results = got.body.leases.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) }));
    // A submission that met no server is sent again; one that did arrive answers 202 or 409 (already in).
    for (let sent = await call("POST", "/v1/results", token, { results }); !sent && !until(); sent = await call("POST", "/v1/results", token, { results })) {
      await sleep(200);
    }
  }
}

async function jobStatus(id: string): Promise<JobStatus | undefined> {
  const res = await call<JobStatus>("GET", `/v1/jobs/${id}`, local.grid.tokens[0]);
  return res?.status === 200 ? JobStatus.parse(res.body) : undefined;
}

describe("a new version of the grid started on the same state mid-job (what `wrangler deploy` does)", () => {
  it("finishes the job exactly, and no volunteer sees a 5xx", async () => {
    const created = await call<JobStatus>("POST", "/v1/jobs", local.grid.tokens[0], {
      kernel: "primes.count",
      range: { start: 0, end: 2_000_000, step: 25_000 },
      replication: { replicas: 2, quorum: 2 },
      // Leases whose answer was lost in the restart come back after this, not after the default minute.
      leaseTtlMs: 5_000,
    });
    expect(created?.status).toBe(201);
    const id = created!.body.id;

    const tokens = await Promise.all(Array.from({ length: 3 }, async () => (await call<{ token: string }>("POST", "/v1/volunteers", "-"))!.body.token));
    let finished = false;
    const working = tokens.map((t) => volunteer(t, () => finished));

    // Restart once a quarter of the job is done, with the volunteers still working.
    let before: JobStatus | undefined;
    for (let waited = 0; !(before && before.shards.done >= 20) && waited < 60_000; waited += 100) {
      await sleep(100);
      before = await jobStatus(id);
    }
    expect(before).toMatchObject({ state: "running" });
    expect(before!.shards.done).toBeLessThan(80);
    const answeredBefore = seen.statuses.length;
    await local.grid.restart();
    const answeredAtRestart = seen.statuses.length;

    let after: JobStatus | undefined;
    for (let waited = 0; after?.state !== "done" && waited < 90_000; waited += 200) {
      await sleep(200);
      after = (await jobStatus(id)) ?? after;
    }
    finished = true;
    await Promise.all(working);

    expect(after).toMatchObject({ state: "done", shards: { total: 80, done: 80, failed: 0 } });
    const result = await call("GET", `/v1/jobs/${id}/result`, local.grid.tokens[0]);
    expect(result).toEqual({ status: 200, body: { id, result: { count: 148_933 } } });
    // Volunteers worked on both sides of the restart (some calls met no server while it was down),
    // and none of their calls answered a 5xx.
    expect(answeredBefore).toBeGreaterThan(0);
    expect(seen.unreachable).toBeGreaterThan(0);
    expect(seen.statuses.length).toBeGreaterThan(answeredAtRestart);
    expect(seen.statuses.filter((s) => s >= 500)).toEqual([]);
  }, 180_000);
});
