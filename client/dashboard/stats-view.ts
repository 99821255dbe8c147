import type { Stats } from "../../shared/schemas.ts";
import { add, el, make, setText } from "./dom.ts";
import { count, perSecond } from "./format.ts";
import type { Liveness } from "./stats-feed.ts";

const LIVENESS_TEXT: Record<Liveness, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

/** Binds the grid figures, the contributors table and the live indicator of dashboard.html. */
export function createStatsView() {
  const figures = {
    volunteers: el("volunteers"),
    jobsRunning: el("jobs-running"),
    completed: el("shards-completed"),
    failed: el("shards-failed"),
    throughput: el("throughput"),
  };
  const live = el("live");
  const contributors = el("contributors");
  const contributorsEmpty = el("contributors-empty");
  let shownContributors = "";

  return {
    liveness(state: Liveness): void {
      setText(live, LIVENESS_TEXT[state]);
      live.parentElement!.dataset.live = state;
    },

    render(stats: Stats): void {
      setText(figures.volunteers, count(stats.volunteersActive));
      setText(figures.jobsRunning, count(stats.jobsRunning));
      setText(figures.completed, count(stats.shardsCompleted));
      setText(figures.failed, count(stats.shardsFailed));
      setText(figures.throughput, perSecond(stats.throughput.shardsPerSecond));
      figures.failed.classList.toggle("bad", stats.shardsFailed > 0);

      const key = JSON.stringify(stats.topContributors);
      if (key === shownContributors) return;
      shownContributors = key;
      contributors.replaceChildren(
        ...stats.topContributors.map((c, i) => {
          const row = make("tr");
          const who = make("td", "volunteer");
          add(who, make("code", "", c.volunteer));
          who.title = c.volunteer;
          add(row, make("td", "rank", String(i + 1)), who, make("td", "num", count(c.credit)), make("td", "num", count(c.results)));
          return row;
        }),
      );
      contributorsEmpty.hidden = stats.topContributors.length > 0;
    },
  };
}
