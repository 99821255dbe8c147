import type { JobState } from "../../shared/schemas.ts";
import type { PublishedRef } from "./kernel.ts";

/** Everything a job is, kept as one row in its Durable Object. */
export interface JobMeta {
  id: string;
  owner: string;
  kernel: string;
  /** Set for a published kernel (`kernel` is then its `k_` id). */
  published?: PublishedRef;
  params: Record<string, unknown>;
  /** Range jobs generate shard inputs from this; explicit jobs keep them in the `inputs` table. */
  range?: { start: number; end: number; step: number };
  /** Dataset jobs read shard i as the records starting in `[i*chunkBytes, (i+1)*chunkBytes)` of this dataset. */
  dataset?: DatasetRef;
  total: number;
  replicas: number;
  quorum: number;
  maxReplicas: number;
  /** True when the submitter left replication to the coordinator's policy. */
  adaptive: boolean;
  leaseTtlMs: number;
  label?: string;
  /** Among its owner's running jobs, higher is served first (absent: 0). */
  priority?: number;
  notify?: { url: string; state: "pending" | "delivered" | "gave_up"; attempts: number; nextAt?: number };
  state: JobState;
  error?: string;
  done: number;
  failed: number;
  createdAt: number;
  updatedAt: number;
  /** Next never-issued shard index: shards at or past it have no row yet (stored lazily: see JobStore.advance). */
  next: number;
  /** Accept sequence number of the last accepted shard. */
  seq: number;
  /** Accept sequence the stored accumulator checkpoint includes. */
  accSeq: number;
  /** The merged result is being refolded from accepted outputs (after a backtrack), a bounded step per alarm. */
  rebuilding?: boolean;
  /** Outputs received from volunteers (ringers included) and shards the coordinator computed itself. */
  work?: { results: number; checks: number };
  /** Bumped whenever the status a submitter sees changes: the event id of job event streams. */
  version?: number;
}

/** What a job keeps of the dataset it reads. */
export interface DatasetRef {
  id: string;
  key: string;
  bytes: number;
  chunkBytes: number;
  /** CSV jobs: the header record, given to every shard but the first (which holds it). */
  header?: string;
  /** CSV jobs: newlines inside quoted fields end no record (their positions are in the `quoted` table). */
  csv?: boolean;
}

/** The lease input of dataset shard `i`, per the contract (`header` for CSV shards past the first). */
export function datasetInput(ds: DatasetRef, i: number) {
  const offset = i * ds.chunkBytes;
  return {
    dataset: ds.id,
    offset,
    length: Math.min(ds.chunkBytes, ds.bytes - offset),
    ...(ds.header !== undefined && i > 0 && { header: ds.header }),
  };
}

/** Input of range shard `i`, per the contract. */
export function rangeInput(range: NonNullable<JobMeta["range"]>, i: number) {
  const start = range.start + i * range.step;
  return { start, end: Math.min(start + range.step, range.end) };
}

/** Number of shards a range yields (an empty range yields none, and its job is done at once). */
export function rangeShards(range: NonNullable<JobMeta["range"]>): number {
  return Math.ceil((range.end - range.start) / range.step);
}
