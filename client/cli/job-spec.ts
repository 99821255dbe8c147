import { basename } from "node:path";
import { LIMITS } from "../../shared/limits.ts";
import { DATASET_ID } from "../../shared/schemas.ts";
import type { JobSpec } from "../api/index.ts";
import { UsageError } from "./exit.ts";
import { jsonObject, parseDuration, wholeNumber } from "./input/numbers.ts";
import { DEFAULT_PACK_LIMITS, packShards } from "./input/pack-jobs.ts";
import { parseRange } from "./input/range.ts";
import { shardsFromJsonl, shardsFromText } from "./input/shards.ts";
import { formatSize, parseSize, sizeFlag } from "./input/size.ts";

/** The flags of `colmeia submit` that shape the job. */
export interface SpecFlags {
  range?: string;
  shards?: string;
  file?: string;
  dataset?: string;
  chunk?: string;
  params?: string;
  replicas?: string;
  quorum?: string;
  maxReplicas?: string;
  leaseTtl?: string;
  label?: string;
  priority?: string;
  notify?: string;
  splitJobs?: boolean;
}

/** Default `--chunk` for `--file`. */
export const DEFAULT_CHUNK = "64KiB";

/** `dataset` of a job over a stored dataset: its id, and `--chunk` as the shard size (the coordinator's default otherwise). */
function datasetSpec(id: string, chunk?: string): NonNullable<JobSpec["dataset"]> {
  if (!DATASET_ID.test(id)) throw new UsageError(`--dataset must be a dataset id (d_ and 32 hex digits; see colmeia dataset list), got ${JSON.stringify(id)}`);
  if (chunk === undefined) return { id };
  return { id, chunkBytes: sizeFlag("--chunk", chunk, LIMITS.chunkBytes.min, LIMITS.chunkBytes.max) };
}

/** `--priority`: an integer from -100 to 100. */
function priorityFlag(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < -100 || n > 100) throw new UsageError(`--priority must be a whole number from -100 to 100, got ${JSON.stringify(text)}`);
  return n;
}

function replication(flags: SpecFlags): JobSpec["replication"] {
  if (flags.replicas === undefined && flags.quorum === undefined) {
    if (flags.maxReplicas !== undefined) throw new UsageError("--max-replicas needs --replicas");
    return undefined;
  }
  const replicas = wholeNumber("--replicas", flags.replicas ?? flags.quorum!);
  const quorum = wholeNumber("--quorum", flags.quorum ?? String(replicas));
  if (quorum > replicas) throw new UsageError(`--quorum (${quorum}) must not exceed --replicas (${replicas})`);
  const maxReplicas = flags.maxReplicas === undefined ? undefined : wholeNumber("--max-replicas", flags.maxReplicas);
  return { replicas, quorum, ...(maxReplicas !== undefined && { maxReplicas }) };
}

/**
 * The job body (or bodies) `colmeia submit` sends: exactly one input source, shards packed into
 * as few jobs as the coordinator's body limit allows; more than one only with `--split-jobs`.
 */
export function jobSpecs(kernel: string, flags: SpecFlags): JobSpec[] {
  const sources = [flags.range && "--range", flags.shards && "--shards", flags.file && "--file"].filter(Boolean);
  if (flags.dataset !== undefined && sources.length) {
    throw new UsageError(`--dataset cannot go with ${sources.join(", ")}: the dataset's chunks are the shards (their size is --chunk)`);
  }
  if (flags.dataset === undefined && sources.length !== 1) {
    throw new UsageError(
      sources.length
        ? `give only one of ${sources.join(", ")}`
        : "give the shards: --range start:end:step, --shards file.jsonl, --file text.txt or --dataset d_...",
    );
  }
  if (flags.chunk !== undefined && !flags.file && flags.dataset === undefined) throw new UsageError("--chunk only applies to --file and --dataset");

  const base: JobSpec = {
    kernel,
    ...(flags.params !== undefined && { params: jsonObject("--params", flags.params) }),
    ...(flags.leaseTtl !== undefined && { leaseTtlMs: parseDuration("--lease-ttl", flags.leaseTtl) }),
    ...(flags.notify !== undefined && { notify: { url: flags.notify } }),
    ...(flags.priority !== undefined && { priority: priorityFlag(flags.priority) }),
  };
  const rep = replication(flags);
  if (rep) base.replication = rep;
  if (flags.range) return [{ ...base, range: parseRange(flags.range), ...(flags.label !== undefined && { label: flags.label }) }];
  if (flags.dataset !== undefined) {
    return [{ ...base, dataset: datasetSpec(flags.dataset, flags.chunk), ...(flags.label !== undefined && { label: flags.label }) }];
  }

  let list;
  if (flags.shards) {
    list = shardsFromJsonl(flags.shards);
  } else {
    const chunk = parseSize(flags.chunk ?? DEFAULT_CHUNK);
    const most = LIMITS.shardInputBytes - 64;
    if (chunk > most) throw new UsageError(`--chunk must be at most ${formatSize(most)} (one shard's limit)`);
    list = shardsFromText(flags.file!, chunk);
  }
  const groups = packShards(list.sizes);
  const label = flags.label ?? (list.source === "-" ? undefined : basename(list.source).slice(0, LIMITS.labelChars - 20));
  if (groups.length > 1 && !flags.splitJobs) {
    const bytes = list.sizes.reduce((a, b) => a + b, 0);
    throw new UsageError(
      `${list.source} makes ${list.inputs.length} shards, ${formatSize(bytes)} of JSON, but one job carries at most ` +
        `${formatSize(DEFAULT_PACK_LIMITS.bodyBytes)} and ${DEFAULT_PACK_LIMITS.shards} shards: add --split-jobs ` +
        `to submit it as ${groups.length} jobs (--watch, or colmeia result with all their ids, merges the results)`,
    );
  }
  return groups.map(([from, to], i) => ({
    ...base,
    shards: list.inputs.slice(from, to),
    ...(label !== undefined && { label: groups.length > 1 ? `${label} (part ${i + 1}/${groups.length})` : label }),
  }));
}
