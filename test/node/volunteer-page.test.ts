import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { countPrimes } from "../../shared/kernels/primes.ts";
import { counter, gridClient, launchBrowser, until } from "../support/browser.ts";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";

// The volunteer page in real headless Chromium against a real local grid (wrangler dev).
let server: LocalServer;
let browser: Browser;
let grid: ReturnType<typeof gridClient>;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startLocalServer(), launchBrowser()]);
  grid = gridClient(server.url, server.tokens[0]);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await grid.cancelAll();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser profile (own IndexedDB, so its own volunteer) on the volunteer page. */
async function openPage(query: string): Promise<Page> {
  const context = await browser.newContext({ locale: "en-US" });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  await page.goto(`${server.url}/${query}`);
  return page;
}

/** `count` shards of `step` numbers from `start`, one replica each: one page can finish it. */
const primesJob = (start: number, step: number, count: number, extra: Record<string, unknown> = {}) => ({
  kernel: "primes.count",
  range: { start, end: start + step * count, step },
  replication: { replicas: 1, quorum: 1 },
  ...extra,
});

/** π(end) − π(start), computed here with the kernel itself as the oracle. */
const expectedPrimes = (start: number, end: number) => countPrimes({ start, end }).count;

describe("volunteer page", () => {
  it("completes a submitted primes.count job alone, with the right count", async () => {
    const id = await grid.submit(primesJob(0, 50_000, 40));
    const page = await openPage("?autostart=1&threads=2");
    const status = await grid.waitDone(id, 30_000);
    expect(status).toMatchObject({ state: "done", shards: { total: 40, done: 40, failed: 0 } });
    expect((await grid.result(id)).result).toEqual({ count: 148_933 });
    await until(async () => (await counter(page, "shards-visit")) === 40, 5000, "40 shards shown");
    await until(async () => (await counter(page, "credit")) === 40 && (await counter(page, "pending")) === 0, 20_000, "credit 40");
    expect(await counter(page, "shards-total")).toBe(40);
    expect(await page.locator("#connection").textContent()).toBe("Connected");
  });

  it("loses no computed result when reloaded mid-job", async () => {
    // A 10-minute lease TTL: a result lost in the reload (or a lease not released) would stall the
    // job far beyond this test's time limit, since nothing re-issues those shards sooner.
    const [start, step, shards] = [10_000_000_000, 2_000_000, 100];
    const id = await grid.submit(primesJob(start, step, shards, { leaseTtlMs: 600_000 }));
    const page = await openPage("?autostart=1&threads=1&throttle=30");
    // Hold back every result until the new document is up: computed results pile up in the outbox.
    let blocking = true;
    const heldBack = new Set<string>();
    await page.route("**/v1/results", async (route) => {
      if (!blocking) return route.continue();
      for (const r of route.request().postDataJSON().results) heldBack.add(r.leaseId);
      await route.abort("internetdisconnected");
    });
    const accepted = new Map<string, number>();
    page.on("response", async (res) => {
      if (!res.url().endsWith("/v1/results") || !res.ok()) return;
      for (const r of (await res.json()).results) accepted.set(r.leaseId, r.status);
    });
    await until(async () => (await counter(page, "pending")) >= 8, 30_000, "8 results waiting");
    expect((await grid.status(id)).shards.done).toBe(0);
    page.once("domcontentloaded", () => (blocking = false));
    await page.reload();
    const status = await grid.waitDone(id, 60_000);
    expect(status.shards).toEqual({ total: shards, done: shards, failed: 0 });
    expect((await grid.result(id)).result).toEqual({ count: expectedPrimes(start, start + step * shards) });
    // Every result computed before the reload was sent again from IndexedDB and taken.
    expect(heldBack.size).toBeGreaterThanOrEqual(8);
    for (const leaseId of heldBack) expect([202, 409]).toContain(accepted.get(leaseId));
    await until(async () => (await counter(page, "pending")) === 0, 10_000, "outbox empty");
  });

  it("stops leasing while paused and picks up again on resume", async () => {
    const id = await grid.submit(primesJob(10_000_000_000, 2_000_000, 400));
    const page = await openPage("?autostart=1&threads=1&throttle=50");
    await until(async () => (await counter(page, "shards-visit")) >= 5, 30_000, "5 shards");
    let leaseCalls = 0;
    page.on("request", (req) => req.url().endsWith("/v1/leases") && leaseCalls++);
    await page.getByRole("button", { name: "Pause" }).click();
    await until(async () => (await page.locator("#state").textContent()) === "Paused", 10_000, "paused");
    const [calls, done, jobDone] = [leaseCalls, await counter(page, "shards-visit"), (await grid.status(id)).shards.done];
    await new Promise((r) => setTimeout(r, 2500));
    expect(leaseCalls).toBe(calls);
    expect(await counter(page, "shards-visit")).toBe(done);
    expect((await grid.status(id)).shards.done).toBeLessThanOrEqual(jobDone + 0);
    await page.getByRole("button", { name: "Resume" }).click();
    await until(async () => (await counter(page, "shards-visit")) > done + 3, 20_000, "more shards after resume");
    expect(leaseCalls).toBeGreaterThan(calls);
  });

  it("recovers when the coordinator stops and restarts mid-job, without a reload", async () => {
    const [start, step, shards] = [10_000_000_000, 2_000_000, 120];
    const id = await grid.submit(primesJob(start, step, shards));
    const page = await openPage("?autostart=1&threads=1&throttle=30");
    await until(async () => (await counter(page, "shards-visit")) >= 10, 30_000, "10 shards");
    await server.stop();
    await until(async () => /unreachable/.test((await page.locator("#connection").textContent()) ?? ""), 20_000, "offline shown");
    await server.restart();
    await until(async () => (await page.locator("#connection").textContent()) === "Connected", 30_000, "reconnected");
    const status = await grid.waitDone(id, 90_000);
    expect(status.shards).toEqual({ total: shards, done: shards, failed: 0 });
    expect((await grid.result(id)).result).toEqual({ count: expectedPrimes(start, start + step * shards) });
    await until(async () => (await counter(page, "pending")) === 0, 20_000, "outbox empty");
  });

  it("computes more slowly when the CPU throttle is lowered", async () => {
    // Shards of ~20 ms of compute each, so the duty cycle, not the network, sets the pace.
    await grid.submit(primesJob(1_000_000_000_000, 1_000_000, 3000));
    const page = await openPage("?autostart=1&threads=1");
    await until(async () => (await counter(page, "shards-visit")) >= 5, 30_000, "warmed up");
    const rateOver = async (ms: number) => {
      const before = await counter(page, "shards-visit");
      await new Promise((r) => setTimeout(r, ms));
      return ((await counter(page, "shards-visit")) - before) / (ms / 1000);
    };
    const full = await rateOver(4000);
    const shownFull = await counter(page, "rate");
    await page.locator("#throttle").focus();
    await page.keyboard.press("Home"); // 10 %, by keyboard
    expect(await page.locator("#throttle-out").textContent()).toBe("10 %");
    await new Promise((r) => setTimeout(r, 1000));
    const throttled = await rateOver(4000);
    expect(throttled).toBeLessThan(full * 0.4);
    expect(throttled).toBeGreaterThan(0);
    await until(async () => (await counter(page, "rate")) < shownFull * 0.5, 10_000, "shown rate drops");
  });
});
