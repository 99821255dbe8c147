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

/** Where the completion webhook goes; the coordinator also refuses private and local targets (see the README). */
export const Notify = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "notify.url must be an http(s) URL" }).max(2048, { error: "notify.url must be at most 2048 characters" }),
});

/** A JSON object of at most `chars` characters once serialised (`why` says what the bound protects). */
const jsonRecordUpTo = (chars: number, why: string) =>
  z.record(z.string(), z.unknown()).refine((v) => JSON.stringify(v).length <= chars, `exceeds ${chars} characters of JSON (${why})`);

/** Dataset ids: `d_` and 32 hex digits. */
export const DATASET_ID = /^d_[0-9a-f]{32}$/;

/** A job over a stored dataset: shard i holds the lines whose first byte lies in `[i*chunkBytes, (i+1)*chunkBytes)`. */
export const DatasetSpec = z.strictObject({
  id: z.string().regex(DATASET_ID, "must be a dataset id (d_...)"),
  chunkBytes: integer.min(LIMITS.chunkBytes.min).max(LIMITS.chunkBytes.max).default(LIMITS.chunkBytes.default),
});

export const CreateJob = z
  .strictObject({
    kernel: z.string().min(1).max(100),
    params: jsonRecordUpTo(LIMITS.paramsChars, "a copy travels with every lease").default({}),
    range: RangeSpec.optional(),
    shards: z.array(z.unknown()).min(1).max(LIMITS.explicitShards).optional(),
    dataset: DatasetSpec.optional(),
    replication: Replication.optional(),
    leaseTtlMs: integer.min(LIMITS.leaseTtlMs.min).max(LIMITS.leaseTtlMs.max).default(LIMITS.leaseTtlMs.default),
    label: z.string().max(LIMITS.labelChars).optional(),
    /** Among one submitter's running jobs, higher priority is served first (then the older job). */
    priority: integer.min(-100).max(100).default(0),
    notify: Notify.optional(),
  })
  .refine((j) => [j.range, j.shards, j.dataset].filter((x) => x !== undefined).length === 1, {
    message: "give exactly one of range, shards or dataset",
    path: ["range"],
  });
export type CreateJob = z.infer<typeof CreateJob>;

export const JobState = z.enum(["running", "done", "failed", "cancelled"]);
export type JobState = z.infer<typeof JobState>;

export const JobStatus = z.object({
  id: z.string(),
  kernel: z.string(),
  label: z.string().optional(),
  priority: z.number().optional(),
  state: JobState,
  shards: z.object({
    total: z.number(),
    done: z.number(),
    failed: z.number(),
    /** Shards with a result waiting for an independent volunteer to confirm it. */
    awaitingConfirmation: z.number().optional(),
  }),
  /** Accepted shards per second, averaged from creation to the last change. */
  rate: z.number().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  error: z.string().optional(),
  notify: z.object({ url: z.string(), state: z.enum(["pending", "delivered", "gave_up"]), attempts: z.number() }).optional(),
  /** Outputs volunteers returned (spot-checks included) and shards the coordinator computed itself. */
  work: z.object({ results: z.number(), checks: z.number() }).optional(),
});
export type JobStatus = z.infer<typeof JobStatus>;

/** `POST /v1/volunteers`: empty, or with a key from VOLUNTEER_KEYS for a volunteer the operator vouches for. */
export const RegisterVolunteer = z.strictObject({ key: z.string().min(1).max(1024).optional() });

export const LeaseRequest = z.strictObject({
  max: integer.min(1).max(LIMITS.leasesPerCall).default(1),
});

/** Where a volunteer gets a published kernel's code: `GET url` with the volunteer token (immutable, cacheable by `sha256`). */
export const KernelModuleRef = z.object({
  language: z.enum(["js", "wasm"]),
  url: z.string(),
  sha256: z.string(),
});
export type KernelModuleRef = z.infer<typeof KernelModuleRef>;

export const Lease = z.object({
  id: z.string(),
  jobId: z.string(),
  shardId: z.string(),
  kernel: z.string(),
  params: z.unknown(),
  input: z.unknown(),
  expiresAt: z.number(),
  /** Present for published kernels (`k_...`): the module to run. Built-in kernels are bundled. */
  module: KernelModuleRef.optional(),
  /**
   * Present for dataset shards (`input` is `{dataset, offset, length}`): `GET` it (a path on the
   * coordinator) with the volunteer token for exactly this shard's lines; the kernel then gets
   * `{...input, text}` with those bytes as UTF-8.
   */
  inputUrl: z.string().optional(),
});
export type Lease = z.infer<typeof Lease>;

