import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { countPrimes } from "../../shared/kernels/primes.ts";
import { counter, gridClient, until } from "../support/browser.ts";
import { divertResults } from "../support/divert-results.ts";
import type { LocalServer } from "../support/local-server.ts";
import { startGridAndBrowser } from "../support/per-file.ts";

// The volunteer page in real headless Chromium against a real local grid (wrangler dev).
let server: LocalServer;
let browser: Browser;
let grid: ReturnType<typeof gridClient>;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
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
});

/** A fresh browser profile (own IndexedDB, so its own volunteer) on the volunteer page. */
async function openPage(query: string, before?: (page: Page) => Promise<void>): Promise<Page> {
  const context = await browser.newContext({ locale: "en-US" });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  await before?.(page);
  await page.goto(`${server.url}/${query}`);
  return page;
}

/** Refuses the page's session, so it leases over HTTP (the calls these tests watch and steer). */
const overHttp = (page: Page) => page.routeWebSocket("**/v1/session", (ws) => ws.close());

/** Lease ids of the results waiting in the page's IndexedDB outbox. */
function outboxLeaseIds(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open("colmeia-volunteer");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const keys = open.result.transaction("outbox").objectStore("outbox").getAllKeys();
          keys.onsuccess = () => (resolve(keys.result as string[]), open.result.close());
        };
      }),
  );
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

/**
 * After a reload mid-job: the job ends done with the exact count, and every result computed
 * before the reload was sent again from IndexedDB and taken (202, or 409 when the closing page's
 * own attempt got there first), leaving the outbox empty.
 */
