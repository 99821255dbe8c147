import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compute } from "../../shared/kernels/compute.ts";
import { JobStatus, type Lease } from "../../shared/schemas.ts";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";

interface Delivery {
  job: string;
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

let grid: LocalServer;
let receiver: Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  // A receiver that fails the first delivery for each job and accepts every later one.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const job = JobStatus.safeParse(JSON.parse(body)).data?.id ?? "?";
      const answered = deliveries.some((d) => d.job === job) ? 204 : 500;
      deliveries.push({ job, at: Date.now(), headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks/colmeia`;
  // Plain http to the local receiver only because the operator allows it (as npm start does).
  grid = await startLocalServer({ vars: { WEBHOOK_HTTP_HOSTS: "127.0.0.1" } });
});

afterAll(async () => {
  await grid?.stop();
  await new Promise((ok) => receiver?.close(ok));
});

async function api<T>(path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${grid.url}${path}`, {
    ...init,
    headers: { "content-type": "application/json", ...(init.token && { authorization: `Bearer ${init.token}` }) },
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Completes every shard the grid hands out, as one plain HTTP volunteer, until none is left. */
async function volunteerUntilIdle(): Promise<number> {
  const { body: me } = await api<{ token: string }>("/v1/volunteers", { method: "POST", body: "{}" });
  let completed = 0;
  for (let empty = 0; empty < 5; ) {
    const { body } = await api<{ leases: Lease[] }>("/v1/leases", { method: "POST", token: me.token, body: JSON.stringify({ max: 8 }) });
    if (!body.leases.length) {
      empty++;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const results = body.leases.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) }));
    const sent = await api<{ results: { status: number }[] }>("/v1/results", { method: "POST", token: me.token, body: JSON.stringify({ results }) });
    if (sent.status !== 200) throw new Error(`POST /v1/results answered ${sent.status}: ${JSON.stringify(sent.body)}`);
    completed += sent.body.results.filter((r) => r.status === 202).length;
  }
  return completed;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const got = await probe();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("completion webhooks", () => {
  it("retries a failed delivery with backoff and signs every attempt with the submitter's secret", async () => {
    const [alice, bob] = grid.tokens;
    const created = await api<{ id: string }>("/v1/jobs", {
      method: "POST",
      token: alice,
      body: JSON.stringify({
        kernel: "primes.count",
        range: { start: 0, end: 2000, step: 1000 },
        replication: { replicas: 1, quorum: 1 },
        notify: { url: receiverUrl },
      }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    expect(await volunteerUntilIdle()).toBe(2);
    const delivered = await until("the job to show a delivered notification", async () => {
      const { body } = await api<JobStatus>(`/v1/jobs/${id}`, { token: alice });
      return body.notify?.state === "delivered" ? body : undefined;
    });

    // The job status records the outcome: delivered on the second attempt.
    expect(delivered.state).toBe("done");
    expect(delivered.notify).toEqual({ url: receiverUrl, state: "delivered", attempts: 2 });

    // A failed first attempt, then the retry after the 2 s backoff; nothing more once one succeeded.
    const mine = deliveries.filter((d) => d.job === id);
    expect(mine.map((d) => d.answered)).toEqual([500, 204]);
    const [first, retry] = mine as [Delivery, Delivery];
    expect(retry.at - first.at).toBeGreaterThanOrEqual(1500);

    const { body: secrets } = await api<{ secret: string }>("/v1/webhook-secret", { token: alice });
    expect(secrets.secret).toEqual(expect.any(String));
    for (const d of mine) {
      expect(d.headers["x-colmeia-event"]).toBe("job.done");
      expect(d.headers["content-type"]).toMatch(/^application\/json/);
      const header = String(d.headers["x-colmeia-signature"]);
      expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
      const expected = createHmac("sha256", secrets.secret).update(d.body, "utf8").digest();
      expect(timingSafeEqual(Buffer.from(header.slice("sha256=".length), "hex"), expected)).toBe(true);

      // The body is the job's status at its end: the same JSON GET /v1/jobs/:id answers.
      const sent = JobStatus.parse(JSON.parse(d.body));
      expect(sent).toMatchObject({ id, kernel: "primes.count", state: "done", shards: { total: 2, done: 2, failed: 0 } });
    }

    // Another submitter's secret does not verify these bodies.
    const { body: other } = await api<{ secret: string }>("/v1/webhook-secret", { token: bob });
    expect(other.secret).not.toBe(secrets.secret);
    const forged = createHmac("sha256", other.secret).update(retry.body, "utf8").digest("hex");
    expect(String(retry.headers["x-colmeia-signature"])).not.toBe(`sha256=${forged}`);
  });

  it("notifies a cancelled job's end too, with its cancelled status", async () => {
    const [alice] = grid.tokens;
    const created = await api<{ id: string }>("/v1/jobs", {
      method: "POST",
      token: alice,
      body: JSON.stringify({ kernel: "primes.count", range: { start: 0, end: 10_000, step: 1000 }, notify: { url: receiverUrl } }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const cancelled = await api<JobStatus>(`/v1/jobs/${id}`, { method: "DELETE", token: alice });
    expect(cancelled.body.notify).toMatchObject({ url: receiverUrl, state: "pending" });

    const final = await until("the cancelled job's notification", async () => {
      const { body } = await api<JobStatus>(`/v1/jobs/${id}`, { token: alice });
      return body.notify?.state === "delivered" ? body : undefined;
    });
    expect(final.notify?.attempts).toBe(2);
    const last = deliveries.filter((d) => d.job === id).at(-1)!;
    expect(last.headers["x-colmeia-event"]).toBe("job.cancelled");
    expect(JobStatus.parse(JSON.parse(last.body))).toMatchObject({ id, state: "cancelled", shards: { total: 10, done: 0 } });
    const { body: secrets } = await api<{ secret: string }>("/v1/webhook-secret", { token: alice });
    const expected = createHmac("sha256", secrets.secret).update(last.body, "utf8").digest("hex");
    expect(last.headers["x-colmeia-signature"]).toBe(`sha256=${expected}`);
  });

  it("answers 401 for the webhook secret without a submitter token", async () => {
    const res = await fetch(`${grid.url}/v1/webhook-secret`);
    expect(res.status).toBe(401);
  });
});
