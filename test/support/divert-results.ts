import type { Route } from "playwright-core";

/**
 * A Playwright route handler for `POST /v1/results` in browser tests that make up leases: the
 * entries `mine` picks are recorded in `taken` and answered 202 here; the rest of the batch goes
 * on to the grid; the answers are merged back in the batch's order.
 * @example await page.route("**\/v1/results", (route) => divertResults(route, (id) => id.startsWith("made-up-"), taken));
 */
export async function divertResults(route: Route, mine: (leaseId: string) => boolean, taken: Map<string, unknown>) {
  const sent = route.request().postDataJSON() as { results: Array<{ leaseId: string }> };
  for (const r of sent.results) if (mine(r.leaseId)) taken.set(r.leaseId, r);
  const real = sent.results.filter((r) => !mine(r.leaseId));
  const answered = real.length
    ? ((await (await route.fetch({ postData: JSON.stringify({ results: real }) })).json()) as { results: Array<{ leaseId: string }> }).results
    : [];
  const byId = new Map(answered.map((a) => [a.leaseId, a]));
  return route.fulfill({ json: { results: sent.results.map((r) => byId.get(r.leaseId) ?? { leaseId: r.leaseId, status: 202 }) } });
}
