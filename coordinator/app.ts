import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { errorBody, renderError } from "./errors.ts";
import { openApiDocument } from "./openapi.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { leaseRoutes, meRoutes, registerRoutes, resultRoutes } from "./routes/volunteers.ts";
import { submitterStub } from "./stubs.ts";
import { statsRoutes } from "./routes/stats.ts";
import { kernelModuleRoutes, kernelRoutes } from "./routes/kernels.ts";
import { submitterAuth } from "./auth.ts";
import { datasetRoutes } from "./routes/datasets.ts";
import { observeRequests } from "./observe/observe-requests.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { healthRoutes } from "./routes/health.ts";
import { sessionRoutes } from "./gateway/session-route.ts";

/** The coordinator's HTTP surface (see the README and /openapi.json). Routes are chained so `hc<AppType>` sees them all. */
export const app = new Hono<AppEnv>()
  .use(observeRequests)
  .get("/healthz", (c) => c.json({ ok: true }))
  // Operators (METRICS_TOKEN when set): Prometheus metrics and a deep health check.
  .route("/metrics", metricsRoutes)
  .route("/v1/health", healthRoutes)
  .get("/openapi.json", (c) => c.json(openApiDocument()))
  // The dashboard page is a static asset (public/dashboard.html); wrangler.toml routes /dashboard to the Worker first.
  .get("/dashboard", (c) => c.env.ASSETS.fetch(c.req.raw))
  .get("/v1/webhook-secret", submitterAuth, async (c) => c.json({ secret: await submitterStub(c.env, c.get("submitter")).webhookSecret() }))
  .route("/v1/stats", statsRoutes)
  .route("/v1/jobs", jobRoutes)
  // The module route takes a volunteer token, the others a submitter's: mounted first, matched first.
  .route("/v1/kernels", kernelModuleRoutes)
  .route("/v1/kernels", kernelRoutes)
  .route("/v1/datasets", datasetRoutes)
  .route("/v1/volunteers/me", meRoutes)
  .route("/v1/volunteers", registerRoutes)
  .route("/v1/leases", leaseRoutes)
  .route("/v1/results", resultRoutes)
  // Volunteer sessions: a WebSocket held by the volunteer's gateway object (shared/session.ts).
  .route("/v1/session", sessionRoutes);

app.notFound((c) => c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path}`), 404));
app.onError(renderError);

/** Type of the whole app, for the typed client: `hc<AppType>(url)`. */
export type AppType = typeof app;
