import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { gatewayAt, gatewaySetting } from "../gateway/gateways.ts";
import { JOB_STORAGE_MAX_BYTES } from "../objects/job-object.ts";
import { metricsStub } from "../observe/http-metrics.ts";
import { operatorAuth } from "../observe/operator-auth.ts";
import { addressLimit } from "../rate-limit.ts";
import { signingSecret } from "../secret.ts";
import { jobStub, limiterStub, submitterStub, volunteerStub } from "../stubs.ts";
import { gridMetrics } from "./metrics.ts";

/** One check of `GET /v1/health/deep`. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

/** A check that fails makes the verdict `failing` (critical) or `degraded` (warning). */
type Severity = "critical" | "warning";
type Probe = () => Promise<string>;

/** Name of the probe objects: no real job, submitter or volunteer id looks like it. */
const PROBE = "health-probe";
const CHECK_TIMEOUT_MS = 5000;
/** A Durable Object's SQLite holds at most 10 GB. */
const OBJECT_MAX_BYTES = 10 * 1000 ** 3;
/** Storage above this share of its ceiling degrades the verdict. */
const HEADROOM = 0.8;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function need<T>(binding: T | undefined, name: string): T {
  if (!binding) throw new Error(`binding ${name} is missing`);
  return binding;
}

