import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { createClient, registerVolunteer, volunteerClient } from "../../client/api/index.ts";
import { compute } from "../../shared/kernels/compute.ts";
import { gridAndBrowser } from "../support/per-file.ts";

const local = gridAndBrowser();

/** A volunteer through the typed client that computes every shard of job `jobId` with the built-in kernel. */
async function complete(jobId: string, n: number): Promise<void> {
  const volunteer = volunteerClient({ url: local.grid.url, token: (await registerVolunteer({ url: local.grid.url })).token });
  let done = 0;
  for (let idle = 0; done < n; ) {
    const mine = (await volunteer.lease(8)).filter((l) => l.jobId === jobId);
    if (!mine.length) {
      if (++idle > 50) throw new Error(`no work for job ${jobId} after ${done} shards`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const answer = await volunteer.submitResults(mine.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) })));
    done += answer.results.filter((r) => r.status === 202).length;
  }
}

const order = (category: string, month: string, price: number, status = "paid") => JSON.stringify({ category, month, price_cents: price, status });

/** Three shards of orders: paid ones grouped, a refunded one filtered out, one line that is not JSON. */
const SHARDS = [
  [order("Books", "2025-01", 1500), order("Toys", "2025-01", 2500), order("Books", "2025-02", 900)],
  [order("Home, Kitchen", "2025-02", 4000), order("Books", "2025-02", 700, "refunded"), "{not json"],
  [order("Toys", "2025-03", 500), order('Say "cheese"', "2025-03", 12000)],
].map((lines) => ({ text: `${lines.join("\n")}\n` }));

const METRICS = { orders: { count: true }, revenue: { sum: "price_cents" }, largest: { max: "price_cents" } };

async function submitAndFinish(token: string, label: string, groupBy: string[]): Promise<string> {
  const job = await createClient({ url: local.grid.url, token }).submit({
    kernel: "records.aggregate",
    label,
    params: { format: "jsonl", groupBy, metrics: METRICS, where: { status: "paid" } },
    shards: SHARDS,
    replication: { replicas: 1, quorum: 1 },
  });
  await complete(job.id, SHARDS.length);
  return job.id;
}

/** The table's cells as text, row by row (header row first). */
const cells = (page: Page, jobId: string) =>
  page
    .locator(`[data-id="${jobId}"] table`)
    .evaluate((table: HTMLTableElement) => [...table.rows].map((row) => [...row.cells].map((cell) => cell.textContent ?? "")));

/** Opens the dashboard signed in with `token` and returns a job's card once it shows `done`. */
async function doneJobCard(page: Page, token: string, jobId: string) {
  await page.goto(`${local.grid.url}/dashboard`);
  await page.getByLabel("Submitter token").fill(token);
  await page.getByLabel("Submitter token").press("Enter");
  const card = page.locator(`[data-testid=job][data-id="${jobId}"]`);
  await expect.poll(() => card.locator("[data-testid=job-state]").textContent(), { timeout: 15_000 }).toBe("done");
  return card;
}

describe("/dashboard: a records.aggregate result", () => {
  it("shows a done job's groups as a table, sorts it by a header, and downloads it as CSV", async () => {
    const [token] = local.grid.tokens;
    const id = await submitAndFinish(token, "revenue by category", ["category"]);

    const page = await local.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const row = await doneJobCard(page, token, id);
    await row.getByRole("button", { name: "Show result" }).click();
    await row.locator("table").waitFor();
    const toggle = row.getByTestId("job-result-toggle");
    expect([await toggle.textContent(), await toggle.getAttribute("aria-expanded")]).toEqual(["Hide result", "true"]);
    expect(await row.getByTestId("records-summary").textContent()).toBe("8 records read · 1 skipped · 4 groups");

    // Groups in key order at first; one column per metric, as the result lists them.
    expect(await cells(page, id)).toEqual([
      ["group", "largest", "orders", "revenue"],
      ["Books", "1,500", "2", "2,400"],
      ["Home, Kitchen", "4,000", "1", "4,000"],
      ['Say "cheese"', "12,000", "1", "12,000"],
      ["Toys", "2,500", "2", "3,000"],
    ]);

    // A metric header sorts by value, ascending, then descending on a second click.
    const revenue = row.getByRole("button", { name: "revenue" });
    await revenue.click();
    expect((await cells(page, id)).slice(1).map((r) => r[0])).toEqual(["Books", "Toys", "Home, Kitchen", 'Say "cheese"']);
    expect(await row.locator("th[aria-sort]").evaluate((th) => [th.textContent, th.getAttribute("aria-sort")])).toEqual(["revenue", "ascending"]);
    await revenue.click();
    expect((await cells(page, id)).slice(1).map((r) => r[0])).toEqual(['Say "cheese"', "Home, Kitchen", "Toys", "Books"]);
    expect(await row.locator("th[aria-sort]").getAttribute("aria-sort")).toBe("descending");

    // The CSV holds the rows in the order shown, with raw numbers and RFC 4180 quoting.
    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Download CSV" }).click()]);
    expect(download.suggestedFilename()).toBe(`${id}.csv`);
    expect(readFileSync((await download.path())!, "utf8")).toBe(
      ["group,largest,orders,revenue", '"Say ""cheese""",12000,1,12000', '"Home, Kitchen",4000,1,4000', "Toys,2500,2,3000", "Books,1500,2,2400", ""].join(
        "\r\n",
      ),
    );

    // Closing and opening again keeps the table (and its order) without fetching it anew.
    await toggle.click();
    expect(await row.locator("table").isVisible()).toBe(false);
    await row.getByRole("button", { name: "Show result" }).click();
    expect((await cells(page, id))[1]![0]).toBe('Say "cheese"');
    expect(errors).toEqual([]);
    await page.screenshot({ path: "/tmp/dashboard-records.png", fullPage: true });
    await page.close();
  });

  it("splits a key of several groupBy fields into a column each, and offers no table for other kernels", async () => {
    const [token] = local.grid.tokens;
    const id = await submitAndFinish(token, "by category and month", ["category", "month"]);
    const primes = await createClient({ url: local.grid.url, token }).submit({
      kernel: "primes.count",
      range: { start: 0, end: 100, step: 100 },
      replication: { replicas: 1, quorum: 1 },
    });
    await complete(primes.id, 1);

    const page = await local.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const row = await doneJobCard(page, token, id);
    await row.getByRole("button", { name: "Show result" }).click();
    await row.locator("table").waitFor();
    const table = await cells(page, id);
    expect(table[0]).toEqual(["group 1", "group 2", "largest", "orders", "revenue"]);
    expect(table.slice(1).map((r) => r.slice(0, 2))).toEqual([
      ["Books", "2025-01"],
      ["Books", "2025-02"],
      ["Home, Kitchen", "2025-02"],
      ['Say "cheese"', "2025-03"],
      ["Toys", "2025-01"],
      ["Toys", "2025-03"],
    ]);

    const other = page.locator(`[data-testid=job][data-id="${primes.id}"]`);
    await expect.poll(() => other.locator("[data-testid=job-state]").textContent(), { timeout: 15_000 }).toBe("done");
    expect(await other.getByRole("button", { name: "Show result" }).isVisible()).toBe(false);
    await page.close();
  });
});
