import * as z from "zod";
import { BatchResultEntry, Dataset, JobStatus, KernelManifest, Lease, Upload } from "../../shared/schemas.ts";

/*
 * Answers as the client reads them: the shared wire schemas, loosened so fields a newer
 * coordinator adds survive parsing. The CLI's `--json` prints these values, so they must stay
 * exactly what the server sent.
 */

/** `GET /v1/jobs/:id`, and each event of `GET /v1/jobs/:id/events`. */
export const JobStatusAnswer = JobStatus.loose();
export type JobStatusAnswer = z.output<typeof JobStatusAnswer>;

/** `POST /v1/jobs` → `201`. */
export const JobCreatedAnswer = JobStatus.pick({ id: true, state: true, shards: true }).loose();
export type JobCreatedAnswer = z.output<typeof JobCreatedAnswer>;

/** `GET /v1/jobs/:id/result` → `200` once the job is done. */
export const JobResultAnswer = z.looseObject({ id: z.string(), result: z.unknown() });
export type JobResultAnswer = z.output<typeof JobResultAnswer>;

/** `GET /v1/jobs` → this token's jobs. */
export const JobListAnswer = z.looseObject({ jobs: z.array(JobStatusAnswer) });
export type JobListAnswer = z.output<typeof JobListAnswer>;

/** `POST /v1/kernels` (`201` new, `200` already published) and `GET /v1/kernels/:id` for a published kernel. */
export const KernelManifestAnswer = KernelManifest.loose();
export type KernelManifestAnswer = z.output<typeof KernelManifestAnswer>;

/** A built-in kernel as `GET /v1/kernels` lists it: its name is its id. */
export const BuiltinKernelAnswer = z.looseObject({ id: z.string(), name: z.string(), builtin: z.literal(true), description: z.string().optional() });
export type BuiltinKernelAnswer = z.output<typeof BuiltinKernelAnswer>;

/** `GET /v1/kernels/:id`, and each entry of `GET /v1/kernels`: a built-in or a published kernel. */
export const KernelAnswer = z.union([BuiltinKernelAnswer, KernelManifestAnswer]);
export type KernelAnswer = z.output<typeof KernelAnswer>;

/** `GET /v1/kernels` → the built-ins and this token's own kernels. */
export const KernelListAnswer = z.looseObject({ kernels: z.array(KernelAnswer) });
export type KernelListAnswer = z.output<typeof KernelListAnswer>;

/** `POST /v1/datasets` and `POST /v1/datasets/uploads/:id/complete` → `201`, and `GET /v1/datasets/:id`. */
export const DatasetAnswer = Dataset.loose();
export type DatasetAnswer = z.output<typeof DatasetAnswer>;

/** `GET /v1/datasets` → this token's datasets. */
export const DatasetListAnswer = z.looseObject({ datasets: z.array(DatasetAnswer) });
export type DatasetListAnswer = z.output<typeof DatasetListAnswer>;

/** `DELETE /v1/datasets/:id` → `200`. */
export const DeletedAnswer = z.looseObject({ deleted: z.literal(true) });
export type DeletedAnswer = z.output<typeof DeletedAnswer>;

/** A multipart upload: `POST /v1/datasets/uploads` (`201`), each part's `PUT`, and `GET /v1/datasets/uploads/:id`. */
export const UploadAnswer = Upload.loose();
export type UploadAnswer = z.output<typeof UploadAnswer>;

/** `POST /v1/volunteers` → `201`. */
export const VolunteerAnswer = z.looseObject({ id: z.string(), token: z.string() });
export type VolunteerAnswer = z.output<typeof VolunteerAnswer>;

/** `POST /v1/leases` → `200`; an empty list means no work now. */
export const LeasesAnswer = z.looseObject({ leases: z.array(Lease.loose()) });
export type LeaseAnswer = z.output<typeof LeasesAnswer>["leases"][number];

/** `POST /v1/results` → one entry per submitted result, in order. */
export const BatchResultsAnswer = z.looseObject({ results: z.array(BatchResultEntry.loose()) });
export type BatchResultsAnswer = z.output<typeof BatchResultsAnswer>;

/** `POST /v1/leases/:id/heartbeat` → the lease's new expiry. */
export const HeartbeatAnswer = z.looseObject({ expiresAt: z.number() });

/** Anything, for answers whose body carries nothing of interest. */
export const AnyAnswer = z.unknown();

/** The states after which a job never changes again. */
export const FINAL_STATES: ReadonlySet<string> = new Set(["done", "failed", "cancelled"]);
