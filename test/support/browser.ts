import { chromium, type Browser, type Page } from "playwright-core";

/** The flags that make Debian's Chromium behave headless and offline here (see SETUP.md). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches the system Chromium headless through playwright-core (never a downloaded browser).
 * `CHROMIUM_PATH` overrides the executable; extra args are appended.
 * @example const browser = await launchBrowser(); const page = await browser.newPage();
 */
export function launchBrowser(opts: { args?: string[]; headless?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: opts.headless ?? true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
}

/** Minimal submitter calls for browser tests (the submitter CLI/client is tested elsewhere). */
export function gridClient(url: string, token: string) {
  // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON answers field by field
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => undefined);
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const created: string[] = [];
  return {
    async submit(body: Record<string, unknown>): Promise<string> {
      const job = await call("POST", "/v1/jobs", body);
      created.push(job.id);
      return job.id;
    },
    status: (id: string) => call("GET", `/v1/jobs/${id}`) as Promise<{ state: string; shards: { total: number; done: number; failed: number } }>,
    result: (id: string) => call("GET", `/v1/jobs/${id}/result`) as Promise<{ result: { count: number } }>,
    async waitDone(id: string, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await this.status(id).catch(() => undefined);
        if (s && s.state !== "running") return s;
        if (Date.now() > deadline) throw new Error(`job ${id} still running after ${timeoutMs} ms: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    /** Cancels every job this client created that is still running. */
    async cancelAll() {
      await Promise.all(created.splice(0).map((id) => call("DELETE", `/v1/jobs/${id}`).catch(() => {})));
    },
  };
}

/** Reads a numeric counter of the volunteer page (e.g. `#shards-visit`). */
export async function counter(page: Page, id: string): Promise<number> {
  const text = (await page.locator(`#${id}`).textContent()) ?? "";
  return Number(text.replace(/[^\d.]/g, ""));
}

/** Polls `check` every `everyMs` until it is true (or throws after `timeoutMs`). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = "condition", everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
