import { chromium, type Browser } from "playwright-core";

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
