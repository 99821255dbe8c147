import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchBrowser } from "./browser.ts";
import { startLocalServer, type LocalServer, type LocalServerOptions } from "./local-server.ts";

/** A local grid and a headless Chromium, set once the file's tests start. */
export interface GridAndBrowser {
  grid: LocalServer;
  browser: Browser;
}

/**
 * Starts a local grid and a headless Chromium before a test file's tests and stops both after
 * them. Call at the top of the file; the fields are set by the time the tests run.
 * @example const local = gridAndBrowser(); it("…", async () => { const page = await local.browser.newPage(); await page.goto(local.grid.url); });
 */
export function gridAndBrowser(opts: LocalServerOptions = {}): GridAndBrowser {
  const held = {} as GridAndBrowser;
  beforeAll(async () => {
    Object.assign(held, await startGridAndBrowser(opts));
  });
  afterAll(async () => {
    await held.browser?.close();
    await held.grid?.stop();
  });
  return held;
}

/**
 * Starts a local grid and a headless Chromium at once. Should either fail (no Chromium on the
 * machine, say), the other is stopped before the failure is thrown: a grid whose browser never
 * came would otherwise run on, and keep its state folder, with nothing left to stop it.
 */
export async function startGridAndBrowser(opts: LocalServerOptions = {}, launch: () => Promise<Browser> = launchBrowser): Promise<GridAndBrowser> {
  const [grid, browser] = await Promise.allSettled([startLocalServer(opts), launch()]);
  if (grid.status === "fulfilled" && browser.status === "fulfilled") return { grid: grid.value, browser: browser.value };
  if (grid.status === "fulfilled") await grid.value.stop();
  if (browser.status === "fulfilled") await browser.value.close();
  throw grid.status === "rejected" ? grid.reason : (browser as PromiseRejectedResult).reason;
}

/**
 * Starts a local grid before a test file's tests and, after them, stops it (which deletes its
 * state folder). Call at the top of the file; `grid` is set by the time the tests run.
 */
export function localGrid(opts: LocalServerOptions = {}): { grid: LocalServer } {
  const held = {} as { grid: LocalServer };
  beforeAll(async () => {
    held.grid = await startLocalServer(opts);
  });
  afterAll(async () => {
    await held.grid?.stop();
  });
  return held;
}
