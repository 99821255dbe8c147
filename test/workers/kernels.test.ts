import { describe, expect, it } from "vitest";
import type { KernelManifest, Lease } from "../../shared/schemas.ts";
import { ALICE, BOB, call, callJson, createJob, expectError, leaseEventually, result, status, volunteer, type Volunteer } from "./helpers.ts";

const SQUARE = "export function compute(input, params) { return { total: input.start * input.start + (params.add ?? 0) }; }";

async function publish(body: Record<string, unknown>, token = ALICE) {
  return callJson<KernelManifest>("POST", "/v1/kernels", { token, body });
}
async function published(body: Record<string, unknown>, token = ALICE): Promise<KernelManifest> {
  const res = await publish(body, token);
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  return res.body;
}
const myKernels = async (token = ALICE) => (await callJson<{ kernels: { id: string }[] }>("GET", "/v1/kernels", { token })).body.kernels;
const send = (v: Volunteer, l: Lease, body: unknown) => call("POST", `/v1/leases/${l.id}/result`, { token: v.token, body });

describe("publishing kernels", () => {
  it("derives the id from the content: the same kernel again answers 200 with the same id", async () => {
    const first = await publish({ name: "square", language: "js", source: SQUARE, reduce: "sum" });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: expect.stringMatching(/^k_[0-9a-f]{32}$/), name: "square", language: "js", reduce: "sum", bytes: SQUARE.length });
    expect(first.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await publish({ name: "square", language: "js", source: SQUARE, reduce: "sum" });
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id, createdAt: first.body.createdAt } });
    const other = await published({ name: "square", language: "js", source: SQUARE, reduce: "max" });
    expect(other.id).not.toBe(first.body.id);
  });

  it("lists the built-ins and the token's own kernels, and hides them from other tokens", async () => {
    const k = await published({ name: "private", language: "js", source: SQUARE, reduce: "sum", description: "alice's" });
    const mine = await myKernels();
    expect(mine.map((x) => x.id)).toEqual(expect.arrayContaining(["primes.count", "wordcount", k.id]));
    expect((await myKernels(BOB)).map((x) => x.id)).not.toContain(k.id);
    expect((await callJson("GET", `/v1/kernels/${k.id}`, { token: ALICE })).body).toEqual(k);
    await expectError(call("GET", `/v1/kernels/${k.id}`, { token: BOB }), 404);
    const refused = await expectError(call("POST", "/v1/jobs", { token: BOB, body: { kernel: k.id, range: { start: 0, end: 2, step: 1 } } }), 400);
    expect(refused.message).toMatch(/unknown kernel/);
    await expectError(call("GET", "/v1/kernels", {}), 401);
  });

  it.each([
    ["an import declaration", { language: "js", source: `import x from "./x.js";\nexport function compute() { return 1; }` }, /import/],
    ["a re-export from another module", { language: "js", source: `export * from "./y.js";\nexport function compute() { return 1; }` }, /import|export/],
    ["a source without compute", { language: "js", source: "export function run() { return 1; }" }, /compute/],
    ["a syntax error", { language: "js", source: "export function compute( {" }, /.+/],
    ["an unknown reduce", { language: "js", source: SQUARE, reduce: "avg" }, /reduce/],
    ["a module over 4 MiB", { language: "js", source: `export function compute() { return 1; }\n//${"x".repeat(4 * 1024 * 1024)}` }, /bytes/],
    ["wasm that is not wasm", { language: "wasm", wasm: btoa("not a wasm module") }, /.+/],
    ["source and wasm together", { language: "js", source: SQUARE, wasm: "AGFzbQ==" }, /both/],
    ["an output schema that is no schema", { language: "js", source: SQUARE, output: { type: 12 } }, /output/],
    [
      "an output schema over 64 KiB",
      { language: "js", source: SQUARE, output: { type: "object", description: "x".repeat(70_000) } },
      /^output: exceeds 65536 characters/,
    ],
  ])("refuses %s with a 400 that names it, storing nothing", async (_, body, message) => {
    const before = await myKernels();
    const err = await expectError(call("POST", "/v1/kernels", { token: ALICE, body: { name: "bad", reduce: "sum", ...body } }), 400);
    expect(err.message).toMatch(message);
    expect(await myKernels()).toEqual(before);
  });

  it("refuses a module too large for the request itself with a 413 that names the module bound, storing nothing", async () => {
    const before = await myKernels();
    const wasm = "A".repeat(7_000_000); // base64 of 5.25 MB of zero bytes
    const err = await expectError(call("POST", "/v1/kernels", { token: ALICE, body: { name: "huge", language: "wasm", wasm, reduce: "sum" } }), 413);
    expect(err).toMatchObject({ code: "body_too_large", message: expect.stringContaining("a kernel's module may be at most 4194304 bytes") });
    expect(await myKernels()).toEqual(before);
  });

  it("accepts a dynamic import() at publish time (the sandbox, not the publisher, blocks it)", async () => {
    const source = `export async function compute() { try { await import("http://127.0.0.1:9/x.js"); } catch {} return 1; }`;
    expect((await publish({ name: "dyn", language: "js", source, reduce: "sum" })).status).toBe(201);
  });

  it("serves the module to volunteers only, immutable and cacheable", async () => {
    const k = await published({ name: "square", language: "js", source: SQUARE, reduce: "sum" });
    const v = await volunteer();
    const res = await call("GET", `/v1/kernels/${k.id}/module`, { token: v.token });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect(res.headers.get("cache-control")).toMatch(/immutable/);
    expect(await res.text()).toBe(SQUARE);
    const etag = res.headers.get("etag")!;
    expect((await call("GET", `/v1/kernels/${k.id}/module`, { token: v.token, headers: { "if-none-match": etag } })).status).toBe(304);
    await expectError(call("GET", `/v1/kernels/${k.id}/module`, {}), 401);
    await expectError(call("GET", `/v1/kernels/${k.id}/module`, { token: ALICE }), 401);
    await expectError(call("GET", `/v1/kernels/k_${"0".repeat(32)}/module`, { token: v.token }), 404);
  });
});

