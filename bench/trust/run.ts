/**
 * One configuration of the trust benchmark against the real coordinator: fresh volunteers (some
 * saboteurs), one `wordcount` job whose every shard has a known right answer, volunteers running
 * until the job has ended and stayed ended (backtracking may reopen a done job), then a per-shard
 * audit of what the coordinator accepted.
 */
import { randomBytes } from "node:crypto";
import { mapLimit, sleep, type JsonClient } from "../lib/http.ts";
import { isRight, shardInput } from "./model.ts";
import { runSimVolunteer, SimStats, type SimVolunteer } from "./volunteer.ts";
import type { Profile } from "../../coordinator/objects/volunteer-object.ts";

export interface Policy {
  name: string;
  /**
   * Run the job on a published kernel (the same wordcount, as a js/1 module): work the coordinator
   * cannot recompute. Honest volunteers first earn trust on a checkable warm-up job, which must not
   * vouch for them here by itself; saboteurs come fresh.
   */
  published?: boolean;
  /** Omitted: the coordinator's adaptive policy. */
  replication?: { replicas: number; quorum: number; maxReplicas: number };
  /** M of M-first majority voting, for fixed policies. */
  m?: number;
}

export const POLICIES: readonly Policy[] = [
  { name: "adaptive" },
  { name: "published", published: true },
  { name: "2-of-2", replication: { replicas: 2, quorum: 2, maxReplicas: 3 }, m: 2 },
  { name: "3-of-3", replication: { replicas: 3, quorum: 3, maxReplicas: 5 }, m: 3 },
];

export interface RunSpec {
  f: number;
  s: number;
  colluding: boolean;
  policy: Policy;
  shards: number;
  volunteers: number;
  /** Leases per lease call. */
  batch: number;
  /** Simulated compute time per batch, uniform in [0, jitterMs) (see volunteer.ts). */
  jitterMs: number;
  /** Saboteurs answer their first `patience` leases honestly (0: they sabotage from the start). */
  patience: number;
  /** Words per shard text. */
  k: number;
  /** How long the job must stay ended before it is audited. */
  settleMs: number;
  /** Give up on the job (and report it) after this long. */
  timeoutMs: number;
  /** Bound on requests all volunteers of the run send together. */
  maxRequests: number;
  /** Also sample every volunteer's profile about once a second (costs requests; for investigation). */
  trace?: boolean;
}

/** One sample of the job's progress (and, when tracing, of the volunteers' standing). */
export interface Sample {
  /** Seconds since the job was created. */
  t: number;
  state: string;
  done: number;
  results: number;
  checks: number;
  trustedHonest?: number;
  trustedSaboteurs?: number;
  blacklistedHonest?: number;
  blacklistedSaboteurs?: number;
  /** Of the volunteers not (yet) trusted: how many still lack a passed ringer, and how many lack validated results. */
  waitingRinger?: number;
  waitingValidated?: number;
}

export interface RunOutcome {
  spec: RunSpec;
  saboteurs: number;
  /** Final job state, and whether the run gave up waiting. */
  state: string;
  timedOut: boolean;
  total: number;
  /** Shards the coordinator has a row for (a failed job stops handing out the rest). */
  listed: number;
  accepted: number;
  wrong: number;
  failed: number;
  open: number;
  work: { results: number; checks: number };
  /** Saboteurs and honest volunteers blacklisted (their profile, GET /v1/volunteers/me, after the run). */
  caught: number;
  honestBlacklisted: number;
  /** Volunteers trusted alone at the end: honest ones, and saboteurs never caught. */
  honestTrusted: number;
  saboteursTrusted: number;
  /** Why honest volunteers were blacklisted (the profile's reason), if any were. */
  honestReasons: string[];
  /** Blacklisted volunteers the coordinator had told so with a 403 while they were still working. */
  told403: number;
  /** Times the job went from ended back to running (backtracking reopened it). */
  reopens: number;
  /** Results computed per accepted shard over the job's second half (after most volunteers earned trust). */
  lateWork: number;
  /** Job creation to its last end. */
  jobSeconds: number;
  /** The whole run, registration to audit. */
  wallSeconds: number;
  requests: number;
  wrongSubmitted: number;
  errors: Map<string, number>;
  timeline: Sample[];
}

interface JobStatus {
  id: string;
  state: string;
  shards: { total: number; done: number; failed: number };
  work?: { results: number; checks: number };
}
interface ShardPage {
  shards: { shard: string; state: "open" | "accepted" | "failed"; output?: unknown }[];
  next?: number;
}

const POLL_MS = 200;
const DRAIN_MS = 5_000;