async function expectNothingLost(
  page: Page,
  id: string,
  job: { start: number; step: number; shards: number },
  computedBefore: string[],
  accepted: Map<string, number>,
): Promise<void> {
  const status = await grid.waitDone(id, 60_000);
  expect(status.shards).toEqual({ total: job.shards, done: job.shards, failed: 0, awaitingConfirmation: 0 });
  expect((await grid.result(id)).result).toEqual({ count: expectedPrimes(job.start, job.start + job.step * job.shards) });
  expect(computedBefore.length).toBeGreaterThanOrEqual(8);
  for (const leaseId of computedBefore) expect([202, 409]).toContain(accepted.get(leaseId));
  await until(async () => (await counter(page, "pending")) === 0, 10_000, "outbox empty");
}

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
    // Shards of some tens of ms (primes.count is fast), so lease calls are rare enough that one is
    // seldom in flight at the reload.
    const [start, step, shards] = [10_000_000_000, 10_000_000, 40];
    const id = await grid.submit(primesJob(start, step, shards, { leaseTtlMs: 600_000 }));
    const page = await openPage("?autostart=1&threads=1&throttle=30", overHttp);
    // Hold back every result until the new document is up: computed results pile up in the outbox.
    let blocking = true;
    await page.route("**/v1/results", (route) => (blocking ? route.abort("internetdisconnected") : route.continue()));
    const accepted = new Map<string, number>();
    page.on("response", async (res) => {
      if (!res.url().endsWith("/v1/results") || !res.ok()) return;
      for (const r of (await res.json()).results) accepted.set(r.leaseId, r.status);
    });
    await until(async () => (await counter(page, "pending")) >= 8, 30_000, "8 results waiting");
    expect((await grid.status(id)).shards.done).toBe(0);
    // Reload just after a lease answer lands: leases granted to a request still in flight when the
    // page dies can only come back by expiring (no client can release what it never heard of).
    await page.waitForResponse((res) => res.url().endsWith("/v1/leases"));
    const computedBefore = await outboxLeaseIds(page);
    page.once("domcontentloaded", () => (blocking = false));
    await page.reload();
    await expectNothingLost(page, id, { start, step, shards }, computedBefore, accepted);
  });

  it("loses no computed result when reloaded mid-job over a session", async () => {
    // As above, on the page's own path: leases and results over its session (passed through here).
    // Results are held back until the new document is up: answered 503 on the session, aborted on
    // HTTP (where the closing page makes one attempt at them).
    const [start, step, shards] = [10_000_000_000, 10_000_000, 40];
    const id = await grid.submit(primesJob(start, step, shards, { leaseTtlMs: 600_000 }));
    let blocking = true;
    const accepted = new Map<string, number>();
    let leaseAnswers = 0;
    let sessions = 0;
    const page = await openPage("?autostart=1&threads=1&throttle=30", async (p) => {
      await p.routeWebSocket("**/v1/session", (ws) => {
        sessions++;
        const server = ws.connectToServer();
        const asked = new Map<number, string>();
        ws.onMessage((message) => {
          const call = JSON.parse(String(message));
          if (blocking && call.type === "results") {
            const error = { code: "unavailable", message: "held back by the test" };
            return ws.send(JSON.stringify({ type: "reply", id: call.id, status: 503, body: { error } }));
          }
          asked.set(call.id, call.type);
          server.send(message);
        });
        server.onMessage((message) => {
          ws.send(message);
          const m = JSON.parse(String(message));
          if (m.type !== "reply") return;
          if (asked.get(m.id) === "lease" && m.status === 200) leaseAnswers++;
          if (asked.get(m.id) === "results" && m.status === 200) for (const r of m.body.results) accepted.set(r.leaseId, r.status);
        });
      });
      await p.route("**/v1/results", (route) => (blocking ? route.abort("internetdisconnected") : route.continue()));
    });
    let httpLeases = 0;
    page.on("request", (req) => req.url().endsWith("/v1/leases") && httpLeases++);
    page.on("response", async (res) => {
      if (!res.url().endsWith("/v1/results") || !res.ok()) return;
      for (const r of (await res.json()).results) accepted.set(r.leaseId, r.status);
    });
    await until(async () => (await counter(page, "pending")) >= 8, 30_000, "8 results waiting");
    expect((await grid.status(id)).shards.done).toBe(0);
    // Reload just after a lease answer lands (see above).
    const answers = leaseAnswers;
    await until(() => leaseAnswers > answers, 10_000, "a lease answer", 1);
    const computedBefore = await outboxLeaseIds(page);
    page.once("domcontentloaded", () => (blocking = false));
    await page.reload();
    await expectNothingLost(page, id, { start, step, shards }, computedBefore, accepted);
    // Both documents leased over sessions of their own, never over HTTP.
    expect(sessions).toBeGreaterThanOrEqual(2);
    expect(httpLeases).toBe(0);
  });

  it("stops leasing while paused and picks up again on resume", async () => {
    const id = await grid.submit(primesJob(10_000_000_000, 2_000_000, 400));
    const page = await openPage("?autostart=1&threads=1&throttle=50", overHttp);
    await until(async () => (await counter(page, "shards-visit")) >= 5, 30_000, "5 shards");
    let leaseCalls = 0;
    page.on("request", (req) => req.url().endsWith("/v1/leases") && leaseCalls++);
    await page.getByRole("button", { name: "Pause" }).click();
    // Shards already computing finish and are submitted; then nothing moves.
    await until(async () => (await page.locator("#state").textContent()) === "Paused", 10_000, "paused");
    await until(async () => (await counter(page, "pending")) === 0, 10_000, "last results sent");
    const [calls, done, jobDone] = [leaseCalls, await counter(page, "shards-visit"), (await grid.status(id)).shards.done];
    await new Promise((r) => setTimeout(r, 2500));
    expect(leaseCalls).toBe(calls);
    expect(await counter(page, "shards-visit")).toBe(done);
    expect((await grid.status(id)).shards.done).toBe(jobDone);
    await page.getByRole("button", { name: "Resume" }).click();
    await until(async () => (await counter(page, "shards-visit")) > done + 3, 20_000, "more shards after resume");
    expect(leaseCalls).toBeGreaterThan(calls);
  });

  it("contributes only while the tab is visible when asked to", async () => {
    await grid.submit(primesJob(10_000_000_000, 2_000_000, 400));
    const page = await openPage("?autostart=1&threads=1&throttle=50");
    await until(async () => (await counter(page, "shards-visit")) >= 3, 30_000, "3 shards");
    await page.getByLabel("Only while this tab is visible").check();
    // Headless tabs are always visible: flip what the page sees, as a minimised window would.
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, "visibilityState", { value: h ? "hidden" : "visible", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);
    await setHidden(true);
    await until(async () => (await page.locator("#state").textContent()) === "Paused while this tab is hidden", 10_000, "hidden pause");
    await until(async () => (await counter(page, "pending")) === 0, 10_000, "last results sent");
    // A shard already running when the tab hid still finishes (pausing stops leasing, it does
    // not throw work away): wait until the count has settled, then it must stay put.
    let settled = -1;
    await until(
      async () => {
        const now = await counter(page, "shards-visit");
        const same = now === settled;
        settled = now;
        return same && (await counter(page, "pending")) === 0;
      },
      20_000,
      "in-flight shards finished",
      1500,
    );
    const done = await counter(page, "shards-visit");
    await new Promise((r) => setTimeout(r, 1500));
    expect(await counter(page, "shards-visit")).toBe(done);
    await setHidden(false);
    await until(async () => (await counter(page, "shards-visit")) > done, 20_000, "computing again once visible");
  });

  it("recovers when the coordinator stops and restarts mid-job, without a reload", async () => {
    const [start, step, shards] = [10_000_000_000, 2_000_000, 120];
    const id = await grid.submit(primesJob(start, step, shards));
    const page = await openPage("?autostart=1&threads=1&throttle=30");
    await until(async () => (await counter(page, "shards-visit")) >= 10, 30_000, "10 shards");
    await server.stop({ keepState: true });
    await until(async () => /unreachable/.test((await page.locator("#connection").textContent()) ?? ""), 20_000, "offline shown");
    await server.restart();
    await until(async () => (await page.locator("#connection").textContent()) === "Connected", 30_000, "reconnected");
    const status = await grid.waitDone(id, 90_000);
    expect(status.shards).toEqual({ total: shards, done: shards, failed: 0, awaitingConfirmation: 0 });
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

  it("survives kernels that throw or hang: the error is reported as the shard's result, the worker replaced, the error shown", async () => {
    // The coordinator validates inputs, so it never issues a shard that breaks a built-in kernel:
    // the first lease answer is replaced by two poisoned shards, whose results are taken here;
    // everything else is the real grid.
    const id = await grid.submit(primesJob(0, 50_000, 40));
    const released: string[] = [];
    const reported = new Map<string, unknown>();
    let workersStarted = 0;
    const expiresAt = Date.now() + 60_000;
    const poisoned = (leaseId: string, input: unknown) => ({
      id: leaseId,
      jobId: "j_x",
      shardId: leaseId,
      kernel: "primes.count",
      params: {},
      input,
      expiresAt,
    });
    const page = await openPage("?autostart=1&threads=1&shardTimeoutMs=1500", async (p) => {
      await overHttp(p);
      let first = true;
      await p.route("**/v1/leases", (route) => {
        if (!first) return route.continue();
        first = false;
        const leases = [poisoned("throws", { start: 0, end: 1e300 }), poisoned("hangs", { start: 0, end: 2 ** 53 })];
        return route.fulfill({ json: { leases } });
      });
      await p.route("**/v1/results", (route) => divertResults(route, (leaseId) => leaseId === "throws" || leaseId === "hangs", reported));
      p.on("worker", () => workersStarted++);
      p.on("request", (req) => {
        const release = /\/v1\/leases\/([^/]+)\/release$/.exec(req.url());
        if (release) released.push(release[1]!);
      });
    });
    const status = await grid.waitDone(id, 60_000);
    expect(status.shards.done).toBe(40);
    expect((await grid.result(id)).result).toEqual({ count: 148_933 });
    await until(() => reported.size === 2, 10_000, "both errors reported");
    expect(reported.get("throws")).toEqual({ leaseId: "throws", error: { message: expect.stringMatching(/^RangeError: /) } });
    expect(reported.get("hangs")).toEqual({ leaseId: "hangs", error: { message: "TimeoutError: the kernel exceeded the 1500 ms shard time limit" } });
    expect(released).toEqual([]);
    const problems = await page.locator("#errors li").allTextContents();
    expect(problems, problems.join("\n")).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/Shard throws of job j_x \(primes\.count\) failed: RangeError.*Reported to the coordinator/);
    expect(problems.join("\n")).toMatch(/Shard hangs of job j_x \(primes\.count\) took too long/);
    expect(workersStarted).toBeGreaterThanOrEqual(3); // one, then a replacement after each failure
  });
});
