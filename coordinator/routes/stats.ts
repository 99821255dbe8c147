import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { LIMITS } from "../../shared/limits.ts";
import type { Stats } from "../../shared/schemas.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { BoundedSse } from "../net/bounded-sse.ts";
import { addressLimit, boundedAddress } from "../rate-limit.ts";
import { gridStub } from "../stubs.ts";

/** How often a stream sends the figures. */
const EVERY_MS = 1000;
/** How long an isolate reuses the figures it read (from the edge cache or the grid). */
const MEMO_MS = 1000;

/** The cache key of the figures: the path alone, so a query string cannot bust the cache. */
const cacheKey = (url: string) => new Request(new URL("/v1/stats", url));
/** This colo's cache of the figures (a named cache: same semantics as `caches.default`). */
export const statsCache = () => caches.open("colmeia-stats");

/** The public answer: cacheable by this colo's cache (and any shared cache) for a couple of seconds. */
const figuresResponse = (stats: Stats) => Response.json(stats, { headers: { "cache-control": `public, max-age=${LIMITS.statsMaxAgeSeconds}` } });

interface Memo {
  at: number;
  stats: Promise<Stats>;
}
/** What this isolate read last: for `GET /v1/stats` on a cache miss (then stored in the colo's cache), and for streams (always the grid's). */
const memos: { miss?: Memo; live?: Memo } = {};

/**
 * The grid's figures, read at most once per second per isolate and shared by every reader here.
 * `GET /v1/stats` answers this colo's cached copy as is when there is one (the Workers Cache API,
 * on a custom domain; on workers.dev it stores nothing and only the isolate's sharing is left);
 * on a miss it asks the grid object here and stores its answer for the next readers: a flood of reads reaches the
 * grid object at most once per `statsMaxAgeSeconds` per colo. Streams ask the grid object itself
 * (once per second per isolate, however many are open; they are bounded per isolate), so the
 * dashboard's figures are never more than a second or two behind the jobs' own.
 */
function figures(c: Context<AppEnv>, source: "miss" | "live"): Promise<Stats> {
  const now = Date.now();
  const memo = memos[source];
  if (memo && now - memo.at <= MEMO_MS) return memo.stats;
  const read = source === "live" ? gridStub(c.env).stats() : figuresToCache(c);
  memos[source] = { at: now, stats: read };
  read.catch(() => (memos[source] = undefined));
  return read;
}

/** The grid object's figures, stored in this colo's cache for the readers after this one (the route looked there first). */
async function figuresToCache(c: Context<AppEnv>): Promise<Stats> {
  const stats = await gridStub(c.env).stats();
  c.executionCtx.waitUntil(
    statsCache()
      .then((cache) => cache.put(cacheKey(c.req.url), figuresResponse(stats)))
      .catch(() => {}),
  );
  return stats;
}

/** Grid streams open in this isolate (the bound is per isolate: a Worker has no shared memory). */
let openStreams = 0;
/** Of those, how many each client address holds (at most as many entries as streams). */
const streamsOf = new Map<string, number>();

/** Timing of a grid stream; the defaults are the published limits. */
export interface GridStreamTiming {
  maxMs?: number;
  everyMs?: number;
}

/**
 * The grid's figures as Server-Sent Events every second: at most
 * `LIMITS.gridStreamsPerIsolate` at once (429 beyond), each ending cleanly after
 * `LIMITS.streamMaxMs` (EventSource reconnects by itself), a reader that falls behind dropped.
 */
export function gridStream(c: Context<AppEnv>, timing: GridStreamTiming = {}): Response {
  if (openStreams >= LIMITS.gridStreamsPerIsolate) {
    throw new ApiError(429, "too_many_streams", "too many statistics streams open here; retry later or poll GET /v1/stats", { "retry-after": "10" });
  }
  // One client cannot take every place: a dashboard needs one stream.
  const address = boundedAddress(c);
  const mine = address === undefined ? 0 : (streamsOf.get(address) ?? 0);
  if (mine >= LIMITS.gridStreamsPerAddress) {
    throw new ApiError(429, "too_many_streams", `this address already holds ${mine} statistics streams; close one or poll GET /v1/stats`, {
      "retry-after": "10",
    });
  }
  openStreams++;
  if (address !== undefined) streamsOf.set(address, mine + 1);
  const closed = () => {
    openStreams--;
    if (address === undefined) return;
    const left = (streamsOf.get(address) ?? 1) - 1;
    if (left > 0) streamsOf.set(address, left);
    else streamsOf.delete(address);
  };
  return streamSSE(c, async (stream) => {
    const sse = new BoundedSse(stream, timing.maxMs ?? LIMITS.streamMaxMs, closed);
    while (sse.open) {
      try {
        const latest = await figures(c, "live");
        sse.send({ id: String(latest.at), event: "stats", data: JSON.stringify(latest) });
      } catch {
        sse.comment("grid unavailable, retrying");
      }
      await Promise.race([stream.sleep(timing.everyMs ?? EVERY_MS), sse.over]);
    }
  });
}

/**
 * Grid-wide figures (public, aggregates only, at most `statsMaxAgeSeconds` old: a cached copy is
 * answered as is, marked `cf-cache-status: HIT`) and their live stream for the dashboard. Both are
 * rate-limited per client address.
 */
export const statsRoutes = new Hono<AppEnv>()
  .use(addressLimit)
  .get("/", async (c) => (await (await statsCache()).match(cacheKey(c.req.url))) ?? figuresResponse(await figures(c, "miss")))
  .get("/events", (c) => gridStream(c));
