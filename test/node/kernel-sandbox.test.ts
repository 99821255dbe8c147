import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCanary, type Canary } from "../support/canary.ts";
import { counter, gridClient, until } from "../support/browser.ts";
import { divertResults } from "../support/divert-results.ts";
import { ENDLESS_KERNEL, HOSTILE_KERNEL, JSON_POISON_KERNEL } from "../support/hostile-kernel.ts";
import type { LocalServer } from "../support/local-server.ts";
import { startGridAndBrowser } from "../support/per-file.ts";

// The page's kernel sandbox in real headless Chromium, served by a real local grid (wrangler dev,
// so the real _headers rules). Leases of published kernels are made up in the browser (the first
// lease answer is replaced, their modules and results are answered here), so this tests the
// volunteer side on its own; published-kernels.test.ts runs kernels published to the coordinator.
let server: LocalServer;
let browser: Browser;
let canary: Canary;
let grid: ReturnType<typeof gridClient>;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // The canary first: should the grid or the browser fail to start, afterAll still closes it.
  canary = await startCanary();
  ({ grid: server, browser } = await startGridAndBrowser());
  grid = gridClient(server.url, server.tokens[0]);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await grid.cancelAll();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await canary?.close();
});

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
const sumBytesWasm = readFileSync(new URL("../fixtures/sum-bytes.wasm", import.meta.url));

interface MadeUpKernel {
  language: "js" | "wasm";
  code: Uint8Array | string;
  /** One shard per input. */
  inputs: unknown[];
  ttlMs?: number;
}

/**
 * Opens the volunteer page with its first lease answer replaced by shards of made-up published
 * kernels, serving their modules and taking their results here; everything else reaches the grid.
 * `results` collects the made-up shards' result entries; `moduleFetches` counts module downloads.
 */
async function openWithMadeUpKernels(query: string, kernels: MadeUpKernel[]) {
  const results = new Map<string, { output?: unknown; error?: { message: string } }>();
  const moduleFetches: string[] = [];
  const context = await browser.newContext({ locale: "en-US" });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  const leases = kernels.flatMap((k, n) => {
    const url = `/v1/kernels/k_test${n}/module`;
    return k.inputs.map((input, i) => ({
      id: `made-up-${n}-${i}`,
      jobId: `j_test${n}`,
      shardId: String(i),
      kernel: `k_test${n}`,
      params: { n },
      input,
      expiresAt: Date.now() + (k.ttlMs ?? 60_000),
      module: { language: k.language, url, sha256: sha256(k.code) },
    }));
  });
  // The made-up leases replace the first HTTP lease answer: the page's session is refused, so it leases over HTTP.
  await page.routeWebSocket("**/v1/session", (ws) => ws.close());
  let first = true;
  await page.route("**/v1/leases", (route) => {
    if (!first) return route.continue();
    first = false;
    return route.fulfill({ json: { leases } });
  });
  await page.route("**/v1/kernels/*/module", (route) => {
    const n = Number(/k_test(\d+)/.exec(route.request().url())?.[1]);
    moduleFetches.push(route.request().url());
    const k = kernels[n]!;
    return route.fulfill({ body: Buffer.from(k.code), contentType: k.language === "js" ? "text/javascript" : "application/wasm" });
  });
  await page.route("**/v1/results", (route) => divertResults(route, (id) => id.startsWith("made-up-"), results));
  // Made-up leases live as long as they are heartbeaten, like real ones.
  await page.route(/\/v1\/leases\/made-up-[^/]+\/heartbeat$/, (route) => route.fulfill({ json: { expiresAt: Date.now() + 3000 } }));
  await page.goto(`${server.url}/${query}`);
  return { page, results, moduleFetches };
}

const primesJob = { kernel: "primes.count", range: { start: 0, end: 2_000_000, step: 50_000 }, replication: { replicas: 1, quorum: 1 } };

