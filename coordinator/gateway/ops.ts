import type { BatchResultEntry, KernelFailure } from "../../shared/schemas.ts";
import { leaseWork } from "../dispatch.ts";
import { ApiError, errorBody, type Failure } from "../errors.ts";
import type { Standing } from "../objects/volunteer-object.ts";
import { describeError, log } from "../observe/log.ts";
import { jobOfLease } from "../ids.ts";
import { jobStub } from "../stubs.ts";
import { forgetStanding, trustOf } from "../trust.ts";
import { directCalls, type JobCalls } from "./job-calls.ts";

/** A volunteer call as a gateway runs it: the work of one HTTP lease call or one session request. */
export type VolunteerOp =
  | { type: "lease"; max: number }
  | { type: "results"; results: { leaseId: string; output?: unknown; error?: KernelFailure }[] }
  | { type: "heartbeat"; leaseId: string }
  | { type: "release"; leaseId: string };

/**
 * The Worker's settings a call reads (fair-share weights), sent with each HTTP call so it sees
 * the configuration of the request that carried it (identical to the gateway's own when deployed).
 */
export type OpVars = { SUBMIT_WEIGHTS?: string };
export const opVars = (env: Env): OpVars => {
  const weights = (env as Env & OpVars).SUBMIT_WEIGHTS;
  return weights === undefined ? {} : { SUBMIT_WEIGHTS: weights };
};

/** Its answer: the HTTP status and JSON body the matching HTTP endpoint gives. */
export interface Reply {
  status: number;
  body: unknown;
}

const notFound = (leaseId: string): Reply => ({ status: 404, body: errorBody("lease_not_found", `no lease ${leaseId}`) });
const failed = (f: Failure): Reply => ({ status: f.status, body: errorBody(f.code, f.message) });

/**
 * Runs one volunteer call for `volunteer` (already authenticated): leases through fair-share
 * dispatch, results grouped by job (one call per job object), heartbeat and release at the
 * lease's job, which checks ownership (403), existence (404), state (409) and expiry (410).
 */
export async function runOp(env: Env, volunteer: string, op: VolunteerOp, calls: JobCalls = directCalls(env)): Promise<Reply> {
  try {
    switch (op.type) {
      case "lease":
        // Standing is read before looking for work, even when no job runs: that read is what
        // answers a blacklisted volunteer 403 on every lease call, idle grid or not.
        return { status: 200, body: { leases: await leaseWork(env, volunteer, op.max, await trustOf(env, volunteer), calls) } };
      case "results": {
        const results = await submitResults(calls, volunteer, op.results, await trustOf(env, volunteer));
        if (results.some((r) => r.error?.code === "volunteer_blacklisted")) forgetStanding(volunteer);
        return { status: 200, body: { results } };
      }
      case "heartbeat":
      case "release": {
        const job = jobOfLease(op.leaseId);
        if (!job) return notFound(op.leaseId);
        const stub = jobStub(env, job);
        const out = op.type === "heartbeat" ? await stub.heartbeat(volunteer, op.leaseId) : await stub.release(volunteer, op.leaseId);
        if (!out.ok) return failed(out);
        return { status: 200, body: op.type === "heartbeat" ? { expiresAt: (out as { expiresAt: number }).expiresAt } : { released: true } };
      }
    }
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: errorBody(err.code, err.message) };
    log("error", "volunteer call failed", { volunteerId: volunteer, op: op.type, ...describeError(err) });
    return { status: 500, body: errorBody("internal", "internal error") };
  }
}

/** Submits results grouped by job (one call per job object), answered in the caller's order. */
async function submitResults(
  calls: JobCalls,
  volunteer: string,
  results: Extract<VolunteerOp, { type: "results" }>["results"],
  standing: Standing,
): Promise<BatchResultEntry[]> {
  const answers: BatchResultEntry[] = new Array(results.length);
  const byJob = new Map<string, number[]>();
  results.forEach((r, i) => {
    const job = jobOfLease(r.leaseId);
    if (!job) answers[i] = { leaseId: r.leaseId, status: 404, error: { code: "lease_not_found", message: `no lease ${r.leaseId}` } };
    else if (byJob.has(job)) byJob.get(job)!.push(i);
    else byJob.set(job, [i]);
  });
  await Promise.all(
    [...byJob].map(async ([job, idxs]) => {
      const got = await calls.submit(
        job,
        volunteer,
        idxs.map((i) => results[i]!),
        standing,
      );
      idxs.forEach((i, n) => (answers[i] = got[n]!));
    }),
  );
  return answers;
}
