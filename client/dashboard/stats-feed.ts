import { Stats } from "../../shared/schemas.ts";

/** Where the grid-wide stream stands, for the header's live indicator. */
export type Liveness = "connecting" | "live" | "reconnecting";

export interface StatsFeedHandlers {
  onStats(stats: Stats): void;
  onLiveness(state: Liveness): void;
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
      const parsed = Stats.safeParse(parseJson((event as MessageEvent<string>).data));
      if (!parsed.success) return;
      handlers.onLiveness("live");
      stale();
      handlers.onStats(parsed.data);
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
