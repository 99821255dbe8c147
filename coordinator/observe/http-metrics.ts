import type { MetricsObject } from "../objects/metrics-object.ts";
import { objectId } from "../stubs.ts";
import { describeError, log } from "./log.ts";

/** Upper bounds, in seconds, of the request latency buckets (Prometheus's default buckets). */
export const LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** One series of request figures: a route pattern, a method and an exact status code. */
export interface HttpSeries {
  route: string;
  method: string;
  code: number;
  /** Requests per latency bucket, not cumulative; the last one is above every bound. */
  buckets: number[];
  /** Seconds, summed. */
  sum: number;
  count: number;
}

/** An isolate sends what it recorded to the metrics object at most this often. */
export const FLUSH_MS = 5000;
/** Series an isolate keeps between flushes; past that, new ones are folded into route "(other)". */
const MAX_PENDING = 500;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export const seriesKey = (s: Pick<HttpSeries, "route" | "method" | "code">) => `${s.method} ${s.code} ${s.route}`;

/** Adds `from` into `into` (same series). */
export function mergeSeries(into: HttpSeries, from: HttpSeries): void {
  from.buckets.forEach((n, i) => (into.buckets[i] = (into.buckets[i] ?? 0) + n));
  into.sum += from.sum;
  into.count += from.count;
}

const emptySeries = (route: string, method: string, code: number): HttpSeries => ({
  route,
  method,
  code,
  buckets: new Array(LATENCY_BOUNDS.length + 1).fill(0),
  sum: 0,
  count: 0,
});

/** The one metrics object, where every isolate's request figures add up (durably). */
export const metricsStub = (env: Env) => env.METRICS.get(objectId(env.METRICS, "metrics")) as unknown as Pick<MetricsObject, "add" | "snapshot" | "health">;

/**
 * Request figures of this isolate not yet sent. Kept in memory and flushed every few seconds
 * from a request's `waitUntil`, so no request waits on a Durable Object for them; what an isolate
 * recorded in its last few seconds is lost if it is evicted before its next request.
 */
let pending = new Map<string, HttpSeries>();
let flushedAt = Date.now();
let flushing: Promise<void> | undefined;

/** Records one answered request. */
export function recordRequest(route: string, method: string, code: number, seconds: number): void {
  const m = METHODS.has(method) ? method : "OTHER";
  let key = seriesKey({ route, method: m, code });
  let series = pending.get(key);
  if (!series) {
    if (pending.size >= MAX_PENDING) route = "(other)";
    key = seriesKey({ route, method: m, code });
    series = pending.get(key) ?? emptySeries(route, m, code);
    pending.set(key, series);
  }
  const bucket = LATENCY_BOUNDS.findIndex((le) => seconds <= le);
  series.buckets[bucket < 0 ? LATENCY_BOUNDS.length : bucket]!++;
  series.sum += seconds;
  series.count++;
}

/** Whether this isolate has figures waiting and its last flush is old enough. */
export function flushDue(now: number): boolean {
  return pending.size > 0 && !flushing && now - flushedAt >= FLUSH_MS;
}

/**
 * Sends this isolate's pending figures to the metrics object; on failure they go back into
 * `pending` for the next flush. Concurrent callers share one flush.
 */
export function flushRequests(env: Env): Promise<void> {
  flushing ??= (async () => {
    flushedAt = Date.now();
    const batch = [...pending.values()];
    pending = new Map();
    if (!batch.length) return;
    try {
      await metricsStub(env).add(batch);
    } catch (err) {
      log("warn", "request metrics flush failed; kept for the next one", { series: batch.length, ...describeError(err) });
      for (const s of batch) {
        const into = pending.get(seriesKey(s));
        if (into) mergeSeries(into, s);
        else pending.set(seriesKey(s), s);
      }
    }
  })().finally(() => (flushing = undefined));
  return flushing;
}
