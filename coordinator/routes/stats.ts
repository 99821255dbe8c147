import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { LIMITS } from "../../shared/limits.ts";
import type { Stats } from "../../shared/schemas.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { BoundedSse } from "../net/bounded-sse.ts";
import { gridStub } from "../stubs.ts";

const EVERY_MS = 2000;
/** Every stream and poll in this isolate shares one read of the grid's figures per second. */
let cached: { at: number; stats: Promise<Stats> } | undefined;
function stats(env: Env): Promise<Stats> {
  const now = Date.now();
  if (!cached || now - cached.at > 1000) {
    const read = gridStub(env).stats();
    cached = { at: now, stats: read };
    read.catch(() => (cached = undefined));
  }
  return cached.stats;
}

/** Grid streams open in this isolate (the bound is per isolate: a Worker has no shared memory). */
let openStreams = 0;

/** Timing of a grid stream; the defaults are the published limits. */
export interface GridStreamTiming {
  maxMs?: number;
  everyMs?: number;
}

/**
 * The grid's figures as Server-Sent Events every couple of seconds: at most
 * `LIMITS.gridStreamsPerIsolate` at once (429 beyond), each ending cleanly after
 * `LIMITS.streamMaxMs` (EventSource reconnects by itself), a reader that falls behind dropped.
 */
export function gridStream(c: Context<AppEnv>, timing: GridStreamTiming = {}): Response {
  if (openStreams >= LIMITS.gridStreamsPerIsolate) {
    throw new ApiError(429, "too_many_streams", "too many statistics streams open here; retry later or poll GET /v1/stats", { "retry-after": "10" });
  }
  openStreams++;
  return streamSSE(c, async (stream) => {
    const sse = new BoundedSse(stream, timing.maxMs ?? LIMITS.streamMaxMs, () => openStreams--);
    while (sse.open) {
      try {
        const figures = await stats(c.env);
        sse.send({ id: String(figures.at), event: "stats", data: JSON.stringify(figures) });
      } catch {
        sse.comment("grid unavailable, retrying");
      }
      await Promise.race([stream.sleep(timing.everyMs ?? EVERY_MS), sse.over]);
    }
  });
}

/** Grid-wide figures (public, aggregates only) and their live stream for the dashboard. */
export const statsRoutes = new Hono<AppEnv>().get("/", async (c) => c.json(await stats(c.env))).get("/events", (c) => gridStream(c));
