import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import type { GridObject } from "../objects/grid-object.ts";
import { EXPOSITION_CONTENT_TYPE, renderExposition } from "../observe/exposition.ts";
import { metricFamilies } from "../observe/families.ts";
import { flushRequests, metricsStub } from "../observe/http-metrics.ts";
import { operatorAuth } from "../observe/operator-auth.ts";
import { addressLimit } from "../rate-limit.ts";
import { gridStub } from "../stubs.ts";

/** The grid object's read for operators (a method outside the client-facing stub type). */
export const gridMetrics = (env: Env) => (gridStub(env) as unknown as Pick<GridObject, "metrics">).metrics();

/**
 * `GET /metrics`: Prometheus text exposition (0.0.4). Grid counters come from the grid object
 * (jobs report them in batches), request figures from the metrics object; this isolate's unsent
 * request figures are sent first, so a scrape sees its own isolate's latest requests.
 */
export const metricsRoutes = new Hono<AppEnv>().get("/", addressLimit, operatorAuth, async (c) => {
  await flushRequests(c.env);
  const [grid, http] = await Promise.all([gridMetrics(c.env), metricsStub(c.env).snapshot()]);
  return c.body(renderExposition(metricFamilies(grid, http)), 200, { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" });
});
