import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startNodeVolunteer, type NodeVolunteer } from "../../client/node/volunteer.ts";
import { counter, gridClient, until } from "../support/browser.ts";
import { startCanary, type Canary } from "../support/canary.ts";
import { ENDLESS_KERNEL, HOSTILE_KERNEL } from "../support/hostile-kernel.ts";
import type { LocalServer } from "../support/local-server.ts";
import { startGridAndBrowser } from "../support/per-file.ts";

// Kernels published to a real local grid (POST /v1/kernels), run by the volunteer page in real
// Chromium and by the Node volunteer, end to end: the coordinator leases them with `module`,
// volunteers fetch the module, run it in their sandbox and post outputs or kernel errors.
let server: LocalServer;
let browser: Browser;
let canary: Canary;
let grid: ReturnType<typeof gridClient>;
const contexts: BrowserContext[] = [];
const volunteers: NodeVolunteer[] = [];

beforeAll(async () => {
  // The canary first: should the grid or the browser fail to start, afterAll still closes it.
  canary = await startCanary();
  ({ grid: server, browser } = await startGridAndBrowser());
  grid = gridClient(server.url, server.tokens[0]);
});
afterEach(async () => {
  await Promise.all([...contexts.splice(0).map((c) => c.close()), ...volunteers.splice(0).map((v) => v.stop(1000))]);
  await grid.cancelAll();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await canary?.close();
});