async function register(http: JsonClient, n: number): Promise<string[]> {
  return mapLimit(Array.from({ length: n }), 8, async () => (await http.must<{ token: string }>(201, "POST", "/v1/volunteers", { body: {} })).token);
}

export async function runConfig(http: JsonClient, submitToken: string, spec: RunSpec): Promise<RunOutcome> {
  const t0 = performance.now();
  const saboteurs = Math.round(spec.f * spec.volunteers);
  const tokens = await register(http, spec.volunteers);
  const volunteers: SimVolunteer[] = tokens.map((token, index) => ({ index, token, saboteur: index < saboteurs }));

  if (spec.policy.published)
    await warmUp(
      http,
      submitToken,
      volunteers.filter((v) => !v.saboteur),
      spec,
    );
  const kernel = spec.policy.published ? await publishWordcount(http, submitToken) : "wordcount";
  const job = await http.must<JobStatus>(201, "POST", "/v1/jobs", {
    token: submitToken,
    body: {
      kernel,
      params: {},
      shards: Array.from({ length: spec.shards }, (_, i) => shardInput(i, spec.k)),
      ...(spec.policy.replication && { replication: spec.policy.replication }),
      leaseTtlMs: 20_000,
      label: `trust bench f=${spec.f} s=${spec.s} ${spec.colluding ? "colluding" : "independent"} ${spec.policy.name}`,
    },
  });
  const created = performance.now();

  const stats = new SimStats();
  const stop = new AbortController();
  const abort = new AbortController();
  const plan = {
    batch: spec.batch,
    adversary: { colluding: spec.colluding, s: spec.s, seed: randomBytes(8).toString("hex") },
    stop: stop.signal,
    abort: abort.signal,
    maxRequests: spec.maxRequests,
    jitterMs: spec.jitterMs,
    patience: spec.patience,
  };
  // Start order shuffled over 300 ms, so saboteurs are not all first in line.
  const loops = Promise.all(
    volunteers.map(async (v) => {
      await sleep(Math.random() * 300, stop.signal);
      if (!stop.signal.aborted) await runSimVolunteer(http, v, plan, stats);
    }),
  );

  // Watch the job until it has stayed ended for settleMs (or the run times out).
  let state = "running";
  let endedAt: number | undefined;
  let lastEnd = created;
  let reopens = 0;
  let timedOut = false;
  const timeline: Sample[] = [];
  let traceAt = 0;
  for (;;) {
    await sleep(POLL_MS);
    const now = performance.now();
    const r = await http.call<JobStatus>("GET", `/v1/jobs/${job.id}`, { token: submitToken });
    if (r.status !== 200) stats.error(`status ${r.status}`);
    else {
      const b = r.body!;
      const sample: Sample = { t: (now - created) / 1000, state: b.state, done: b.shards.done, results: b.work?.results ?? 0, checks: b.work?.checks ?? 0 };
      if (spec.trace && now - traceAt >= 1000) {
        traceAt = now;
        Object.assign(sample, standing(volunteers, await profilesOf(http, volunteers), spec.policy.published === true));
      }
      timeline.push(sample);
      const next = b.state;
      if (next !== "running" && state === "running") {
        endedAt = now;
        lastEnd = now;
      } else if (next === "running" && state !== "running") {
        reopens++;
        endedAt = undefined;
      }
      state = next;
    }
    if (endedAt !== undefined && now - endedAt >= spec.settleMs) break;
    if (now - created > spec.timeoutMs || stats.requests >= spec.maxRequests) {
      timedOut = true;
      break;
    }
  }

  stop.abort();
  const drained = await Promise.race([loops.then(() => true), sleep(DRAIN_MS).then(() => false)]);
  if (!drained) {
    abort.abort();
    await loops;
  }
  if (state === "running") await http.call("DELETE", `/v1/jobs/${job.id}`, { token: submitToken });

  const final = await http.must<JobStatus>(200, "GET", `/v1/jobs/${job.id}`, { token: submitToken });
  let accepted = 0;
  let wrong = 0;
  let failed = 0;
  let open = 0;
  let listed = 0;
  for (let after = -1; ; ) {
    const page = await http.must<ShardPage>(200, "GET", `/v1/jobs/${job.id}/shards?after=${after}&limit=1000`, { token: submitToken });
    for (const sh of page.shards) {
      listed++;
      if (sh.state === "accepted") {
        accepted++;
        if (!isRight(Number(sh.shard), spec.k, sh.output)) wrong++;
      } else if (sh.state === "failed") failed++;
      else open++;
    }
    if (page.next === undefined) break;
    after = page.next;
  }

  const profiles = await profilesOf(http, volunteers);
  let caught = 0;
  let honestBlacklisted = 0;
  let honestTrusted = 0;
  let saboteursTrusted = 0;
  const honestReasons: string[] = [];
  profiles.forEach((p, i) => {
    const sab = volunteers[i]!.saboteur;
    if (p.blacklisted && !sab) honestReasons.push(p.reason ?? "(no reason given)");
    if (p.blacklisted) sab ? caught++ : honestBlacklisted++;
    else if (spec.policy.published ? p.trustedUncheckable : p.trusted) sab ? saboteursTrusted++ : honestTrusted++;
  });
  return {
    spec,
    saboteurs,
    state: final.state,
    timedOut,
    total: final.shards.total,
    listed,
    accepted,
    wrong,
    failed,
    open,
    work: final.work ?? { results: Number.NaN, checks: Number.NaN },
    caught,
    honestBlacklisted,
    honestTrusted,
    saboteursTrusted,
    honestReasons,
    told403: stats.blacklisted.size,
    reopens,
    lateWork: lateWork(timeline, final),
    jobSeconds: (lastEnd - created) / 1000,
    wallSeconds: (performance.now() - t0) / 1000,
    requests: stats.requests,
    wrongSubmitted: stats.wrongSubmitted,
    errors: stats.errors,
    timeline,
  };
}