/** A stored dataset as `POST /v1/datasets` and `GET /v1/datasets/:id` answer it. */
export const Dataset = z.object({
  id: z.string(),
  name: z.string(),
  bytes: z.number(),
  sha256: z.string(),
  createdAt: z.number(),
});
export type Dataset = z.infer<typeof Dataset>;

/** Dataset names: a file name, no path. */
export const DatasetName = z
  .string()
  .min(1)
  .max(200)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  .regex(/^[^/\\\u0000-\u001f]+$/, "a file name without slashes or control characters");

/** `POST /v1/datasets/uploads`: starts a multipart upload of `bytes` in parts of `partBytes` (the last may be shorter). */
export const StartUpload = z.strictObject({
  name: DatasetName,
  bytes: integer.min(1).max(LIMITS.datasetBytes),
  partBytes: integer.min(LIMITS.partBytes.min).max(LIMITS.partBytes.max),
});
export type StartUpload = z.infer<typeof StartUpload>;

/** A multipart upload in progress: parts `1..received` are stored; send part `received + 1` next. */
export const Upload = z.object({
  uploadId: z.string(),
  name: z.string(),
  bytes: z.number(),
  partBytes: z.number(),
  parts: z.number(),
  received: z.number(),
  expiresAt: z.number(),
});
export type Upload = z.infer<typeof Upload>;

/** What a volunteer reports when its kernel threw, ran out of time or of memory. */
export const KernelFailure = z.strictObject({ message: z.string().max(LIMITS.kernelErrorChars) });
export type KernelFailure = z.infer<typeof KernelFailure>;

const oneOfOutputOrError = <T extends { output?: unknown; error?: unknown }>(r: T) =>
  ("output" in r && r.output !== undefined) !== ("error" in r && r.error !== undefined);
const outputOrError = { message: "give exactly one of output or error", path: ["output"] };

/** One result: the kernel's `output`, or `error` when the kernel failed on this shard. */
export const ResultSubmit = z.strictObject({ output: z.unknown().optional(), error: KernelFailure.optional() }).refine(oneOfOutputOrError, outputOrError);
export type ResultSubmit = z.infer<typeof ResultSubmit>;

export const BatchResults = z.strictObject({
  results: z
    .array(
      z
        .strictObject({ leaseId: z.string().min(1).max(200), output: z.unknown().optional(), error: KernelFailure.optional() })
        .refine(oneOfOutputOrError, outputOrError),
    )
    .min(1)
    .max(LIMITS.resultsPerCall),
});

export const BatchResultEntry = z.object({
  leaseId: z.string(),
  status: z.number(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type BatchResultEntry = z.infer<typeof BatchResultEntry>;

/** How published kernels' outputs merge: the same op on every number, one op per top-level field, or `collect`. */
export const ReduceOp = z.enum(["sum", "min", "max"]);
export const ReduceSpec = z.union([
  z.enum(["sum", "min", "max", "collect"]),
  z.record(z.string().min(1).max(100), ReduceOp).refine((r) => Object.keys(r).length > 0, "name at least one field"),
]);
export type ReduceSpec = z.infer<typeof ReduceSpec>;

/** Tolerance under which two outputs agree (same shape, every number within tolerance). */
export const CompareSpec = z.strictObject({
  absTol: z.number().min(0).optional(),
  relTol: z.number().min(0).max(1).optional(),
});
export type CompareSpec = z.infer<typeof CompareSpec>;

/** `POST /v1/kernels`: a `js/1` source or a `wasm/1` module (base64), with its merge and checks. */
export const PublishKernel = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][\w.-]*$/, "letters, digits, '.', '_' and '-' only"),
    language: z.enum(["js", "wasm"]),
    source: z.string().optional(),
    wasm: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64")
      .optional(),
    reduce: ReduceSpec,
    description: z.string().max(2000).optional(),
    output: jsonRecordUpTo(LIMITS.outputSchemaChars, "it is kept with the kernel's manifest").optional(),
    compare: CompareSpec.optional(),
  })
  .refine((k) => (k.language === "js" ? k.source !== undefined && k.wasm === undefined : k.wasm !== undefined && k.source === undefined), {
    message: "a js kernel gives source, a wasm kernel gives wasm (base64), not both",
    path: ["language"],
  });
export type PublishKernel = z.infer<typeof PublishKernel>;

/** A published kernel as `GET /v1/kernels/:id` shows it (the code itself is at `/module`). */
export const KernelManifest = z.object({
  id: z.string(),
  name: z.string(),
  language: z.enum(["js", "wasm"]),
  sha256: z.string(),
  bytes: z.number(),
  reduce: ReduceSpec,
  description: z.string().optional(),
  output: z.record(z.string(), z.unknown()).optional(),
  compare: CompareSpec.optional(),
  createdAt: z.number(),
});
export type KernelManifest = z.infer<typeof KernelManifest>;

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
