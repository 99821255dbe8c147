import type { Stats } from "../../shared/schemas.ts";

/** The grid keeps throughput history in 10-second buckets (coordinator/objects/grid-object.ts). */
export const BUCKET_MS = 10_000;
/** How much history the chart shows: 90 buckets, 15 minutes. */
export const WINDOW_BUCKETS = 90;

/**
 * Turns the grid's sparse history (only buckets with accepted shards) into an evenly spaced
 * series of shards per second ending with the bucket that is still filling, whose rate is taken
 * over the seconds it has had so far (at least 2, so its first moments do not spike).
 * @returns x in epoch seconds (uPlot's time unit) and y in shards per second.
 */
export function throughputSeries(stats: Pick<Stats, "history" | "at">): [number[], number[]] {
  const current = Math.floor(stats.at / BUCKET_MS) * BUCKET_MS;
  const byStart = new Map(stats.history.map((h) => [h.t, h.shards]));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = WINDOW_BUCKETS - 1; i >= 0; i--) {
    const t = current - i * BUCKET_MS;
    const seconds = i === 0 ? Math.max(2, (stats.at - t) / 1000) : BUCKET_MS / 1000;
    xs.push(t / 1000);
    ys.push((byStart.get(t) ?? 0) / seconds);
  }
  return [xs, ys];
}