/** The wordcount kernel as a published js/1 module: same outputs, but the coordinator cannot run it. */
const WORDCOUNT_JS = `export function compute(input) {
  const counts = {};
  for (const m of input.text.matchAll(/[\\p{L}\\p{N}]+/gu)) {
    const w = m[0].toLowerCase();
    counts[w] = (Object.hasOwn(counts, w) ? counts[w] : 0) + 1;
  }
  return { counts };
}`;

async function publishWordcount(http: JsonClient, token: string): Promise<string> {
  const res = await http.call<{ id: string }>("POST", "/v1/kernels", {
    token,
    body: { name: "bench.wordcount", language: "js", source: WORDCOUNT_JS, reduce: { counts: "sum" } },
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`publishing the bench kernel: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body!.id;
}

/** Honest volunteers earn trust on checkable work (an adaptive wordcount job) before the measured job. */
async function warmUp(http: JsonClient, token: string, honest: SimVolunteer[], spec: RunSpec): Promise<void> {
  const job = await http.must<JobStatus>(201, "POST", "/v1/jobs", {
    token,
    body: {
      kernel: "wordcount",
      shards: Array.from({ length: honest.length * 30 }, (_, i) => shardInput(1_000_000 + i, spec.k)),
      label: "trust bench warm-up",
    },
  });
  const stop = new AbortController();
  const plan = {
    batch: spec.batch,
    adversary: { colluding: false, s: 0, seed: "warm-up" },
    stop: stop.signal,
    abort: stop.signal,
    maxRequests: spec.maxRequests,
    jitterMs: spec.jitterMs,
    patience: 0,
  };
  const loops = Promise.all(honest.map((v) => runSimVolunteer(http, v, plan, new SimStats())));
  const deadline = performance.now() + spec.timeoutMs;
  while ((await http.must<JobStatus>(200, "GET", `/v1/jobs/${job.id}`, { token })).state === "running" && performance.now() < deadline) await sleep(POLL_MS);
  stop.abort();
  await loops;
}

/** Δ(results + checks) / Δdone from the first sample at half the shards done to the end. */
function lateWork(timeline: Sample[], final: JobStatus): number {
  const half = timeline.find((x) => x.done >= final.shards.total / 2);
  if (!half || !final.work || final.state !== "done") return Number.NaN;
  const dDone = final.shards.done - half.done;
  return dDone > 0 ? (final.work.results + final.work.checks - half.results - half.checks) / dDone : Number.NaN;
}

function profilesOf(http: JsonClient, volunteers: SimVolunteer[]): Promise<Profile[]> {
  return mapLimit(volunteers, 8, (v) => http.must<Profile>(200, "GET", "/v1/volunteers/me", { token: v.token }));
}

function standing(volunteers: SimVolunteer[], profiles: Profile[], uncheckable: boolean): Partial<Sample> {
  const out = { trustedHonest: 0, trustedSaboteurs: 0, blacklistedHonest: 0, blacklistedSaboteurs: 0, waitingRinger: 0, waitingValidated: 0 };
  profiles.forEach((p, i) => {
    const sab = volunteers[i]!.saboteur;
    if (p.blacklisted) sab ? out.blacklistedSaboteurs++ : out.blacklistedHonest++;
    else if (uncheckable ? p.trustedUncheckable : p.trusted) sab ? out.trustedSaboteurs++ : out.trustedHonest++;
    else {
      const record = uncheckable ? p.uncheckable : p;
      if (record.ringersPassed < 1) out.waitingRinger++;
      if (record.validated < 10) out.waitingValidated++;
    }
  });
  return out;
}
