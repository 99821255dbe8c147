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
  total: number;
  replicas: number;
  quorum: number;
  maxReplicas: number;
  /** True when the submitter left replication to the coordinator's policy. */
  adaptive: boolean;
  leaseTtlMs: number;
  label?: string;
  notify?: { url: string; state: "pending" | "delivered" | "gave_up"; attempts: number; nextAt?: number };
  state: JobState;
  error?: string;
  done: number;
  failed: number;
  createdAt: number;
  updatedAt: number;
  /** Next never-issued shard index: shards at or past it have no row yet. */
  next: number;
  /** Accept sequence number of the last accepted shard. */
  seq: number;
  /** Accept sequence the stored accumulator checkpoint includes. */
  accSeq: number;
  /** Outputs received from volunteers (ringers included) and shards the coordinator computed itself. */
  work?: { results: number; checks: number };
  /** Bumped whenever the status a submitter sees changes: the event id of job event streams. */
  version?: number;
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
