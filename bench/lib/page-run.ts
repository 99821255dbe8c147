/**
 * One run of the volunteer page in headless Chromium against a local grid: submit a job, open
 * the page with `threads` Web Workers, time the job from the page's first lease request (over its
 * session, or HTTP when it has none) to the answer to the results that finished it, and trace the kernel workers to see how long each sat idle between
 * shards. `bundles` swaps the page's /build/*.js for another build (e.g. the landed commit's),
 * so two builds are measured against the same server in the same run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { gridClient } from "../../test/support/browser.ts";
import { firstEvent, idleBetweenShards, workerActivity } from "./page-trace.ts";

export interface PageRunOptions {
  url: string;
  token: string;
  threads: number;
  job: Record<string, unknown>;
  /** A folder with volunteer.js and kernel-worker.js to serve instead of the server's. */
  bundles?: string;
  /** Trace the kernel workers (idle time between shards); tracing costs the page some speed. Default true. */
  trace?: boolean;
}

export interface PageRun {
  /** First lease request to the answer to the last results of the job, ms. */
  ms: number;
  result: unknown;
  threads: ReturnType<typeof idleBetweenShards>;
  /** From the first lease call (or the session's opening) to the first shard's compute starting on a worker, ms. */
  startupMs: number | undefined;
}

export async function runPage(browser: Browser, opts: PageRunOptions): Promise<PageRun> {
  const grid = gridClient(opts.url, opts.token);
  const context = await browser.newContext();
  try {
    let swapped = 0;
    if (opts.bundles) {
      const dir = opts.bundles;
      await context.route(/\/build\/(volunteer|kernel-worker)\.js$/, async (route) => {
        const res = await route.fetch();
        swapped++;
        await route.fulfill({ response: res, body: readFileSync(join(dir, new URL(route.request().url()).pathname.split("/").at(-1)!)) });
      });
    }
    const page = await context.newPage();
    let first: number | undefined;
    let last = 0;
    page.on("request", (req) => req.url().endsWith("/v1/leases") && (first ??= performance.now()));
    page.on("response", (res) => res.url().endsWith("/v1/results") && (last = performance.now()));
    // The same on the page's session: its lease requests, and the replies to its results.
    page.on("websocket", (ws) => {
      const results = new Set<unknown>();
      const read = (payload: string | Buffer) => {
        try {
          return JSON.parse(String(payload)) as { type?: string; id?: unknown };
        } catch {
          return {}; // the runtime's "pong"
        }
      };
      ws.on("framesent", ({ payload }) => {
        const m = read(payload);
        if (m.type === "lease") first ??= performance.now();
        if (m.type === "results") results.add(m.id);
      });
      ws.on("framereceived", ({ payload }) => {
        const m = read(payload);
        if (m.type === "reply" && results.delete(m.id)) last = performance.now();
      });
    });
    const id = await grid.submit(opts.job);
    const tracing = opts.trace ?? true;
    if (tracing) await browser.startTracing(page, { categories: ["devtools.timeline", "disabled-by-default-devtools.timeline"] });
    await page.goto(`${opts.url}/?autostart=1&threads=${opts.threads}`);
    await grid.waitDone(id, 120_000);
    const done = performance.now();
    const trace = tracing ? JSON.parse((await browser.stopTracing()).toString("utf8")) : [];
    if (opts.bundles && swapped < 2) throw new Error(`the page loaded ${swapped} of the 2 swapped bundles: the comparison would be void`);
    // The last results response may land after waitDone's poll noticed: never past `done`.
    const end = Math.min(last || done, done);
    const threads = idleBetweenShards(workerActivity(trace));
    // A session's first lease follows its opening; over HTTP it is the first lease request.
    const leased = firstEvent(trace, "ResourceSendRequest", "/v1/leases") ?? firstEvent(trace, "WebSocketCreate", "/v1/session");
    const startupMs = leased === undefined || !threads.length ? undefined : Math.min(...threads.map((t) => t.first)) - leased;
    return { ms: end - (first ?? end), result: (await grid.result(id)).result, threads, startupMs };
  } finally {
    await context.close();
    await grid.cancelAll();
  }
}
