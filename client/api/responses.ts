import type { BatchResultEntry, Dataset, JobStatus, KernelManifest, Lease, Upload } from "../../shared/schemas.ts";

/*
 * Answers as the client reads them: the shared wire types, open to fields a newer coordinator
 * adds. Types only: the client hands back each answer exactly as sent (the CLI's `--json` prints
 * it), and no schema library travels into the bundles that use it. Where data may not be what the
 * types say (stream events), client/api/guards.ts checks it.
 */

/** A wire type that may carry fields this client does not know yet. */
type Open<T> = T & { [key: string]: unknown };

/** `GET /v1/jobs/:id`, and each event of `GET /v1/jobs/:id/events`. */
export type JobStatusAnswer = Open<JobStatus>;

/** `POST /v1/jobs` → `201`. */
export type JobCreatedAnswer = Open<Pick<JobStatus, "id" | "state" | "shards">>;

/** `GET /v1/jobs/:id/result` → `200` once the job is done. */
export type JobResultAnswer = Open<{ id: string; result: unknown }>;

/** `GET /v1/jobs` → this token's jobs. */
export type JobListAnswer = Open<{ jobs: JobStatusAnswer[] }>;

/** `POST /v1/kernels` (`201` new, `200` already published) and `GET /v1/kernels/:id` for a published kernel. */
export type KernelManifestAnswer = Open<KernelManifest>;

/** A built-in kernel as `GET /v1/kernels` lists it: its name is its id. */
export type BuiltinKernelAnswer = Open<{ id: string; name: string; builtin: true; description?: string }>;

/** `GET /v1/kernels/:id`, and each entry of `GET /v1/kernels`: a built-in or a published kernel. */
export type KernelAnswer = BuiltinKernelAnswer | KernelManifestAnswer;

/** `GET /v1/kernels` → the built-ins and this token's own kernels. */
export type KernelListAnswer = Open<{ kernels: KernelAnswer[] }>;

/** `POST /v1/datasets` and `POST /v1/datasets/uploads/:id/complete` → `201`, and `GET /v1/datasets/:id`. */
export type DatasetAnswer = Open<Dataset>;

/** `GET /v1/datasets` → this token's datasets. */
export type DatasetListAnswer = Open<{ datasets: DatasetAnswer[] }>;

/** `DELETE /v1/datasets/:id` → `200`. */
export type DeletedAnswer = Open<{ deleted: true }>;

/** A multipart upload: `POST /v1/datasets/uploads` (`201`), each part's `PUT`, and `GET /v1/datasets/uploads/:id`. */
export type UploadAnswer = Open<Upload>;

/** `POST /v1/volunteers` → `201`. */
export type VolunteerAnswer = Open<{ id: string; token: string }>;

/** One lease of `POST /v1/leases`. */
export type LeaseAnswer = Open<Lease>;

/** `POST /v1/leases` → `200`; an empty list means no work now. */
export type LeasesAnswer = Open<{ leases: LeaseAnswer[] }>;

/** `POST /v1/results` → one entry per submitted result, in order. */
export type BatchResultsAnswer = Open<{ results: Open<BatchResultEntry>[] }>;

/** `POST /v1/leases/:id/heartbeat` → the lease's new expiry. */
export type HeartbeatAnswer = Open<{ expiresAt: number }>;

/** One check of `GET /v1/health/deep`. */
export type HealthCheckAnswer = Open<{ name: string; ok: boolean; ms?: number; detail?: string }>;

/** `GET /v1/health/deep` → `200` (`ok`, `degraded`) or `503` (`failing`). */
export type DeepHealthAnswer = Open<{ verdict: "ok" | "degraded" | "failing"; checks: HealthCheckAnswer[]; at?: number }>;

/** The states after which a job never changes again. */
export const FINAL_STATES: ReadonlySet<string> = new Set(["done", "failed", "cancelled"]);