describe("jobs on published kernels", () => {
  it("leases carry the module, outputs are checked against schema and reduce, and sums merge", async () => {
    const output = { type: "object", properties: { total: { type: "integer" } }, required: ["total"], additionalProperties: false };
    const k = await published({ name: "square", language: "js", source: SQUARE, reduce: "sum", output });
    const job = await createJob({ kernel: k.id, range: { start: 0, end: 4, step: 1 }, params: { add: 1 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const leases = await leaseEventually(v, 4, 4);
    expect(leases[0]).toMatchObject({ kernel: k.id, params: { add: 1 }, module: { language: "js", url: `/v1/kernels/${k.id}/module`, sha256: k.sha256 } });
    const l0 = leases[0]!;
    expect((await expectError(send(v, l0, { output: { total: "1" } }), 400)).message).toMatch(/total/);
    expect((await expectError(send(v, l0, { output: { total: 1, extra: 2 } }), 400)).message).toMatch(/extra|additional/i);
    expect((await expectError(send(v, l0, {}), 400)).message).toMatch(/output or error/);
    for (const l of leases) {
      const start = (l.input as { start: number }).start;
      expect((await send(v, l, { output: { total: start * start + 1 } })).status).toBe(202);
    }
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 4 } });
    expect(await result(job.id)).toEqual({ total: 0 + 1 + 4 + 9 + 4 });
  });

  it("refuses an output its reduce cannot merge", async () => {
    const k = await published({ name: "loose", language: "js", source: SQUARE, reduce: { total: "sum" } });
    await createJob({ kernel: k.id, shards: [{ start: 1 }], replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [l] = await leaseEventually(v);
    expect((await expectError(send(v, l!, { output: { total: "x" } }), 400)).message).toMatch(/total/);
    expect((await expectError(send(v, l!, { output: { other: 1 } }), 400)).message).toMatch(/other/);
    expect((await send(v, l!, { output: { total: 3 } })).status).toBe(202);
  });

  it("collects outputs in shard order whatever order they are accepted in", async () => {
    const k = await published({ name: "collector", language: "js", source: SQUARE, reduce: "collect" });
    const job = await createJob({ kernel: k.id, shards: [{ n: 0 }, { n: 1 }, { n: 2 }], replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const leases = await leaseEventually(v, 3, 3);
    for (const l of [...leases].reverse()) await send(v, l, { output: { shard: Number(l.shardId), label: `s${l.shardId}` } });
    expect(await result(job.id)).toEqual({ outputs: [0, 1, 2].map((i) => ({ shard: i, label: `s${i}` })) });
  });

  it("fails a job whose merged result passes 8 MiB of JSON, saying so, instead of growing without bound", { timeout: 60_000 }, async () => {
    const k = await published({ name: "big-collector", language: "js", source: SQUARE, reduce: "collect" });
    const shards = Array.from({ length: 20 }, (_, n) => ({ n }));
    const job = await createJob({ kernel: k.id, shards, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const leases = await leaseEventually(v, 20, 20);
    // 500,000-character outputs (the most one may have is 512 KiB): 17 of them pass the bound.
    let accepted = 0;
    for (const l of leases) {
      const res = await send(v, l, { output: { total: 1, pad: "x".repeat(500_000) } });
      if (res.status !== 202) break;
      accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(16);
    expect(accepted).toBeLessThan(20);
    const s = await status(job.id);
    expect(s).toMatchObject({ state: "failed", error: expect.stringMatching(/^the merged result reached \d+ characters of JSON \(at most 8388608\)/) });
    expect((await expectError(call("GET", `/v1/jobs/${job.id}/result`, { token: ALICE }), 409)).code).toBe("job_not_done");
  });

  it("lets outputs within the kernel's tolerance agree", async () => {
    const k = await published({ name: "float", language: "js", source: SQUARE, reduce: "sum", compare: { relTol: 1e-6 } });
    const job = await createJob({ kernel: k.id, shards: [{ x: 1 }], replication: { replicas: 2, quorum: 2 } });
    const [a, b] = [await volunteer(), await volunteer()];
    const [la] = await leaseEventually(a);
    const [lb] = await leaseEventually(b);
    await send(a, la!, { output: { pi: 3.14159265 } });
    await send(b, lb!, { output: { pi: 3.14159266 } });
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
    expect((await result(job.id)) as { pi: number }).toEqual({ pi: 3.14159265 });
  });

  it("fails a shard whose kernel fails for independent volunteers, and the job says why", async () => {
    const k = await published({ name: "thrower", language: "js", source: SQUARE, reduce: "sum" });
    const job = await createJob({ kernel: k.id, shards: [{ x: 1 }], replication: { replicas: 1, quorum: 1 } });
    const [a, b] = [await volunteer(), await volunteer()];
    const [la] = await leaseEventually(a);
    expect((await send(a, la!, { error: { message: "TypeError: x is not a function" } })).status).toBe(202);
    expect((await status(job.id)).state).toBe("running");
    const [lb] = await leaseEventually(b);
    expect(lb!.shardId).toBe(la!.shardId);
    expect((await send(b, lb!, { error: { message: "TypeError: x is not a function (quickjs)" } })).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "failed", shards: { failed: 1 }, error: "shard 0: TypeError: x is not a function" });
  });

  it("takes an output over one volunteer's failure when a third agrees with it", async () => {
    const k = await published({ name: "flaky", language: "js", source: SQUARE, reduce: "sum" });
    const job = await createJob({ kernel: k.id, shards: [{ x: 1 }], replication: { replicas: 1, quorum: 1 } });
    const [a, b, c] = [await volunteer(), await volunteer(), await volunteer()];
    const [la] = await leaseEventually(a);
    await send(a, la!, { error: { message: "out of memory" } });
    const [lb] = await leaseEventually(b);
    await send(b, lb!, { output: { total: 7 } });
    const [lc] = await leaseEventually(c);
    await send(c, lc!, { output: { total: 7 } });
    expect(await status(job.id)).toMatchObject({ state: "done" });
    expect(await result(job.id)).toEqual({ total: 7 });
  });

  it("refuses kernel error reports that are malformed or too long", async () => {
    const k = await published({ name: "square", language: "js", source: SQUARE, reduce: "sum" });
    await createJob({ kernel: k.id, shards: [{ x: 1 }], replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    const [l] = await leaseEventually(v);
    await expectError(send(v, l!, { error: { message: "x".repeat(1001) } }), 400);
    await expectError(send(v, l!, { error: "boom" }), 400);
    await expectError(send(v, l!, { output: { total: 1 }, error: { message: "both" } }), 400);
  });

  it("finds built-in kernels by their own names only", async () => {
    for (const kernel of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const err = await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel, shards: [{}] } }), 400);
      expect(err.message).toMatch(/unknown kernel/);
    }
  });
});
