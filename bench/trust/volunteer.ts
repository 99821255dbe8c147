/**
 * A simulated volunteer of the trust benchmark: honest (always the kernel's output) or a
 * saboteur (see model.ts). Leases in batches, submits through POST /v1/results, and stops for
 * good once the coordinator answers 403 volunteer_blacklisted.
 */
import { compute } from "../../shared/kernels/compute.ts";
import { sleep, type JsonClient } from "../lib/http.ts";
import { sabotage, type Adversary } from "./model.ts";

interface Lease {
  id: string;
  shardId: string;
  kernel: string;
  params: unknown;
  input: unknown;
}
interface BatchAnswer {
  results: { leaseId: string; status: number; error?: { code: string } }[];
}
interface ErrorBody {
  error?: { code?: string };
}

export interface SimVolunteer {
  index: number;
  token: string;
  saboteur: boolean;
}

/** What all volunteers of one run saw, together. */
export class SimStats {
  requests = 0;
  /** Outputs the coordinator took (202), and how many of them were wrong on purpose. */
  submitted = 0;
  wrongSubmitted = 0;
  /** Volunteers told they are blacklisted (403 volunteer_blacklisted), by index. */
  readonly blacklisted = new Set<number>();
  /** "lease 500", "results 0 (ECONNRESET)", "entry 410 job_failed", … → count. */
  readonly errors = new Map<string, number>();

  error(label: string): void {
    this.errors.set(label, (this.errors.get(label) ?? 0) + 1);
  }
}

export interface LoopPlan {
  batch: number;
  adversary: Adversary;
  /** Ends the loop (checked before every lease call; wakes sleeps). */
  stop: AbortSignal;
  /** Aborts requests in flight (after stop, once draining took too long). */
  abort: AbortSignal;
  /** Shared bound on requests sent by all volunteers of the run. */
  maxRequests: number;
  /**
   * Simulated compute time per batch, uniform in [0, jitterMs). Without it identical closed-loop
   * volunteers phase-lock: the coordinator hands a started shard's next replica to whoever leases
   * next, so the same volunteers keep pairing up and replica sets are far from random.
   */
  jitterMs: number;
  /** Saboteurs answer their first `patience` leases honestly (to earn trust before sabotaging). */
  patience: number;
}

const jitter = (ms: number) => ms * (0.75 + Math.random() * 0.5);
const BLACKLISTED = "volunteer_blacklisted";

export async function runSimVolunteer(http: JsonClient, v: SimVolunteer, plan: LoopPlan, stats: SimStats): Promise<void> {
  const signal = plan.abort;
  const caught = () => stats.blacklisted.add(v.index);
  let answered = 0;
  while (!plan.stop.aborted && stats.requests < plan.maxRequests) {
    stats.requests++;
    const lease = await http.call<{ leases: Lease[] } & ErrorBody>("POST", "/v1/leases", { token: v.token, body: { max: plan.batch }, signal });
    if (lease.status !== 200) {
      if (plan.abort.aborted) return;
      if (lease.status === 403 && lease.body?.error?.code === BLACKLISTED) return void caught();
      stats.error(`lease ${lease.status}${lease.error ? ` (${lease.error.slice(0, 40)})` : ` ${lease.body?.error?.code ?? ""}`}`.trim());
      const retryAfter = Number(lease.header("retry-after") ?? 0) * 1000;
      await sleep(Math.min(5000, Math.max(jitter(300), retryAfter)), plan.stop);
      continue;
    }
    const leases = lease.body?.leases ?? [];
    if (leases.length === 0) {
      await sleep(jitter(250), plan.stop);
      continue;
    }

    if (plan.jitterMs > 0) await sleep(Math.random() * plan.jitterMs, plan.stop);
    const wrong: boolean[] = [];
    const results = leases.map((l, n) => {
      // Published kernels in the bench are wordcount as a js/1 module: the same outputs.
      const honest = compute[l.kernel.startsWith("k_") ? "wordcount" : l.kernel]!(l.input, l.params) as { counts: Record<string, number> };
      const answer = v.saboteur && answered++ >= plan.patience ? sabotage(plan.adversary, l.shardId, honest) : { output: honest, wrong: false };
      wrong[n] = answer.wrong;
      return { leaseId: l.id, output: answer.output };
    });

    stats.requests++;
    const res = await http.call<BatchAnswer & ErrorBody>("POST", "/v1/results", { token: v.token, body: { results }, signal });
    if (res.status !== 200) {
      if (plan.abort.aborted) return;
      if (res.status === 403 && res.body?.error?.code === BLACKLISTED) return void caught();
      stats.error(`results ${res.status}${res.error ? ` (${res.error.slice(0, 40)})` : ` ${res.body?.error?.code ?? ""}`}`.trim());
      await sleep(jitter(300), plan.stop);
      continue;
    }
    let blacklisted = false;
    (res.body?.results ?? []).forEach((r, n) => {
      if (r.status === 202) {
        stats.submitted++;
        if (wrong[n]) stats.wrongSubmitted++;
      } else if (r.status === 403 && r.error?.code === BLACKLISTED) {
        blacklisted = true;
      } else {
        stats.error(`entry ${r.status} ${r.error?.code ?? ""}`.trim());
      }
    });
    if (blacklisted) return void caught();
  }
}
