import * as z from "zod";
import { LIMITS } from "./limits.ts";

/**
 * The wire protocol, written once: every request body and response the coordinator speaks.
 * Coordinator, clients, CLI and tests import these; the OpenAPI document is generated from them.
 */

const integer = z.number().refine(Number.isInteger, "must be an integer");

export const RangeSpec = z
  .strictObject({
    start: integer.min(0).max(2 ** 53),
    end: integer.min(0).max(2 ** 53),
    step: integer.min(1).max(2 ** 53),
  })
  .refine((r) => r.start <= r.end, { message: "range.start must not exceed range.end", path: ["end"] });

export const Replication = z
  .strictObject({
    replicas: integer.min(1).max(LIMITS.maxReplicas),
    quorum: integer.min(1).max(LIMITS.maxReplicas),
    maxReplicas: integer.min(1).max(LIMITS.maxReplicas).optional(),
  })
  .refine((r) => r.quorum <= r.replicas, { message: "replication.quorum must not exceed replicas", path: ["quorum"] })
  .refine((r) => r.maxReplicas === undefined || r.maxReplicas >= r.replicas, {
    message: "replication.maxReplicas must be at least replicas",
    path: ["maxReplicas"],
  });
export type Replication = z.infer<typeof Replication>;

export const Notify = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "notify.url must be an http(s) URL" }),
});

export const CreateJob = z
  .strictObject({
    kernel: z.string().min(1).max(100),
    params: z.record(z.string(), z.unknown()).default({}),
    range: RangeSpec.optional(),
    shards: z.array(z.unknown()).min(1).max(LIMITS.explicitShards).optional(),
    replication: Replication.optional(),
    leaseTtlMs: integer.min(LIMITS.leaseTtlMs.min).max(LIMITS.leaseTtlMs.max).default(LIMITS.leaseTtlMs.default),
    label: z.string().max(LIMITS.labelChars).optional(),
    notify: Notify.optional(),
  })
  .refine((j) => (j.range === undefined) !== (j.shards === undefined), {
    message: "give exactly one of range or shards",
    path: ["range"],
  });
export type CreateJob = z.infer<typeof CreateJob>;

export const JobState = z.enum(["running", "done", "failed", "cancelled"]);
export type JobState = z.infer<typeof JobState>;

export const JobStatus = z.object({
  id: z.string(),
  kernel: z.string(),
  label: z.string().optional(),
  state: JobState,
  shards: z.object({ total: z.number(), done: z.number(), failed: z.number() }),
  /** Accepted shards per second, averaged from creation to the last change. */
  rate: z.number().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  error: z.string().optional(),
  notify: z
    .object({ url: z.string(), state: z.enum(["pending", "delivered", "gave_up"]), attempts: z.number() })
    .optional(),
  /** Outputs volunteers returned (spot-checks included) and shards the coordinator computed itself. */
  work: z.object({ results: z.number(), checks: z.number() }).optional(),
});
export type JobStatus = z.infer<typeof JobStatus>;

export const LeaseRequest = z.strictObject({
  max: integer.min(1).max(LIMITS.leasesPerCall).default(1),
});

export const Lease = z.object({
  id: z.string(),
  jobId: z.string(),
  shardId: z.string(),
  kernel: z.string(),
  params: z.unknown(),
  input: z.unknown(),
  expiresAt: z.number(),
});
export type Lease = z.infer<typeof Lease>;

export const ResultSubmit = z.strictObject({ output: z.unknown() });

export const BatchResults = z.strictObject({
  results: z
    .array(z.strictObject({ leaseId: z.string().min(1).max(200), output: z.unknown() }))
    .min(1)
    .max(LIMITS.resultsPerCall),
});

export const BatchResultEntry = z.object({
  leaseId: z.string(),
  status: z.number(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type BatchResultEntry = z.infer<typeof BatchResultEntry>;

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Stats = z.object({
  volunteersActive: z.number(),
  volunteersRegistered: z.number(),
  jobsRunning: z.number(),
  jobsTotal: z.number(),
  shardsCompleted: z.number(),
  shardsFailed: z.number(),
  resultsAccepted: z.number(),
  throughput: z.object({ shardsPerSecond: z.number(), windowSeconds: z.number() }),
  history: z.array(z.object({ t: z.number(), shards: z.number() })),
  topContributors: z.array(z.object({ volunteer: z.string(), credit: z.number(), results: z.number() })),
  at: z.number(),
});
export type Stats = z.infer<typeof Stats>;