/** `POST /v1/kernels` with the first submitter token; answers the kernel id. */
async function publish(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${server.url}/v1/kernels`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.tokens[0]}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { id?: string };
  if (res.status !== 201 && res.status !== 200) throw new Error(`POST /v1/kernels → ${res.status} ${JSON.stringify(json)}`);
  return json.id!;
}

const one = { replicas: 1, quorum: 1 };
/** `GET /v1/jobs/:id/result`, for results of any shape (gridClient's is typed for counts). */
const jsonOf = async (id: string) =>
  (await (await fetch(`${server.url}/v1/jobs/${id}/result`, { headers: { authorization: `Bearer ${server.tokens[0]}` } })).json()) as { result: unknown };

/** A page volunteering with `threads` workers; `moduleFetches` counts its module downloads. */
async function openPage(threads = 2): Promise<{ page: Page; moduleFetches: string[] }> {
  const context = await browser.newContext({ locale: "en-US" });
  contexts.push(context);
  const page = await context.newPage();
  const moduleFetches: string[] = [];
  page.on("pageerror", (err) => console.error("page error:", err));
  page.on("request", (req) => /\/v1\/kernels\/[^/]+\/module$/.test(req.url()) && moduleFetches.push(req.url()));
  await page.goto(`${server.url}/?autostart=1&threads=${threads}`);
  return { page, moduleFetches };
}

const SQUARES = "export async function compute(input, params) { let s = 0; for (let i = input.from; i < input.to; i++) s += i * i * params.k; return { s }; }";
const squaresShards = Array.from({ length: 20 }, (_, i) => ({ from: i * 100, to: (i + 1) * 100 }));
const squaresSum = (k: number) => Array.from({ length: 2000 }, (_, i) => i * i * k).reduce((a, b) => a + b, 0);
const sumBytesWasm = readFileSync(new URL("../fixtures/sum-bytes.wasm", import.meta.url));

describe("published kernels, end to end", () => {
  it("the page runs a published js/1 kernel (4 MiB, downloaded once) and a wasm/1 kernel to the exact result", async () => {
    // Padded to just under the 4 MiB module limit: every shard needs it, one download serves them all.
    const padding = `\n/*${"x".repeat(4 * 1024 * 1024 - SQUARES.length - 16)}*/`;
    const js = await publish({ name: "squares", language: "js", source: SQUARES + padding, reduce: "sum" });
    const wasm = await publish({ name: "sum-bytes", language: "wasm", wasm: sumBytesWasm.toString("base64"), reduce: "sum" });
    const jsJob = await grid.submit({ kernel: js, params: { k: 3 }, shards: squaresShards, replication: one });
    const texts = ["olá", "mundo", "!"];
    const wasmJob = await grid.submit({ kernel: wasm, shards: texts.map((text) => ({ text })), replication: one });
    const { page, moduleFetches } = await openPage(2);
    expect(await grid.waitDone(jsJob, 60_000)).toMatchObject({ state: "done" });
    expect((await grid.result(jsJob)).result).toEqual({ s: squaresSum(3) });
    expect(await grid.waitDone(wasmJob, 60_000)).toMatchObject({ state: "done" });
    const inputs = texts.map((text) => Buffer.from(JSON.stringify({ text })));
    expect((await jsonOf(wasmJob)).result).toEqual({
      bytes: inputs.reduce((a, b) => a + b.length, 0),
      sum: inputs.reduce((a, b) => a + b.reduce((x, y) => x + y, 0), 0),
      paramsBytes: 2 * texts.length,
    });
    expect(moduleFetches.filter((url) => url.includes(js))).toHaveLength(1);
    expect(await counter(page, "shards-visit")).toBe(squaresShards.length + texts.length);
  });

  it("a hostile js/1 kernel gets nothing out of the page, an endless one fails its shard, and the page keeps working", async () => {
    const hostile = await publish({ name: "hostile", language: "js", source: HOSTILE_KERNEL, reduce: "collect" });
    const endless = await publish({ name: "endless", language: "js", source: ENDLESS_KERNEL, reduce: "collect" });
    const hostileJob = await grid.submit({ kernel: hostile, shards: [{ canary: canary.url }], replication: one });
    const endlessJob = await grid.submit({ kernel: endless, shards: [{}], replication: one, leaseTtlMs: 3000 });
    const { page } = await openPage(1);
    // A kernel failure fails its shard only once an independent volunteer confirms it: a second tab.
    await openPage(1);
    expect(await grid.waitDone(hostileJob, 60_000)).toMatchObject({ state: "done" });
    const [report] = ((await jsonOf(hostileJob)).result as { outputs: Array<Record<string, string>> }).outputs;
    expect(Object.keys(report!)).toHaveLength(24);
    for (const [attempt, outcome] of Object.entries(report!)) expect(outcome, attempt).toMatch(/^blocked: /);
    const failed = await grid.waitDone(endlessJob, 60_000);
    expect(failed).toMatchObject({ state: "failed", error: expect.stringMatching(/^shard 0: TimeoutError: the kernel exceeded the \d+ ms shard time limit/) });
    const normal = await grid.submit({ kernel: "primes.count", range: { start: 0, end: 2_000_000, step: 50_000 }, replication: one });
    expect((await grid.waitDone(normal, 60_000)).shards).toEqual({ total: 40, done: 40, failed: 0, awaitingConfirmation: 0 });
    expect((await grid.result(normal)).result).toEqual({ count: 148_933 });
    expect((await page.locator("#errors li").allTextContents()).join("\n")).toMatch(/\(k_[0-9a-f]+\) took too long/);
    expect(canary.hits).toEqual([]);
  });

  it("the Node volunteer runs the same published kernels: exact results, nothing out, endless loops stopped", async () => {
    const js = await publish({ name: "squares-node", language: "js", source: SQUARES, reduce: "sum" });
    const wasm = await publish({ name: "sum-bytes", language: "wasm", wasm: sumBytesWasm.toString("base64"), reduce: "sum" });
    const hostile = await publish({ name: "hostile", language: "js", source: HOSTILE_KERNEL, reduce: "collect" });
    const endless = await publish({ name: "endless", language: "js", source: ENDLESS_KERNEL, reduce: "collect" });
    const jobs = {
      js: await grid.submit({ kernel: js, params: { k: 2 }, shards: squaresShards, replication: one }),
      wasm: await grid.submit({ kernel: wasm, shards: [[1, 2, 3]], replication: one }),
      hostile: await grid.submit({ kernel: hostile, shards: [{ canary: canary.url }], replication: one }),
      endless: await grid.submit({ kernel: endless, shards: [{}], replication: one, leaseTtlMs: 2000 }),
    };
    // Two identities: a kernel failure fails its shard only once an independent volunteer confirms it.
    volunteers.push(await startNodeVolunteer({ url: server.url, threads: 2 }), await startNodeVolunteer({ url: server.url, threads: 1 }));
    await Promise.all(Object.values(jobs).map((id) => grid.waitDone(id, 60_000)));
    expect((await grid.result(jobs.js)).result).toEqual({ s: squaresSum(2) });
    expect((await jsonOf(jobs.wasm)).result).toEqual({ bytes: 7, sum: [..."[1,2,3]"].reduce((a, c) => a + c.charCodeAt(0), 0), paramsBytes: 2 });
    const [report] = ((await jsonOf(jobs.hostile)).result as { outputs: Array<Record<string, string>> }).outputs;
    for (const [attempt, outcome] of Object.entries(report!)) expect(outcome, attempt).toMatch(/^blocked: /);
    expect(await grid.status(jobs.endless)).toMatchObject({ state: "failed", error: expect.stringMatching(/TimeoutError/) });
    await until(() => canary.hits.length === 0, 1000, "no canary hit");
    expect(canary.hits).toEqual([]);
  });
});
