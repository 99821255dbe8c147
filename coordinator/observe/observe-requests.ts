import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../env.ts";
import { jobOfLease } from "../ids.ts";
import { flushDue, flushRequests, recordRequest } from "./http-metrics.ts";
import { log, type LogFields } from "./log.ts";

/**
 * The route pattern that answered (`/v1/jobs/:id`, never the raw path, so series stay few): the
 * first handler (not middleware) from the one that ran last, else "(unmatched)" for a 404 no route took.
 */
export function routeOf(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  const handler = (from: number) => routes.slice(from).find((r) => r.method !== "ALL");
  return (handler(c.req.routeIndex) ?? handler(0))?.path ?? "(unmatched)";
}

/** Job, volunteer and submitter ids a request concerns, where known (ids only: never a token). */
function ids(c: Context<AppEnv>): LogFields {
  const path = c.req.path;
  const job = /^\/v1\/jobs\/(j_[A-Za-z0-9]+)/.exec(path)?.[1] ?? jobOfLease(/^\/v1\/leases\/([^/]+)/.exec(path)?.[1] ?? "");
  return { jobId: job, volunteerId: c.get("volunteer"), submitterId: c.get("submitter") };
}

/**
 * Times every request, records it in this isolate's request figures (flushed to the metrics
 * object from `waitUntil` every few seconds, never awaited by the request) and writes one
 * structured log line (info) for it.
 */
export const observeRequests = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const ms = performance.now() - started;
  const route = routeOf(c);
  const status = c.res.status;
  recordRequest(route, c.req.method, status, ms / 1000);
  // Always info: an unhandled error is logged on its own at error level (errors.ts), with what went wrong.
  log("info", "request", {
    method: c.req.method,
    route,
    path: c.req.path,
    status,
    durationMs: Math.round(ms * 10) / 10,
    ...ids(c),
  });
  if (!flushDue(Date.now())) return;
  try {
    c.executionCtx.waitUntil(flushRequests(c.env));
  } catch {
    // No execution context (a bare app.fetch): the next request, or a scrape, flushes.
  }
});
