import { JOB_STORAGE_MAX_BYTES } from "../objects/job-object.ts";
import { histogramSamples, type Family, type Labels, type Sample } from "./exposition.ts";
import { LATENCY_BOUNDS, type HttpSeries } from "./http-metrics.ts";

/** What the grid object knows for `GET /metrics`: its counters by key, and gauges. */
export interface GridMetrics {
  counters: Record<string, number>;
  volunteersActive: number;
  jobsRunning: number;
  /** Storage of running jobs, as their last reports gave it. */
  jobStorage: { total: number; largest: number };
  gridBytes: number;
  at: number;
}

/** Reasons always exported (0 until they happen), so rates and alerts have a series from the start. */
const REJECT_REASONS = ["invalid_output", "lease_expired", "proven_wrong", "outvoted", "ringer_failed"];
const WEBHOOK_OUTCOMES = ["delivered", "failed", "gave_up"];
const END_STATES = ["done", "failed", "cancelled"];

const one = (name: string, help: string, type: "counter" | "gauge", value: number): Family => ({ name, help, type, samples: [{ value }] });

/** A counter family with one label, from the grid counters `prefix:<label value>`; `always` present even at 0. */
function labelled(counters: Record<string, number>, name: string, help: string, [prefix, label, always]: [string, string, string[]]): Family {
  const values = new Map(always.map((v) => [v, 0]));
  for (const [k, n] of Object.entries(counters)) if (k.startsWith(`${prefix}:`)) values.set(k.slice(prefix.length + 1), n);
  const samples: Sample[] = [...values].sort(([a], [b]) => a.localeCompare(b)).map(([v, n]) => ({ labels: { [label]: v }, value: n }));
  return { name, help, type: "counter", samples };
}

/** Request series by route, method and status class (`2xx` …), for the latency histogram. */
function byClass(http: HttpSeries[]) {
  const out = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  for (const s of http) {
    const labels = { route: s.route, method: s.method, status: `${Math.floor(s.code / 100)}xx` };
    const key = JSON.stringify(labels);
    const into = out.get(key) ?? { labels, buckets: [], sum: 0, count: 0 };
    s.buckets.forEach((n, i) => (into.buckets[i] = (into.buckets[i] ?? 0) + n));
    into.sum += s.sum;
    into.count += s.count;
    out.set(key, into);
  }
  return [...out.values()];
}

/** Every metric family `GET /metrics` exports, from the grid's figures and the request series. */
export function metricFamilies(g: GridMetrics, http: HttpSeries[]): Family[] {
  const c = (k: string) => g.counters[k] ?? 0;
  return [
    one("colmeia_volunteers_active", "Volunteers that leased, heartbeat or submitted in the last 2 minutes.", "gauge", g.volunteersActive),
    one("colmeia_volunteers_registered_total", "Volunteers registered.", "counter", c("volunteersRegistered")),
    one("colmeia_volunteers_blacklisted_total", "Volunteers blacklisted after an output of theirs was proven wrong.", "counter", c("volunteersBlacklisted")),
    one("colmeia_jobs_running", "Jobs in state running.", "gauge", g.jobsRunning),
    one("colmeia_jobs_created_total", "Jobs created.", "counter", c("jobsTotal")),
    labelled(g.counters, "colmeia_jobs_finished_total", "Jobs that left running, by the state they ended in.", ["jobsEnded", "state", END_STATES]),
    one("colmeia_shards_completed_total", "Shards accepted (their output merged into the job's result).", "counter", c("shardsCompleted")),
    one(
      "colmeia_shards_failed_total",
      "Shards failed for good (no quorum, or a kernel error confirmed by independent volunteers).",
      "counter",
      c("shardsFailed"),
    ),
    one("colmeia_results_submitted_total", "Results (outputs or kernel errors) recorded from volunteers.", "counter", c("resultsAccepted")),
    labelled(
      g.counters,
      "colmeia_results_rejected_total",
      "Results refused on submission (reason: the error code answered) or judged wrong later (proven_wrong, outvoted, ringer_failed).",
      ["rejected", "reason", REJECT_REASONS],
    ),
    one("colmeia_coordinator_checks_total", "Shards the coordinator computed itself to verify a result.", "counter", c("checks")),
    one("colmeia_leases_issued_total", "Leases handed to volunteers.", "counter", c("leasesIssued")),
    one("colmeia_leases_expired_total", "Leases that expired without a result (their shards went back to the queue).", "counter", c("leasesExpired")),
    labelled(
      g.counters,
      "colmeia_webhook_deliveries_total",
      "Completion webhook attempts by outcome: delivered, failed (will retry) or gave_up (the last one failed).",
      ["webhook", "outcome", WEBHOOK_OUTCOMES],
    ),
    one("colmeia_jobs_storage_bytes", "SQLite storage of all running jobs' objects, summed.", "gauge", g.jobStorage.total),
    one("colmeia_job_storage_max_bytes", "SQLite storage of the largest running job's object.", "gauge", g.jobStorage.largest),
    one("colmeia_job_storage_limit_bytes", "Storage at which a running job fails cleanly.", "gauge", JOB_STORAGE_MAX_BYTES),
    one("colmeia_grid_storage_bytes", "SQLite storage of the grid object.", "gauge", g.gridBytes),
    {
      name: "colmeia_http_requests_total",
      help: "HTTP requests answered by the Worker, by route pattern, method and status code.",
      type: "counter",
      samples: http.map((s) => ({ labels: { route: s.route, method: s.method, code: String(s.code) }, value: s.count })),
    },
    {
      name: "colmeia_http_request_duration_seconds",
      help: "Time from a request's arrival to its response (headers, for streams), by route pattern, method and status class.",
      type: "histogram",
      samples: histogramSamples(byClass(http), LATENCY_BOUNDS),
    },
  ];
}
