import type { JobStatus } from "../../shared/schemas.ts";
import type { JobMeta } from "./meta.ts";
import type { JobStore } from "./store.ts";
import { SHARD } from "./tables.ts";

/** One shard as `GET /v1/jobs/:id/shards` shows it. */
export interface ShardView {
  shard: string;
  state: "open" | "accepted" | "failed";
  output?: unknown;
  /** Why a failed shard failed (agreed kernel failures, or no quorum). */
  error?: string;
}

const SHARD_STATES = ["open", "accepted", "failed"] as const;

/** Shards after index `after` (only those ever leased exist), with accepted outputs. */
export function listShards(store: JobStore, after: number, limit: number): ShardView[] {
  return store.shards.list(after, limit).map((r) => ({
    shard: String(r.idx),
    state: SHARD_STATES[r.state]!,
    ...(r.state === SHARD.accepted && r.output !== null && { output: JSON.parse(r.output) }),
    ...(r.error !== null && { error: r.error }),
  }));
}

/** The contract's job status view of the meta row. */
export function toStatus(meta: JobMeta, awaitingConfirmation = 0): JobStatus {
  const { id, kernel, label, state, done, failed, total, createdAt, updatedAt, error, notify } = meta;
  // `work` is left out of the change check (job/store.ts), so it never triggers an event by itself.
  return {
    id,
    kernel,
    ...(label !== undefined && { label }),
    ...(meta.priority !== undefined && { priority: meta.priority }),
    state,
    shards: { total, done, failed, awaitingConfirmation },
    rate: done > 0 && updatedAt > createdAt ? Math.round((done / (updatedAt - createdAt)) * 1e5) / 100 : 0,
    createdAt,
    updatedAt,
    ...(error !== undefined && { error }),
    ...(notify && { notify: { url: notify.url, state: notify.state, attempts: notify.attempts } }),
    work: { results: meta.work?.results ?? 0, checks: meta.work?.checks ?? 0 },
  };
}
