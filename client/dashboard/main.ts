import type { JobStatusAnswer } from "../api/responses.ts";
import { createClient } from "../api/submitter.ts";
import { el, setText } from "./dom.ts";
import { followJobs } from "./jobs-feed.ts";
import { createJobsView } from "./jobs-view.ts";
import { followStats } from "./stats-feed.ts";
import { createStatsView } from "./stats-view.ts";
import { createThroughputChart } from "./throughput-chart.ts";
import { createTokenForm } from "./token-form.ts";
import { tokenStore } from "./token-store.ts";

/*
 * The operator's live dashboard (/dashboard): grid-wide figures from the public stats stream,
 * and the submitter's own jobs once a token is entered. Everything updates without reloads.
 */

const statsView = createStatsView();
const chart = createThroughputChart(el("chart"), el("chart-summary"));
followStats({
  onStats: (stats) => (statsView.render(stats), chart.update(stats)),
  onLiveness: (state) => statsView.liveness(state),
});

const jobsArea = el("jobs-area");
let feed: { stop(): void } | undefined;
let signedIn: string | undefined;
const jobsView = createJobsView(el("jobs"), el("jobs-empty"), el("jobs-summary"), async (id) => {
  if (!signedIn) throw new Error("no token");
  return (await createClient({ url: location.origin, token: signedIn }).result(id)).result;
});

const start = (token: string, initial?: JobStatusAnswer[]) => {
  feed?.stop();
  signedIn = token;
  tokenStore.save(token);
  form.show(token);
  jobsArea.hidden = false;
  feed = followJobs(
    token,
    {
      onJobs: (jobs) => jobsView.render(jobs),
      onUnauthorized: () => signOut("The coordinator no longer accepts the saved token. Enter a current one."),
      onTrouble: (error) => setText(el("jobs-trouble"), error ? `Cannot refresh your jobs right now (${error.message}); retrying…` : ""),
    },
    {},
    initial,
  );
};

const signOut = (message?: string) => {
  feed?.stop();
  feed = undefined;
  signedIn = undefined;
  tokenStore.forget();
  jobsView.clear();
  jobsArea.hidden = true;
  form.show(undefined, message);
  form.focus();
};

const form = createTokenForm({ onAccepted: start, onForget: () => signOut() });
const saved = tokenStore.load();
if (saved) start(saved);
else form.show(undefined);