describe("kernel sandbox of the volunteer page", () => {
  it("serves the kernel worker with its own CSP, and the page with the page's", async () => {
    const worker = await fetch(`${server.url}/build/kernel-worker.js`);
    expect(worker.headers.get("content-security-policy")).toBe("default-src 'none'; script-src blob: 'wasm-unsafe-eval'; base-uri 'none'");
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self';/);
  });

  it("runs published js/1 and wasm/1 kernels to the exact result, downloading each module once", async () => {
    const js = "export async function compute(input, params) { let s = 0; for (let i = input.from; i < input.to; i++) s += i * i; return { s, n: params.n }; }";
    const inputs = Array.from({ length: 6 }, (_, i) => ({ from: i * 1000, to: (i + 1) * 1000 }));
    const { results, moduleFetches } = await openWithMadeUpKernels("?autostart=1&threads=2", [
      { language: "js", code: js, inputs },
      { language: "wasm", code: sumBytesWasm, inputs: [{ text: "olá" }, [1, 2, 3]] },
    ]);
    await until(() => results.size === 8, 30_000, "8 made-up results");
    inputs.forEach(({ from, to }, i) => {
      let s = 0;
      for (let x = from; x < to; x++) s += x * x;
      expect(results.get(`made-up-0-${i}`)).toEqual({ leaseId: `made-up-0-${i}`, output: { s, n: 0 } });
    });
    const olá = Buffer.from(JSON.stringify({ text: "olá" }));
    expect(results.get("made-up-1-0")).toMatchObject({ output: { bytes: olá.length, sum: olá.reduce((a, b) => a + b, 0), paramsBytes: 7 } });
    expect(results.get("made-up-1-1")).toMatchObject({ output: { bytes: 7, sum: [..."[1,2,3]"].reduce((a, c) => a + c.charCodeAt(0), 0), paramsBytes: 7 } });
    expect(moduleFetches).toHaveLength(2);
  });

  it("gives a hostile js/1 kernel nothing: no network, storage or page, an endless loop is stopped, the page keeps working", async () => {
    const id = await grid.submit(primesJob);
    const { page, results } = await openWithMadeUpKernels("?autostart=1&threads=1", [
      { language: "js", code: HOSTILE_KERNEL, inputs: [{ canary: canary.url }] },
      { language: "js", code: ENDLESS_KERNEL, inputs: [{}], ttlMs: 3000 },
      { language: "js", code: JSON_POISON_KERNEL, inputs: [{}] },
    ]);
    await until(() => results.size === 3, 30_000, "the three hostile results");
    const report = (results.get("made-up-0-0") as { output: Record<string, string> }).output;
    expect(Object.keys(report)).toHaveLength(24);
    for (const [attempt, outcome] of Object.entries(report)) expect(outcome, attempt).toMatch(/^blocked: /);
    expect(results.get("made-up-1-0")).toEqual({
      leaseId: "made-up-1-0",
      error: { message: expect.stringMatching(/^TimeoutError: the kernel exceeded the \d+ ms shard time limit$/) },
    });
    // An output its worker's poisoned JSON made unsendable is the kernel's error, not a stuck result.
    expect(results.get("made-up-2-0")).toEqual({ leaseId: "made-up-2-0", error: { message: expect.stringMatching(/^Error: the output is not JSON/) } });
    // The page carries on: the real job after them completes, with the right count.
    const status = await grid.waitDone(id, 60_000);
    expect(status.shards).toEqual({ total: 40, done: 40, failed: 0, awaitingConfirmation: 0 });
    expect((await grid.result(id)).result).toEqual({ count: 148_933 });
    const problems = (await page.locator("#errors li").allTextContents()).join("\n");
    expect(problems).toMatch(/Shard 0 of job j_test1 \(k_test1\) took too long: TimeoutError.*Reported to the coordinator/);
    expect(await counter(page, "shards-visit")).toBeGreaterThanOrEqual(41);
    await new Promise((r) => setTimeout(r, 500));
    expect(canary.hits).toEqual([]);
  });
});
