import { describe, expect, it } from "vitest";
import { compute } from "../../shared/kernels/compute.ts";
import { JobStatus, type Lease } from "../../shared/schemas.ts";
import { startLocalServer } from "../support/local-server.ts";
import { localGrid } from "../support/per-file.ts";

const local = localGrid();

async function http<T = unknown>(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${local.grid.url}${path}`, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const register = async () => (await http<{ token: string }>("POST", "/v1/volunteers")).body.token;

async function leaseAndSubmit(token: string, max: number): Promise<number> {
  const { status, body } = await http<{ leases: Lease[] }>("POST", "/v1/leases", token, { max });
  expect(status).toBe(200);
  if (!body.leases.length) return 0;
  const results = body.leases.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) }));
  const sent = await http<{ results: { status: number }[] }>("POST", "/v1/results", token, { results });
  expect(sent.body.results.map((r) => r.status)).toEqual(results.map(() => 202));
  return body.leases.length;
}

async function jobStatus(id: string): Promise<JobStatus> {
  const res = await http<JobStatus>("GET", `/v1/jobs/${id}`, local.grid.tokens[0]);
  expect(res.status).toBe(200);
  return JobStatus.parse(res.body);
}

describe("restarting the local grid", () => {
  it("keeps a half-done job across a restart and finishes it with new leases", async () => {
    const created = await http<JobStatus>("POST", "/v1/jobs", local.grid.tokens[0], {
      kernel: "primes.count",
      range: { start: 0, end: 2_000_000, step: 50_000 },
      replication: { replicas: 2, quorum: 2 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    // Two volunteers take the same ten shards each round and submit every lease they hold, so no
    // lease is outstanding at the restart: 20 of 40 shards reach quorum before it.
    const [a, b] = [await register(), await register()];
    for (let round = 0; round < 2; round++) {
      expect(await leaseAndSubmit(a, 10)).toBe(10);
      expect(await leaseAndSubmit(b, 10)).toBe(10);
    }
    const before = await jobStatus(id);
    expect(before).toMatchObject({ state: "running", shards: { total: 40, done: 20, failed: 0 } });

    await local.grid.restart();

    expect(await jobStatus(id)).toEqual(before);
    const listed = await http<{ jobs: JobStatus[] }>("GET", "/v1/jobs", local.grid.tokens[0]);
    expect(listed.body.jobs.map((j) => j.id)).toContain(id);

    const [c, d] = [await register(), await register()];
    const deadline = Date.now() + 60_000;
    while ((await jobStatus(id)).state === "running" && Date.now() < deadline) {
      const got = (await leaseAndSubmit(c, 8)) + (await leaseAndSubmit(d, 8));
      if (!got) await new Promise((r) => setTimeout(r, 200));
    }
    expect(await jobStatus(id)).toMatchObject({ state: "done", shards: { total: 40, done: 40, failed: 0 } });
    const result = await http("GET", `/v1/jobs/${id}/result`, local.grid.tokens[0]);
    expect(result).toEqual({ status: 200, body: { id, result: { count: 148_933 } } });
  });
});

/** The ids a submitter list answers on `url` (`/v1/jobs` → jobs, `/v1/datasets` → datasets). */
async function ids(url: string, path: "/v1/jobs" | "/v1/datasets"): Promise<string[]> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${local.grid.tokens[0]}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, { id: string }[]>;
  return body[path.slice(4)]!.map((x) => x.id);
}

describe("npm start and npm run dev on one STATE_DIR", () => {
  it("each finds the jobs and datasets the other one stored", async () => {
    const job = await http<JobStatus>("POST", "/v1/jobs", local.grid.tokens[0], { kernel: "primes.count", range: { start: 0, end: 1_000, step: 100 } });
    const dataset = await fetch(`${local.grid.url}/v1/datasets?name=a.txt`, {
      method: "POST",
      headers: { authorization: `Bearer ${local.grid.tokens[0]}` },
      body: "one line\n",
    });
    expect([job.status, dataset.status]).toEqual([201, 201]);
    const datasetId = ((await dataset.json()) as { id: string }).id;
    await local.grid.stop({ keepState: true });

    // The same port: the servers' COLMEIA_SECRET (test-secret-<port>) must match too.
    const dev = await startLocalServer({ dev: true, port: local.grid.port, stateDir: local.grid.stateDir, tokens: local.grid.tokens });
    let devJob: string;
    try {
      expect(await ids(dev.url, "/v1/jobs")).toContain(job.body.id);
      expect(await ids(dev.url, "/v1/datasets")).toContain(datasetId);
      const made = await fetch(`${dev.url}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${local.grid.tokens[0]}`, "content-type": "application/json" },
        body: JSON.stringify({ kernel: "primes.count", range: { start: 0, end: 1_000, step: 100 } }),
      });
      expect(made.status).toBe(201);
      devJob = ((await made.json()) as { id: string }).id;
    } finally {
      await dev.stop();
    }

    await local.grid.restart();
    expect(await ids(local.grid.url, "/v1/jobs")).toEqual(expect.arrayContaining([devJob, job.body.id]));
  });
});
