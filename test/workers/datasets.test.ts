import { env, exports } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { app } from "../../coordinator/app.ts";
import { describe, expect, it } from "vitest";
import { hexOf } from "../../shared/canonical.ts";
import { compute } from "../../shared/kernels/compute.ts";
import type { Dataset, JobStatus, Lease, Upload } from "../../shared/schemas.ts";
import {
  ALICE,
  BOB,
  call,
  callJson,
  createJob,
  expectError,
  inSubmitter,
  jobObject,
  lease,
  leaseEventually,
  result,
  sleep,
  status,
  submit,
  volunteer,
  type Volunteer,
} from "./helpers.ts";

const MiB = 1024 * 1024;
const enc = new TextEncoder();

/** Sends raw bytes (with their content-length, as any HTTP client does for a sized body). */
function raw(method: string, path: string, bytes: Uint8Array, token = ALICE, headers: Record<string, string> = {}) {
  return exports.default.fetch(`http://x${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-length": String(bytes.length), "content-type": "text/plain", ...headers },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
}

async function upload(text: string | Uint8Array, name = "data.txt", token = ALICE): Promise<Dataset> {
  const res = await raw("POST", `/v1/datasets?name=${encodeURIComponent(name)}`, typeof text === "string" ? enc.encode(text) : text, token);
  const body = (await res.json()) as Dataset;
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return hexOf(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/** Deterministic bytes: varied line lengths, so hashing and part edges are exercised. */
function lines(n: number, seed = 1): string {
  let s = seed;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out.push(`line ${i} ${"x".repeat(s % 300)}`);
  }
  return `${out.join("\n")}\n`;
}

async function inputOf(v: Volunteer, l: Lease): Promise<Response> {
  return call("GET", l.inputUrl!, { token: v.token });
}

/**
 * One honest volunteer working a dataset job until it leaves `running`: it reads each shard from
 * its inputUrl and computes it with the shared kernels. Answers the final status and the texts read.
 */
async function work(v: Volunteer, jobId: string, max = 16, timeoutMs = 20_000): Promise<{ final: JobStatus; texts: string[] }> {
  const texts: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while ((await status(jobId)).state === "running" && Date.now() < deadline) {
    const got = (await lease(v, max)).filter((l) => l.jobId === jobId);
    if (!got.length) {
      await sleep(30);
      continue;
    }
    const inputs = await Promise.all(got.map(async (l) => ({ ...(l.input as object), text: await (await inputOf(v, l)).text() })));
    texts.push(...inputs.map((i) => i.text));
    const outputs = inputs.map((input, i) => compute[got[i]!.kernel]!(input, got[i]!.params));
    const res = await callJson("POST", "/v1/results", { token: v.token, body: { results: got.map((l, i) => ({ leaseId: l.id, output: outputs[i] })) } });
    expect(res.status).toBe(200);
  }
  return { final: await status(jobId), texts };
}

/** Leases every shard of the only running job with one volunteer, fetching each shard's bytes. */
async function drain(v: Volunteer, jobId: string, total: number): Promise<{ leases: Lease[]; texts: string[] }> {
  const leases: Lease[] = [];
  const deadline = Date.now() + 10_000;
  while (leases.length < total && Date.now() < deadline) {
    const got = (await lease(v, 64)).filter((l) => l.jobId === jobId);
    leases.push(...got);
    if (!got.length) await sleep(30);
  }
  leases.sort((a, b) => Number(a.shardId) - Number(b.shardId));
  const texts = await Promise.all(
    leases.map(async (l) => {
      const res = await inputOf(v, l);
      expect(res.status).toBe(200);
      return res.text();
    }),
  );
  return { leases, texts };
}

/** The contract's rule computed directly: shard i holds the lines whose first byte lies in [i*chunk, (i+1)*chunk). */
function expectedShards(text: string, chunk: number): string[] {
  const bytes = enc.encode(text);
  const shards = Array.from({ length: Math.ceil(bytes.length / chunk) }, () => [] as number[][]);
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const end = Math.min(i + 1, bytes.length);
      if (end > start) shards[Math.floor(start / chunk)]!.push([start, end]);
      start = i + 1;
    }
  }
  const dec = new TextDecoder();
  return shards.map((ranges) => ranges.map(([a, b]) => dec.decode(bytes.subarray(a, b))).join(""));
}

describe("dataset upload", () => {
  it("stores a single-body upload and records its size and SHA-256", async () => {
    const text = lines(500);
    const ds = await upload(text, "orders.jsonl");
    expect(ds).toMatchObject({ id: expect.stringMatching(/^d_[0-9a-f]{32}$/), name: "orders.jsonl", bytes: enc.encode(text).length });
    expect(ds.sha256).toBe(await sha256(enc.encode(text)));
    expect((await callJson("GET", `/v1/datasets/${ds.id}`, { token: ALICE })).body).toEqual(ds);
    const list = await callJson<{ datasets: Dataset[] }>("GET", "/v1/datasets", { token: ALICE });
    expect(list.body.datasets.map((d) => d.id)).toContain(ds.id);
  });

  it("keeps datasets private: another token gets 404 and does not see it listed", async () => {
    const ds = await upload("a\nb\n");
    await expectError(call("GET", `/v1/datasets/${ds.id}`, { token: BOB }), 404);
    await expectError(call("DELETE", `/v1/datasets/${ds.id}`, { token: BOB }), 404);
    const list = await callJson<{ datasets: Dataset[] }>("GET", "/v1/datasets", { token: BOB });
    expect(list.body.datasets.map((d) => d.id)).not.toContain(ds.id);
    await expectError(call("POST", "/v1/jobs", { token: BOB, body: { kernel: "wordcount", dataset: { id: ds.id } } }), 404);
    expect((await callJson("GET", `/v1/datasets/${ds.id}`, { token: ALICE })).status).toBe(200);
  });

  it("refuses uploads without a token, a name, a length, or over 95 MiB, storing nothing", async () => {
    const before = (await callJson<{ datasets: Dataset[] }>("GET", "/v1/datasets", { token: ALICE })).body.datasets.length;
    expect((await raw("POST", "/v1/datasets?name=a.txt", enc.encode("x\n"), "nope")).status).toBe(401);
    expect((await expectError(raw("POST", "/v1/datasets", enc.encode("x\n")), 400)).message).toMatch(/name/);
    expect((await expectError(raw("POST", "/v1/datasets?name=a%2Fb", enc.encode("x\n")), 400)).message).toMatch(/name/);
    const big = await expectError(raw("POST", "/v1/datasets?name=a.txt", enc.encode("x\n"), ALICE, { "content-length": String(95 * MiB + 1) }), 413);
    expect(big.message).toMatch(/uploads/);
    const noLength = exports.default.fetch("http://x/v1/datasets?name=a.txt", {
      method: "POST",
      headers: { authorization: `Bearer ${ALICE}` },
      body: new ReadableStream({ start: (c) => (c.enqueue(enc.encode("x\n")), c.close()) }),
      duplex: "half",
    } as RequestInit);
    await expectError(noLength, 411);
    await expectError(raw("POST", "/v1/datasets?name=a.txt", new Uint8Array(0)), 400);
    expect((await callJson<{ datasets: Dataset[] }>("GET", "/v1/datasets", { token: ALICE })).body.datasets.length).toBe(before);
  });

  it("uploads in parts, in order, resumable from the part the server reports, with the whole file's SHA-256", async () => {
    const partBytes = 5 * MiB;
    const bytes = new Uint8Array(partBytes * 2 + 12345);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 97 === 96 ? 0x0a : 0x61 + (i % 26);
    const start = await callJson<Upload>("POST", "/v1/datasets/uploads", { token: ALICE, body: { name: "big.txt", bytes: bytes.length, partBytes } });
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ parts: 3, received: 0, uploadId: expect.stringMatching(/^u_/) });
    const base = `/v1/datasets/uploads/${start.body.uploadId}`;
    const part = (n: number) => bytes.subarray((n - 1) * partBytes, Math.min(n * partBytes, bytes.length));

    expect((await expectError(raw("PUT", `${base}/parts/2`, part(2)), 409)).message).toMatch(/send part 1/);
    expect((await expectError(raw("PUT", `${base}/parts/1`, part(1).subarray(1)), 400)).message).toMatch(/exactly/);
    expect((await callJson<Upload>("PUT", `${base}/parts/1`, { token: BOB })).status).toBe(404);
    expect((await raw("PUT", `${base}/parts/1`, part(1))).status).toBe(200);
    await expectError(call("POST", `${base}/complete`, { token: ALICE }), 409);
    // A client that lost track asks where the upload stands and goes on from there.
    expect((await callJson<Upload>("GET", base, { token: ALICE })).body.received).toBe(1);
    await expectError(raw("PUT", `${base}/parts/1`, part(1)), 409);
    expect((await raw("PUT", `${base}/parts/2`, part(2))).status).toBe(200);
    expect((await raw("PUT", `${base}/parts/3`, part(3))).status).toBe(200);
    const done = await callJson<Dataset>("POST", `${base}/complete`, { token: ALICE });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ name: "big.txt", bytes: bytes.length, sha256: await sha256(bytes) });
    await expectError(call("GET", base, { token: ALICE }), 404);
  });

  it("refuses multipart uploads with parts out of bounds and aborts on request", async () => {
    await expectError(call("POST", "/v1/datasets/uploads", { token: ALICE, body: { name: "x", bytes: 100, partBytes: 1000 } }), 400);
    const start = await callJson<Upload>("POST", "/v1/datasets/uploads", { token: ALICE, body: { name: "x", bytes: 6 * MiB, partBytes: 5 * MiB } });
    const base = `/v1/datasets/uploads/${start.body.uploadId}`;
    await expectError(raw("PUT", `${base}/parts/3`, new Uint8Array(10)), 409);
    expect((await callJson("DELETE", base, { token: ALICE })).status).toBe(200);
    await expectError(call("GET", base, { token: ALICE }), 404);
  });
});

describe("dataset quotas", () => {
  it("stops counting uploads that expired: a single-body upload fits again, with nothing else called first", async () => {
    // Two uploads reserve 1,099,500,000,000 of the 1 TiB a token may keep (the most parts allow
    // one upload is 10,000 x 95 MiB), leaving 11,627,776 bytes: 12,000,000 do not fit.
    for (const bytes of [550e9, 549.5e9]) {
      const start = await callJson<Upload>("POST", "/v1/datasets/uploads", { token: BOB, body: { name: "reserved", bytes, partBytes: 95 * MiB } });
      expect(start.status, JSON.stringify(start.body)).toBe(201);
    }
    const file = enc.encode("x\n".repeat(6_000_000));
    const full = await expectError(raw("POST", "/v1/datasets?name=late.txt", file, BOB), 409);
    expect(full.code).toBe("dataset_quota");
    // A day later the uploads have expired, unfinished.
    await inSubmitter(BOB, (o) => void o.sql.exec("UPDATE uploads SET expires_at = ?", Date.now() - 1));
    const res = await raw("POST", "/v1/datasets?name=late.txt", file, BOB);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as Dataset).bytes).toBe(12_000_000);
    expect((await callJson<{ datasets: Dataset[] }>("GET", "/v1/datasets", { token: BOB })).body.datasets.map((d) => d.name)).toEqual(["late.txt"]);
  });
});

describe("dataset jobs", () => {
  it("cuts shards at line ends exactly as the contract says, whatever falls on a chunk edge", async () => {
    const chunk = 4096;
    const parts = [
      `${"a".repeat(chunk - 1)}\n`, // ends exactly at the first edge
      "\n\n", // empty lines
      `${"b".repeat(chunk * 2 + 7)}\r\n`, // longer than a chunk, CRLF
      `${"word ".repeat(2000)}\n`,
      `${"c".repeat(chunk - 3)}\n`,
      "last line without newline",
    ];
    const text = parts.join("");
    const ds = await upload(text);
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: chunk }, replication: { replicas: 1, quorum: 1 } });
    const total = Math.ceil(enc.encode(text).length / chunk);
    expect(job.shards.total).toBe(total);
    const v = await volunteer();
    const { leases, texts } = await drain(v, job.id, total);
    expect(leases.map((l) => l.input)).toEqual(leases.map((_, i) => ({ dataset: ds.id, offset: i * chunk, length: Math.min(chunk, ds.bytes - i * chunk) })));
    expect(texts).toEqual(expectedShards(text, chunk));
    expect(texts.join("")).toBe(text);
  });

  it("runs wordcount over a dataset to the direct count, and checks strangers' results on the very bytes", async () => {
    const text = lines(3000, 7);
    const ds = await upload(text);
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 16 * 1024 } });
    const v = await volunteer();
    const { final } = await work(v, job.id, 16, 20_000);
    expect(final.state).toBe("done");
    // A lone newcomer finished it: every shard was confirmed by the coordinator reading the same bytes.
    expect(final.work?.checks).toBeGreaterThan(0);
    expect(await result(job.id)).toEqual(compute.wordcount!({ text }, {}));
  });

  it("finishes with one trusted volunteer: its audited dataset shards are confirmed by the coordinator on the same bytes", async () => {
    const ctx = createExecutionContext();
    const reg = await app.fetch(
      new Request("http://x/v1/volunteers", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: "k-datasets" }) }),
      { ...env, VOLUNTEER_KEYS: "k-datasets" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const v = (await reg.json()) as Volunteer;
    const text = lines(2000, 11);
    const ds = await upload(text);
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 4096 } });
    const { final } = await work(v, job.id, 16, 20_000);
    expect(final.shards.total).toBeGreaterThan(20); // at a 20 % audit rate, some shard is all but surely audited
    expect(final.state).toBe("done");
    expect(await result(job.id)).toEqual(compute.wordcount!({ text }, {}));
  });

  it("confirms a newcomer's whole batch even past one batch's read budget, so one volunteer alone finishes", { timeout: 60_000 }, async () => {
    // About 27 MB in 1 MiB shards: one batch of them is more than the 16 MiB a batch may read to check.
    // Few distinct words, so a whole batch of outputs fits one results call.
    const text = Array.from({ length: 1_500_000 }, (_, i) => `w${i % 50} v${i % 7} common word`).join("\n");
    const ds = await upload(text);
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: MiB } });
    const v = await volunteer();
    const { final } = await work(v, job.id, 64, 30_000);
    expect(final.shards.total).toBeGreaterThan(20); // more MiB than one batch may read (16)
    expect(final.state).toBe("done");
    expect(await result(job.id)).toEqual(compute.wordcount!({ text }, {}));
  });

  it("reads a shard's bytes to check it only for outputs that pass validation, once however often a batch names it", async () => {
    const text = lines(400, 5);
    const ds = await upload(text);
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 4096 } });
    const v = await volunteer(); // a newcomer: its outputs are checked on the very bytes
    const [l] = (await lease(v, 1)).filter((x) => x.jobId === job.id);
    // Counts the job object's reads of the dataset (the bucket binding its checks read through).
    const reads = () =>
      runInDurableObject(jobObject(job.id), (o) => {
        const blobs = (o as unknown as { env: Env }).env.BLOBS as R2Bucket & { reads?: number };
        if (blobs.reads === undefined) {
          const get = blobs.get.bind(blobs);
          blobs.reads = 0;
          blobs.get = ((...args: Parameters<R2Bucket["get"]>) => (blobs.reads!++, get(...args))) as R2Bucket["get"];
        }
        return blobs.reads;
      });
    expect(await reads()).toBe(0);
    const batch = (output: unknown) => ({ results: Array.from({ length: 64 }, () => ({ leaseId: l!.id, output })) });
    for (let i = 0; i < 3; i++) {
      const refused = await callJson<{ results: { status: number }[] }>("POST", "/v1/results", { token: v.token, body: batch("not counts") });
      expect(refused.body.results.map((r) => r.status)).toEqual(Array(64).fill(400));
    }
    expect(await reads()).toBe(0);
    const input = { ...(l!.input as object), text: await (await inputOf(v, l!)).text() };
    const right = compute.wordcount!(input, {});
    const before = await reads(); // the Worker's own reads to serve the input share the binding
    const taken = await callJson<{ results: { status: number }[] }>("POST", "/v1/results", { token: v.token, body: batch(right) });
    expect(taken.body.results[0]!.status).toBe(202);
    expect(taken.body.results.slice(1).every((r) => r.status === 409)).toBe(true);
    // One shard's text to check with: no more reads than serving that shard took (64 copies read
    // one by one would take 64 times as many).
    const checking = (await reads()) - before;
    expect(checking).toBeGreaterThan(0);
    expect(checking).toBeLessThanOrEqual(before);
  });

  it("serves a lease's bytes to its holder only, and not once the job is cancelled", async () => {
    const ds = await upload(lines(100));
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 4096 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const other = await volunteer();
    const [l] = (await lease(v, 1)).filter((x) => x.jobId === job.id);
    expect(l?.inputUrl).toBe(`/v1/leases/${l!.id}/input`);
    await expectError(call("GET", l!.inputUrl!, { token: other.token }), 403);
    await expectError(call("GET", l!.inputUrl!, {}), 401);
    await expectError(call("GET", l!.inputUrl!.replace(/\.[^.]+\/input$/, ".zzzzzzzzzz/input"), { token: v.token }), 404);
    expect((await inputOf(v, l!)).status).toBe(200);
    await call("DELETE", `/v1/jobs/${job.id}`, { token: ALICE });
    await expectError(inputOf(v, l!), 410);
  });

  it("refuses to delete a dataset a running job reads (409), and deletes it once the job ended", async () => {
    const ds = await upload(lines(50));
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id } });
    expect((await expectError(call("DELETE", `/v1/datasets/${ds.id}`, { token: ALICE }), 409)).code).toBe("dataset_in_use");
    expect((await callJson("GET", `/v1/datasets/${ds.id}`, { token: ALICE })).status).toBe(200);
    await call("DELETE", `/v1/jobs/${job.id}`, { token: ALICE });
    expect((await callJson("DELETE", `/v1/datasets/${ds.id}`, { token: ALICE })).status).toBe(200);
    await expectError(call("GET", `/v1/datasets/${ds.id}`, { token: ALICE }), 404);
    await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "wordcount", dataset: { id: ds.id } } }), 404);
  });

  it("fails a job reopened after its dataset was deleted, saying why, instead of serving errors forever", async () => {
    const ds = await upload(lines(40, 3));
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 1 << 20 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const { final } = await work(v, job.id, 4);
    expect(final.state).toBe("done");
    expect((await callJson("DELETE", `/v1/datasets/${ds.id}`, { token: ALICE })).status).toBe(200);
    // The volunteer is caught elsewhere later: the shard accepted on its word alone reopens.
    const { reopened } = await (jobObject(job.id) as unknown as { backtrack(v: string): Promise<{ reopened: number }> }).backtrack(v.id);
    expect(reopened).toBe(1);
    expect((await status(job.id)).state).toBe("running");
    const w = await volunteer();
    const [l] = (await lease(w, 1)).filter((x) => x.jobId === job.id);
    const gone = await expectError(inputOf(w, l!), 410);
    expect(gone).toMatchObject({ code: "dataset_gone", message: `dataset ${ds.id} was deleted: its shards can no longer be read` });
    expect(await status(job.id)).toMatchObject({ state: "failed", error: `dataset ${ds.id} was deleted: its shards can no longer be read` });
    expect((await lease(w, 1)).filter((x) => x.jobId === job.id)).toEqual([]);
  });

  it("keeps a finished job done when a lease still out on it meets its deleted dataset", async () => {
    const text = lines(40, 4);
    const ds = await upload(text);
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 1 << 20 }, replication: { replicas: 2, quorum: 1 } });
    const [a, b] = [await volunteer(), await volunteer()];
    const [la] = (await lease(a, 1)).filter((x) => x.jobId === job.id);
    const [lb] = (await lease(b, 1)).filter((x) => x.jobId === job.id);
    expect(lb!.shardId).toBe(la!.shardId);
    const output = compute.wordcount!({ ...(la!.input as object), text: await (await inputOf(a, la!)).text() }, {});
    expect((await submit(a, la!.id, output)).status).toBe(202);
    expect((await status(job.id)).state).toBe("done");
    expect((await callJson("DELETE", `/v1/datasets/${ds.id}`, { token: ALICE })).status).toBe(200);
    expect((await expectError(inputOf(b, lb!), 410)).code).toBe("dataset_gone");
    expect((await status(job.id)).state).toBe("done");
    expect(await result(job.id)).toEqual(compute.wordcount!({ text }, {}));
  });

  it("fails a shard whose true output is too large to send once two volunteers say so, instead of refusing them forever", async () => {
    // 100,000 distinct words: the shard's word counts are about 1.1 MB of JSON, over the 512 KiB an output may have.
    const ds = await upload(Array.from({ length: 100_000 }, (_, i) => `u${i}`).join("\n"));
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id } });
    expect(job.shards.total).toBe(1);
    const message = "Error: the output exceeds 524288 characters of JSON";
    for (const v of [await volunteer(), await volunteer()]) {
      const l = (await leaseEventually(v)).find((x) => x.jobId === job.id);
      expect(l?.shardId).toBe("0");
      expect((await call("POST", `/v1/leases/${l!.id}/result`, { token: v.token, body: { error: { message } } })).status).toBe(202);
    }
    expect(await status(job.id)).toMatchObject({ state: "failed", shards: { failed: 1 }, error: `shard 0: ${message}` });
  });

  it("refuses dataset jobs that cannot be: unknown dataset, a kernel that reads no text, a chunk out of bounds", async () => {
    const ds = await upload("1\n2\n");
    await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "wordcount", dataset: { id: `d_${"0".repeat(32)}` } } }), 404);
    expect((await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "primes.count", dataset: { id: ds.id } } }), 400)).message).toMatch(
      /dataset/,
    );
    expect(
      (await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 10 } } }), 400)).message,
    ).toMatch(/chunkBytes/);
    const big = { kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 8 * MiB } };
    expect((await expectError(call("POST", "/v1/jobs", { token: ALICE, body: big }), 400)).message).toMatch(/chunkBytes.*at most/);
    await expectError(
      call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "wordcount", dataset: { id: ds.id }, range: { start: 0, end: 1, step: 1 } } }),
      400,
    );
  });

  it("creates a job over a dataset as cheaply as the dataset is large: nothing is read", async () => {
    const partBytes = 5 * MiB;
    const start = await callJson<Upload>("POST", "/v1/datasets/uploads", { token: ALICE, body: { name: "sparse", bytes: partBytes * 3, partBytes } });
    const base = `/v1/datasets/uploads/${start.body.uploadId}`;
    const part = new Uint8Array(partBytes).fill(0x0a);
    for (const n of [1, 2, 3]) expect((await raw("PUT", `${base}/parts/${n}`, part)).status).toBe(200);
    const ds = (await callJson<Dataset>("POST", `${base}/complete`, { token: ALICE })).body;
    const job = await createJob({ kernel: "wordcount", dataset: { id: ds.id, chunkBytes: 4096 } });
    expect(job.shards.total).toBe((partBytes * 3) / 4096);
  });
});

describe("upload scan", () => {
  it("hashes and finds newlines inside quoted CSV fields however the bytes are cut, resuming from saved state", async () => {
    const { UploadScan } = await import("../../coordinator/datasets/scan.ts");
    const text = 'id,note\n1,"a\nb"\n2,"say ""hi""\nthere\r\n"\n3,plain\n"x\n';
    const bytes = enc.encode(text);
    // The newlines after "a", after "hi""", after "there\r", and after the last quote, which never closes.
    const inside = [12, 29, 36, 49];
    inside.forEach((p) => expect(bytes[p]).toBe(0x0a));
    for (let cut = 0; cut <= bytes.length; cut += 3) {
      const first = new UploadScan();
      first.update(bytes.subarray(0, cut));
      const second = new UploadScan(JSON.parse(JSON.stringify(first.save())));
      second.update(bytes.subarray(cut));
      const { sha256: hex, quoted } = second.finish();
      expect(hex).toBe(await sha256(bytes));
      expect(quoted).toEqual(inside);
    }
  });
});

describe("records.aggregate over datasets", () => {
  const params = (format: "jsonl" | "csv") => ({
    format,
    groupBy: ["category"],
    metrics: { orders: { count: true }, revenue: { sum: "price_cents" }, largest: { max: "price_cents" }, smallest: { min: "price_cents" } },
    where: { status: "paid" },
  });
  const categories = ["books", "toys", "garden", "music"];

  /** Runs a dataset job with one volunteer that reads each shard from its inputUrl. */
  async function runDatasetJob(body: Record<string, unknown>): Promise<{ result: unknown; texts: string[] }> {
    const job = await createJob({ ...body, replication: { replicas: 1, quorum: 1 } });
    const { final, texts } = await work(await volunteer(), job.id);
    expect(final.state).toBe("done");
    return { result: await result(job.id), texts };
  }

  it("aggregates JSON Lines shards to exactly the direct computation", async () => {
    const rows = Array.from({ length: 900 }, (_, i) => ({
      order_id: `o-${i}`,
      category: categories[i % 4],
      price_cents: 100 + ((i * 7919) % 5000),
      status: i % 5 === 0 ? "refunded" : "paid",
    }));
    const text = `${rows.map((r) => JSON.stringify(r)).join("\n")}\n{not json}\n`;
    const ds = await upload(text, "orders.jsonl");
    const { result: got } = await runDatasetJob({ kernel: "records.aggregate", dataset: { id: ds.id, chunkBytes: 4096 }, params: params("jsonl") });
    const groups: Record<string, { orders: number; revenue: number; largest: number; smallest: number }> = {};
    for (const r of rows.filter((r) => r.status === "paid")) {
      const g = (groups[r.category!] ??= { orders: 0, revenue: 0, largest: -Infinity, smallest: Infinity });
      g.orders++;
      g.revenue += r.price_cents;
      g.largest = Math.max(g.largest, r.price_cents);
      g.smallest = Math.min(g.smallest, r.price_cents);
    }
    expect(got).toEqual({ groups, records: 901, skipped: 1 });
  });

  it("gives every CSV shard the header and never cuts a record at a newline inside quotes, even on a chunk edge", async () => {
    const chunk = 4096;
    let text = "order_id,category,note,price_cents,status\r\n";
    let i = 0;
    const row = (note: string) => `o-${i},${categories[i % 4]},"${note}",${100 + ((i++ * 31) % 900)},${i % 3 ? "paid" : "pending"}\r\n`;
    // Quoted newlines land exactly on the last byte before each of the first chunk edges, and just after.
    for (const edge of [chunk, 2 * chunk, 3 * chunk]) {
      while (enc.encode(text).length < edge - 200) text += row(`Mug, ceramic; says ""hi""`);
      const open = `o-${i},books,"`;
      const pad = edge - 1 - enc.encode(text).length - enc.encode(open).length;
      text += `${open}${"x".repeat(pad)}\n${"tail, still quoted"}",500,paid\r\n`;
      i++;
      text += row("first line\nsecond line");
    }
    while (enc.encode(text).length < 5 * chunk) text += row("plain");
    const ds = await upload(text, "orders.csv");
    const { result: got, texts } = await runDatasetJob({ kernel: "records.aggregate", dataset: { id: ds.id, chunkBytes: chunk }, params: params("csv") });
    const whole = compute["records.aggregate"]!({ text }, params("csv")) as { records: number; skipped: number };
    expect(whole.skipped).toBe(0);
    expect(got).toEqual(whole);
    expect(whole.records).toBe(i);
    // No shard starts inside a quoted field: each one parses alone with nothing skipped.
    expect(texts.every((t) => !t.startsWith("tail"))).toBe(true);
  });

  it("refuses an output whose groups do not carry exactly the job's metrics, and takes the right one", async () => {
    const ds = await upload('{"category":"books","price_cents":250,"status":"paid"}\n', "one.jsonl");
    const job = await createJob({ kernel: "records.aggregate", dataset: { id: ds.id }, params: params("jsonl"), replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [l] = await lease(v, 1);
    const send = (groups: unknown) =>
      callJson("POST", "/v1/results", { token: v.token, body: { results: [{ leaseId: l!.id, output: { groups, records: 1, skipped: 0 } }] } });
    // Both fit the kernel's output schema but cannot be merged for these params: refused before anything is stored.
    const lacking = (await send({ books: { orders: 1 } })).body.results[0];
    expect(lacking).toMatchObject({ status: 400, error: { code: "invalid_output", message: expect.stringMatching(/lacks metric "revenue"/) } });
    const extra = (await send({ books: { orders: 1, revenue: 250, largest: 250, smallest: 250, bonus: 1 } })).body.results[0];
    expect(extra).toMatchObject({ status: 400, error: { code: "invalid_output", message: expect.stringMatching(/metrics the job does not name/) } });
    expect((await status(job.id)).shards).toMatchObject({ done: 0, failed: 0 });
    expect((await send({ books: { orders: 1, revenue: 250, largest: 250, smallest: 250 } })).body.results[0].status).toBe(202);
    expect(await result(job.id)).toEqual({ groups: { books: { orders: 1, revenue: 250, largest: 250, smallest: 250 } }, records: 1, skipped: 0 });
  });

  it("judges by replicas a shard the coordinator cannot compute itself (past the group bound), never failing the call", async () => {
    // 10,001 groups in one shard: more than records.aggregate computes, so the coordinator's own check cannot run.
    const rows = Array.from({ length: 10_001 }, (_, i) => `{"category":"c${i}","price_cents":1,"status":"paid"}`).join("\n");
    const ds = await upload(`${rows}\n`, "many.jsonl");
    const job = await createJob({ kernel: "records.aggregate", dataset: { id: ds.id, chunkBytes: 4 * MiB }, params: params("jsonl") });
    const v = await volunteer();
    const [l] = await lease(v, 1);
    // A stranger's made-up output on a checkable shard: the coordinator tries to check it, and cannot.
    const sent = await callJson("POST", "/v1/results", {
      token: v.token,
      body: { results: [{ leaseId: l!.id, output: { groups: {}, records: 0, skipped: 0 } }] },
    });
    expect(sent.body.results[0].status).toBe(202);
    // Not accepted on its word: it waits for an independent volunteer.
    expect(await status(job.id)).toMatchObject({ state: "running", shards: { done: 0, awaitingConfirmation: 1 } });
  });

  it("refuses a records.aggregate job whose params do not fit, naming the field", async () => {
    const ds = await upload("a,b\n1,2\n");
    const bad = await expectError(
      call("POST", "/v1/jobs", {
        token: ALICE,
        body: { kernel: "records.aggregate", dataset: { id: ds.id }, params: { format: "xml", metrics: { n: { count: true } } } },
      }),
      400,
    );
    expect(bad.message).toMatch(/format/);
  });
});
