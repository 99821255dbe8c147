import type { Stats } from "../../shared/schemas.ts";
import { hasNumbers, isArrayOf, isObject } from "../api/guards.ts";

/** Where the grid-wide stream stands, for the header's live indicator. */
export type Liveness = "connecting" | "live" | "reconnecting";

export interface StatsFeedHandlers {
  onStats(stats: Stats): void;
  onLiveness(state: Liveness): void;
}

/** Whether a stats event carries every figure the dashboard shows (one from another coordinator version may not). */
export function isStats(value: unknown): value is Stats {
  return (
    isObject(value) &&
    hasNumbers(value, "volunteersActive", "volunteersRegistered", "jobsRunning", "jobsTotal", "shardsCompleted", "shardsFailed", "resultsAccepted", "at") &&
    isObject(value.throughput) &&
    hasNumbers(value.throughput, "shardsPerSecond", "windowSeconds") &&
    isArrayOf(value.history, (h): h is Stats["history"][number] => isObject(h) && hasNumbers(h, "t", "shards")) &&
    isArrayOf(
      value.topContributors,
      (c): c is Stats["topContributors"][number] => isObject(c) && typeof c.volunteer === "string" && hasNumbers(c, "credit", "results"),
    )
  );
}

/** After this long without an event (they come every second) the figures are called stale. */
const STALE_MS = 7000;

/**
 * Follows `GET /v1/stats/events` (public, so a plain EventSource will do: it reconnects by
 * itself, including after the server's periodic close). Events that do not parse are skipped.
 * @returns a function that stops following.
 */
export function followStats(handlers: StatsFeedHandlers, url = "/v1/stats/events"): () => void {
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const stale = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => handlers.onLiveness("reconnecting"), STALE_MS);
  };
  const open = () => {
    source = new EventSource(url);
    source.addEventListener("open", () => handlers.onLiveness("live"));
    source.addEventListener("stats", (event) => {
      const stats = parseJson((event as MessageEvent<string>).data);
      if (!isStats(stats)) return;
      handlers.onLiveness("live");
      stale();
      handlers.onStats(stats);
    });
    source.addEventListener("error", () => {
      handlers.onLiveness("reconnecting");
      // EventSource retries by itself unless the answer was not a stream (e.g. a 5xx): then it
      // closes for good, and trying again later is ours to do.
      if (source?.readyState === EventSource.CLOSED && !stopped) {
        retry = setTimeout(open, 5000);
      }
    });
  };

  handlers.onLiveness("connecting");
  open();
  stale();
  return () => {
    stopped = true;
    clearTimeout(retry);
    clearTimeout(watchdog);
    source?.close();
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
