import { compute } from "../../shared/kernels/compute.ts";
import { sleep, type JsonClient } from "./http.ts";
import type { Recorder } from "./recorder.ts";

interface Lease {
  id: string;
  kernel: string;
  params: unknown;
  input: unknown;
}
interface BatchAnswer {
  results: { leaseId: string; status: number; error?: { code: string } }[];
}

export interface VolunteerPlan {
  /** Leases asked per call: 1 submits each result alone, more submits them as one batch. */
  max: number;
  /** Simulated compute time per lease call (0: just run the trivial kernel). */
  thinkMs: () => number;
  /** Ends the loop: checked before each lease call and wakes any sleep. */
  stop: AbortSignal;
  /** Aborts requests still in flight once draining has taken too long. */
  abort: AbortSignal;
  /** Stop leasing once this many requests were sent by all volunteers together. */
  maxRequests: number;
}

const jitter = (ms: number) => ms * (0.75 + Math.random() * 0.5);

/**
 * An honest volunteer: lease, compute (primes.count on the tiny shard, plus the simulated
 * compute time), submit, repeat. Single leases go to POST /v1/leases/:id/result, batches to
 * POST /v1/results. Backs off briefly on an empty lease list or an error.
 */
export async function runVolunteer(http: JsonClient, token: string, plan: VolunteerPlan, rec: Recorder): Promise<void> {
  const signal = plan.abort;
  while (!plan.stop.aborted && rec.sent < plan.maxRequests) {
    rec.sent++;
    const lease = await http.call<{ leases: Lease[] }>("POST", "/v1/leases", { token, body: { max: plan.max }, signal });
    rec.request("lease", lease.ms, lease.end, lease.status, lease.error);
    if (lease.status !== 200) {
      if (plan.abort.aborted) return;
      const retryAfter = Number(lease.header("retry-after") ?? 0) * 1000;
      await sleep(Math.min(5000, Math.max(jitter(200), retryAfter)), plan.stop);
      continue;
    }
    const leases = lease.body?.leases ?? [];
    if (leases.length === 0) {
      rec.empty(lease.end);
      await sleep(jitter(100), plan.stop);
      continue;
    }

    const think = plan.thinkMs();
    if (think > 0) {
      await sleep(think, plan.stop);
      if (plan.stop.aborted) return; // the run is over: leave the lease to expire rather than burst after the window
    }
    const outputs = leases.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) }));

    rec.sent++;
    if (outputs.length === 1) {
      const { leaseId, output } = outputs[0]!;
      const res = await http.call("POST", `/v1/leases/${encodeURIComponent(leaseId)}/result`, { token, body: { output }, signal });
      rec.request("result", res.ms, res.end, res.status, res.error);
      if (res.status === 202) rec.accepted(1, res.end);
      rec.roundTrip(lease.ms + res.ms, res.end);
    } else {
      const res = await http.call<BatchAnswer>("POST", "/v1/results", { token, body: { results: outputs }, signal });
      rec.request("result", res.ms, res.end, res.status, res.error);
      if (res.status === 200) {
        let ok = 0;
        for (const r of res.body?.results ?? []) {
          if (r.status === 202) ok++;
          else rec.error(`result entry ${r.status} ${r.error?.code ?? ""}`.trim(), res.end);
        }
        rec.accepted(ok, res.end);
      }
      rec.roundTrip(lease.ms + res.ms, res.end);
    }
  }
}
