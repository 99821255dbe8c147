import { fail, type Failure } from "../errors.ts";
import type { JobMeta } from "./meta.ts";
import type { JobStore } from "./store.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** How long a finished job's data is kept (`JOB_RETENTION_DAYS`, default 30). */
export function retentionDays(env: Pick<Env, "JOB_RETENTION_DAYS">): number {
  const days = Number(env.JOB_RETENTION_DAYS ?? 30);
  return Number.isFinite(days) && days > 0 ? days : 30;
}

/** When a finished job's storage is due for deletion (undefined while it runs or once it is gone). */
export function retainedUntil(meta: JobMeta | undefined, days: number): number | undefined {
  return meta && meta.state !== "running" ? meta.updatedAt + days * DAY_MS : undefined;
}

/** 410 for the owner of a job deleted after its retention period (its tombstone says whose it was), else the usual 404. */
export function missingJob(store: JobStore, owner: string, days: number): Failure {
  const tomb = store.meta ? undefined : store.tomb();
  if (tomb?.owner === owner) return fail(410, "job_expired", `this job ended more than ${days} days ago and its data was deleted`);
  return fail(404, "job_not_found", "no such job");
}