async function run(name: string, probe: Probe): Promise<HealthCheck> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)));
  try {
    const detail = await Promise.race([probe(), timeout]);
    return { name, ok: true, ms: Math.round(performance.now() - started), detail };
  } catch (err) {
    return { name, ok: false, ms: Math.round(performance.now() - started), detail: err instanceof Error ? err.message : String(err) };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** Every check: each binding exercised, a job object round trip, storage headroom, secrets. */
function checks(env: Env, origin: string): [string, Severity, Probe][] {
  return [
    [
      "JOBS: job object round trip",
      "critical",
      async () => {
        // A job that does not exist: its object reads its (empty) storage and answers 404, storing nothing.
        need(env.JOBS, "JOBS");
        const out = await jobStub(env, PROBE).status(PROBE);
        if (out.ok || out.status !== 404) throw new Error(`probe job answered ${out.ok ? "ok" : out.status}, expected 404`);
        return "a missing job answers 404";
      },
    ],
    // The probe submitter and volunteer are one fixed object each: reading them makes their (empty) tables once.
    [
      "SUBMITTERS",
      "critical",
      async () => {
        need(env.SUBMITTERS, "SUBMITTERS");
        return `probe submitter read (${await submitterStub(env, PROBE).kernelCount()} kernels)`;
      },
    ],
    [
      "VOLUNTEERS",
      "critical",
      async () => {
        need(env.VOLUNTEERS, "VOLUNTEERS");
        return `probe volunteer read (blacklisted: ${(await volunteerStub(env, PROBE).profile(PROBE)).blacklisted})`;
      },
    ],
    [
      "GRID",
      "critical",
      async () => {
        need(env.GRID, "GRID");
        const g = await gridMetrics(env);
        return `${g.jobsRunning} jobs running, ${g.volunteersActive} volunteers active`;
      },
    ],
    [
      "GATEWAYS",
      "critical",
      async () => {
        need(env.GATEWAYS, "GATEWAYS");
        const { count } = gatewaySetting(env);
        const open = await Promise.all(Array.from({ length: count }, (_, i) => gatewayAt(env, i).sessions()));
        const total = open.reduce((a, b) => a + b, 0);
        return `${count} gateway${count === 1 ? "" : "s"} answered; ${total} sessions open (busiest gateway ${Math.max(...open)})`;
      },
    ],
    [
      "var: GATEWAY_COUNT",
      "warning",
      async () => {
        const { count, problem } = gatewaySetting(env);
        if (problem) throw new Error(problem);
        return `GATEWAY_COUNT is ${count}`;
      },
    ],
    [
      "LIMITER",
      "critical",
      async () => {
        need(env.LIMITER, "LIMITER");
        // Asking for no token: the bucket answers without spending anything (it lives in memory only).
        return `probe bucket answered (waitMs ${(await limiterStub(env, PROBE).takeUpTo(1, 60_000, 0)).waitMs})`;
      },
    ],
    [
      "METRICS",
      "warning",
      async () => {
        need(env.METRICS, "METRICS");
        const h = await metricsStub(env).health();
        return `${h.series} request series, ${mb(h.bytes)}`;
      },
    ],
    [
      "BLOBS: R2 put, get, delete",
      "critical",
      async () => {
        const blobs = need(env.BLOBS, "BLOBS");
        const key = `health/${crypto.randomUUID()}`;
        const body = `probe ${Date.now()}`;
        await blobs.put(key, body);
        try {
          const got = await blobs.get(key);
          if ((await got?.text()) !== body) throw new Error("the probe object read back differs from what was written");
        } finally {
          await blobs.delete(key);
        }
        if (await blobs.head(key)) throw new Error("the probe object is still there after delete");
        return "a small probe object written, read back and deleted";
      },
    ],
    [
      "ASSETS",
      "critical",
      async () => {
        const res = await need(env.ASSETS, "ASSETS").fetch(new Request(new URL("/", origin)));
        await res.body?.cancel();
        if (!res.ok) throw new Error(`the volunteer page answered ${res.status}`);
        return `the volunteer page answers ${res.status}`;
      },
    ],
    [
      "storage headroom",
      "warning",
      async () => {
        need(env.GRID, "GRID");
        const g = await gridMetrics(env);
        const job = g.jobStorage.largest / JOB_STORAGE_MAX_BYTES;
        const grid = g.gridBytes / OBJECT_MAX_BYTES;
        const detail = `largest running job ${mb(g.jobStorage.largest)} of ${mb(JOB_STORAGE_MAX_BYTES)} (${(job * 100).toFixed(1)}%); grid object ${mb(g.gridBytes)} of ${mb(OBJECT_MAX_BYTES)}`;
        if (job > HEADROOM || grid > HEADROOM) throw new Error(`above ${HEADROOM * 100}%: ${detail}`);
        return detail;
      },
    ],
    [
      "secret: SUBMIT_TOKENS",
      "critical",
      async () => {
        const n = (env.SUBMIT_TOKENS ?? "")
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean).length;
        if (!n) throw new Error("SUBMIT_TOKENS is not set: nobody can submit jobs");
        return `${n} submitter token(s)`;
      },
    ],
    [
      "secret: COLMEIA_SECRET",
      "critical",
      async () => {
        if (env.COLMEIA_SECRET) return "set";
        await signingSecret(env);
        return "not set: volunteer tokens are signed with the secret the grid object keeps";
      },
    ],
    [
      "secret: METRICS_TOKEN",
      "warning",
      async () => (env.METRICS_TOKEN ? "set: /metrics and this endpoint need it" : "not set: /metrics and this endpoint are open"),
    ],
  ];
}

/**
 * `GET /v1/health/deep` (operators; METRICS_TOKEN when set; limited per address like `/metrics`,
 * since each call writes to storage and calls every object): every check at once, and a verdict:
 * `failing` (503) when a critical check fails, `degraded` when only warnings do, else `ok`.
 */
export const healthRoutes = new Hono<AppEnv>().get("/deep", addressLimit, operatorAuth, async (c) => {
  const list = checks(c.env, c.req.url);
  const results = await Promise.all(list.map(([name, , probe]) => run(name, probe)));
  const failed = (severity: Severity) => results.some((r, i) => !r.ok && list[i]![1] === severity);
  const verdict = failed("critical") ? "failing" : failed("warning") ? "degraded" : "ok";
  return c.json({ verdict, checks: results, at: Date.now() }, verdict === "failing" ? 503 : 200, { "cache-control": "no-store" });
});
