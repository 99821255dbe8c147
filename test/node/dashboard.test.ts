import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { compute } from "../../shared/kernels/compute.ts";
import type { Lease } from "../../shared/schemas.ts";
import { gridAndBrowser } from "../support/per-file.ts";

const local = gridAndBrowser();

async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${local.grid.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A plain HTTP volunteer (no browser) that completes exactly `n` shards of job `jobId`. */
async function complete(jobId: string, n: number): Promise<void> {
  const { token } = await post<{ token: string }>("/v1/volunteers", {});
  let done = 0;
  for (let idle = 0; done < n; ) {
    const { leases } = await post<{ leases: Lease[] }>("/v1/leases", { max: Math.min(8, n - done) }, token);
    const mine = leases.filter((l) => l.jobId === jobId);
    if (!mine.length) {
      if (++idle > 50) throw new Error(`no work for job ${jobId} after ${done} shards`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const results = mine.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) }));
    const answer = await post<{ results: { status: number }[] }>("/v1/results", { results }, token);
    done += answer.results.filter((r) => r.status === 202).length;
  }
}

/** A number shown on the page (digits only: "1,234" → 1234), or NaN while it shows "—". */
async function figure(page: Page, selector: string): Promise<number> {
  const text = (await page.locator(selector).first().textContent()) ?? "";
  return /\d/.test(text) ? Number(text.replace(/[^\d.]/g, "")) : Number.NaN;
}

describe("/dashboard", () => {
  it("shows a job's progress and the grid figures live while volunteers work, without reloading", async () => {
    const [token] = local.grid.tokens;
    const job = await post<{ id: string }>(
      "/v1/jobs",
      { kernel: "primes.count", label: "dashboard test", range: { start: 0, end: 30_000, step: 1000 }, replication: { replicas: 1, quorum: 1 } },
      token,
    );

    const page = await local.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    let navigations = 0;
    page.on("framenavigated", (frame) => frame === page.mainFrame() && navigations++);

    await page.goto(`${local.grid.url}/dashboard`);
    expect(await page.getByRole("heading", { name: "Your jobs" }).isVisible()).toBe(true);
    // The token is entered once, by keyboard: type into the labelled field and press Enter.
    await page.getByLabel("Submitter token").fill(token);
    await page.getByLabel("Submitter token").press("Enter");

    const row = page.locator(`[data-testid=job][data-id="${job.id}"]`);
    await row.waitFor();
    expect(await row.locator(".job-name").textContent()).toBe("dashboard test");
    expect(await row.locator("[data-testid=job-state]").textContent()).toBe("running");
    expect(await figure(page, `[data-id="${job.id}"] [data-testid=job-done]`)).toBe(0);
    expect(await figure(page, `[data-id="${job.id}"] [data-testid=job-total]`)).toBe(30);
    await expect.poll(() => figure(page, "#shards-completed"), { timeout: 10_000 }).toBe(0);
    expect(await page.locator("#chart canvas").count()).toBeGreaterThan(0);

    // Half the job, by volunteers outside the page: the page must follow on its own.
    await complete(job.id, 15);
    await expect.poll(() => figure(page, `[data-id="${job.id}"] [data-testid=job-done]`), { timeout: 15_000 }).toBe(15);
    expect(await row.locator("progress").evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([15, 30]);
    await expect.poll(() => figure(page, "#shards-completed"), { timeout: 15_000 }).toBe(15);
    await expect.poll(() => figure(page, "#volunteers"), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);

    // The rest: the job turns done, the grid counts every shard, the top contributor shows up.
    await complete(job.id, 15);
    await expect.poll(() => row.locator("[data-testid=job-state]").textContent(), { timeout: 15_000 }).toBe("done");
    expect(await figure(page, `[data-id="${job.id}"] [data-testid=job-done]`)).toBe(30);
    await expect.poll(() => figure(page, "#shards-completed"), { timeout: 15_000 }).toBe(30);
    await expect.poll(() => page.locator("#contributors tr").count(), { timeout: 15_000 }).toBe(2);
    expect(await page.getByTestId("jobs-summary").textContent()).toBe("1 job, 0 running");
    await expect.poll(() => figure(page, "#throughput"), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await page.locator("#chart").getAttribute("aria-label")).toMatch(/shards per second/);

    expect(navigations).toBe(1); // only the first load: everything above arrived live
    expect(errors).toEqual([]);
    await page.screenshot({ path: "/tmp/dashboard.png", fullPage: true });
    await page.close();
  });

  it("keeps the token across reloads until it is forgotten", async () => {
    const [token] = local.grid.tokens;
    const page = await local.browser.newPage();
    await page.goto(`${local.grid.url}/dashboard`);
    await page.getByLabel("Submitter token").fill(token);
    await page.getByRole("button", { name: "Show my jobs" }).click();
    await page.locator("[data-testid=job]").first().waitFor();

    await page.reload();
    await page.locator("[data-testid=job]").first().waitFor();
    expect(await page.getByLabel("Submitter token").isVisible()).toBe(false);
    expect(await page.getByTestId("token-hint").textContent()).toBe(`…${token.slice(-4)}`);

    await page.getByRole("button", { name: "Forget token" }).click();
    expect(await page.getByLabel("Submitter token").isVisible()).toBe(true);
    expect(await page.locator("[data-testid=job]").count()).toBe(0);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes("token")))).toEqual([]);
    await page.reload();
    expect(await page.getByLabel("Submitter token").isVisible()).toBe(true);
    await page.close();
  });

  it("says so when the token is unknown, and shows another submitter none of these jobs", async () => {
    const page = await local.browser.newPage();
    await page.goto(`${local.grid.url}/dashboard`);
    await page.getByLabel("Submitter token").fill("not-a-token");
    await page.getByRole("button", { name: "Show my jobs" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/does not know that token/);
    expect(await page.getByLabel("Submitter token").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Submitter token").fill(local.grid.tokens[1]);
    await page.getByRole("button", { name: "Show my jobs" }).click();
    await page.locator("#jobs-empty").waitFor();
    expect(await page.locator("[data-testid=job]").count()).toBe(0);
    await page.close();
  });
});
