import { CpuMeter, type CpuReport } from "./cpu.ts";
import { sleep, type JsonClient } from "./http.ts";
import { Recorder, type WindowReport } from "./recorder.ts";
import { runVolunteer } from "./volunteer.ts";

export interface ScenarioSpec {
  title: string;
  volunteers: number;
  /** Leases per lease call (1: single result submits; more: POST /v1/results batches). */
  max: number;
  replication: { replicas: number; quorum: number };
  /** Simulated compute time per lease call, ms (none: raw throughput). */
  thinkMs?: () => number;
  /** Volunteers start spread uniformly over this many ms, so they do not move in lockstep. */
  staggerMs: number;
  /** Load before the measurement window opens (ramp-up, isolate and object warm-up). */
  warmupMs: number;
  measureMs: number;
  /** Upper bound on requests sent (warm-up included); the run stops leasing past it. */
  maxRequests: number;
}

export interface ScenarioResult {
  spec: ScenarioSpec;
  window: WindowReport;
  /** Shards the coordinator accepted (job `done` count) per second of the window. */
  serverShardsPerSec: number;
  cpu: CpuReport;
  /** False when stopped volunteers still had requests unanswered DRAIN_MS after the window (a stall). */
  drained: boolean;
}

interface JobStatus {
  id: string;
  state: string;
  shards: { total: number; done: number; failed: number };
}

/** Enough shards that no scenario can run out: range jobs cost nothing per unleased shard. */
const JOB_SHARDS = 5_000_000;
const STEP = 10;
/** How long stopped volunteers may take to finish their last request before it is aborted. */
const DRAIN_MS = 10_000;

/**
 * Runs one scenario on its own fresh job: create the job, start the volunteers, warm up,
 * measure, stop, and cancel the job so the next scenario starts from an idle grid.
 */
export async function runScenario(http: JsonClient, submitToken: string, volunteerTokens: string[], spec: ScenarioSpec): Promise<ScenarioResult> {
  if (volunteerTokens.length < spec.volunteers) throw new Error(`${spec.title}: needs ${spec.volunteers} volunteers`);
  const job = await http.must<JobStatus>(201, "POST", "/v1/jobs", {
    token: submitToken,
    body: {
      kernel: "primes.count",
      params: {},
      range: { start: 0, end: JOB_SHARDS * STEP, step: STEP },
      replication: spec.replication,
      leaseTtlMs: 60_000,
      label: `bench: ${spec.title}`,
    },
  });
  const doneNow = async () => (await http.must<JobStatus>(200, "GET", `/v1/jobs/${job.id}`, { token: submitToken })).shards.done;

  const rec = new Recorder();
  const stop = new AbortController();
  const abort = new AbortController();
  const plan = { max: spec.max, thinkMs: spec.thinkMs ?? (() => 0), stop: stop.signal, abort: abort.signal, maxRequests: spec.maxRequests };
  const loops = volunteerTokens.slice(0, spec.volunteers).map(async (token) => {
    await sleep(Math.random() * spec.staggerMs, stop.signal);
    if (!stop.signal.aborted) await runVolunteer(http, token, plan, rec);
  });
  const all = Promise.all(loops);

  const measure = async () => {
    await sleep(spec.warmupMs);
    const cpu = new CpuMeter();
    // The status calls queue like any request under load: time each count at its call's midpoint.
    const s0 = performance.now();
    const done0 = await doneNow();
    const t0 = (s0 + performance.now()) / 2;
    rec.open();
    cpu.start();
    await sleep(spec.measureMs);
    const cpuReport = cpu.stop();
    rec.close();
    const s1 = performance.now();
    const done1 = await doneNow();
    const t1 = (s1 + performance.now()) / 2;
    return { cpuReport, serverShardsPerSec: ((done1 - done0) / (t1 - t0)) * 1000 };
  };
  let measured: Awaited<ReturnType<typeof measure>>;
  try {
    measured = await measure();
  } catch (err) {
    // A failed status call ends the run: the volunteers stop too, so the process can exit.
    stop.abort();
    abort.abort();
    await all;
    throw err;
  }

  stop.abort();
  const drained = await Promise.race([all.then(() => true), sleep(DRAIN_MS).then(() => false)]);
  if (!drained) {
    abort.abort();
    await all;
  }
  await http.must(200, "DELETE", `/v1/jobs/${job.id}`, { token: submitToken });

  return { spec, window: rec.report(), serverShardsPerSec: measured.serverShardsPerSec, cpu: measured.cpuReport, drained };
}
