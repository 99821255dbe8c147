/**
 * One run of the volunteer page in headless Chromium against a local grid: submit a job, open
 * the page with `threads` Web Workers, time the job from the page's first lease call to the
 * result that finished it, and trace the kernel workers to see how long each sat idle between
 * shards. `bundles` swaps the page's /build/*.js for another build (e.g. the landed commit's),
 * so two builds are measured against the same server in the same run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { gridClient } from "../../test/support/browser.ts";
import { firstRequest, idleBetweenShards, workerActivity } from "./page-trace.ts";

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
  /** First lease call to the last result of the job, ms. */
  ms: number;
  result: unknown;
  threads: ReturnType<typeof idleBetweenShards>;
  /** From the first lease call to the first shard's compute starting on a worker, ms. */
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
    const leased = firstRequest(trace, "/v1/leases");
    const startupMs = leased === undefined || !threads.length ? undefined : Math.min(...threads.map((t) => t.first)) - leased;
    return { ms: end - (first ?? end), result: (await grid.result(id)).result, threads, startupMs };
  } finally {
    await context.close();
    await grid.cancelAll();
  }
}
