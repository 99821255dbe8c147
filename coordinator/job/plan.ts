import { kernels } from "../../shared/kernels/registry.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { CreateJob, KernelManifest } from "../../shared/schemas.ts";
import { describeIssues } from "../body.ts";
import { ApiError } from "../errors.ts";
import type { PublishedRef } from "./kernel.ts";
import { rangeInput, rangeShards, type DatasetRef, type JobMeta } from "./meta.ts";

/** Replication when the submitter names none: never trust a lone result (see the trust policy). */
export const ADAPTIVE_DEFAULT = { replicas: 2, quorum: 2 } as const;

function invalid(field: string, message: string): never {
  throw new ApiError(400, "invalid_body", `${field}: ${message}`);
}

function checkInput(schema: import("zod").ZodType | undefined, input: unknown, field: string): void {
  const parsed = schema?.safeParse(input);
  if (!parsed) return;
  if (!parsed.success) invalid(field, describeIssues(parsed.error));
}

/**
 * Turns a validated create-job body into the job's meta row (and explicit shard inputs as JSON),
 * checking everything that depends on the kernel. Throws a 400 naming the field; creates nothing.
 */
export function planJob(
  body: CreateJob,
  id: string,
  owner: string,
  now: number,
  manifest?: KernelManifest,
  dataset?: Omit<DatasetRef, "chunkBytes">,
): { meta: JobMeta; inputs?: string[] } {
  // A published kernel takes any JSON input and params: only its outputs are checked.
  const kernel = manifest ? { name: manifest.id, acceptsRange: true, params: undefined, input: undefined } : kernels.get(body.kernel);
  if (!kernel) invalid("kernel", `unknown kernel "${body.kernel}"; known: ${[...kernels.keys()].join(", ")} or a published k_... id`);
  checkInput(kernel.params, body.params, "params");

  let total: number;
  let inputs: string[] | undefined;
  if (body.dataset) {
    if (!dataset || dataset.id !== body.dataset.id) throw new Error("planJob: a dataset job needs its dataset's record");
    if (!manifest && !kernel.input?.safeParse({ text: "" }).success) {
      invalid("dataset", `kernel ${kernel.name} does not read datasets`);
    }
    // Built-in kernels' shards stay small enough for the coordinator to check them itself, so a
    // trusted volunteer's audited shard never waits for a second volunteer who may not exist.
    if (!manifest && body.dataset.chunkBytes > LIMITS.checkableShardBytes) {
      invalid(
        "dataset.chunkBytes",
        `${kernel.name} takes chunks of at most ${LIMITS.checkableShardBytes} bytes (the coordinator checks shards of that size itself)`,
      );
    }
    total = Math.ceil(dataset.bytes / body.dataset.chunkBytes);
    if (total > LIMITS.rangeShards) invalid("dataset.chunkBytes", `${total} shards exceed the limit of ${LIMITS.rangeShards}; use larger chunks`);
  } else if (body.range) {
    if (!kernel.acceptsRange) invalid("range", `kernel ${kernel.name} takes explicit shards, not a range`);
    total = rangeShards(body.range);
    if (total > LIMITS.rangeShards) invalid("range", `${total} shards exceed the limit of ${LIMITS.rangeShards}; use a larger step`);
    if (total > 0) {
      // Range inputs grow monotonically, so the first and last shard bound every other one.
      checkInput(kernel.input, rangeInput(body.range, 0), "range (first shard)");
      checkInput(kernel.input, rangeInput(body.range, total - 1), "range (last shard)");
    }
  } else {
    const shards = body.shards!;
    total = shards.length;
    inputs = shards.map((input, i) => {
      checkInput(kernel.input, input, `shards.${i}`);
      const text = JSON.stringify(input);
      if (text.length > LIMITS.shardInputBytes) invalid(`shards.${i}`, `input exceeds ${LIMITS.shardInputBytes} characters`);
      return text;
    });
  }

  const adaptive = body.replication === undefined;
  const { replicas, quorum } = body.replication ?? ADAPTIVE_DEFAULT;
  const maxReplicas = body.replication?.maxReplicas ?? Math.min(LIMITS.maxReplicas, 2 * replicas + 1);
  const meta: JobMeta = {
    id,
    owner,
    kernel: kernel.name,
    params: body.params,
    ...(manifest && { published: publishedRef(manifest) }),
    ...(body.range && { range: body.range }),
    ...(body.dataset && dataset && { dataset: { ...dataset, chunkBytes: body.dataset.chunkBytes } }),
    total,
    replicas,
    quorum,
    maxReplicas,
    adaptive,
    leaseTtlMs: body.leaseTtlMs,
    ...(body.label !== undefined && { label: body.label }),
    ...(body.priority !== 0 && { priority: body.priority }),
    ...(body.notify && { notify: { url: body.notify.url, state: "pending" as const, attempts: 0 } }),
    state: "running",
    done: 0,
    failed: 0,
    createdAt: now,
    updatedAt: now,
    next: 0,
    seq: 0,
    accSeq: 0,
  };
  return { meta, ...(inputs && { inputs }) };
}

/** What a job keeps of a published kernel's manifest. */
function publishedRef(m: KernelManifest): PublishedRef {
  return {
    language: m.language,
    sha256: m.sha256,
    reduce: m.reduce,
    ...(m.output !== undefined && { output: m.output }),
    ...(m.compare !== undefined && { compare: m.compare }),
  };
}
