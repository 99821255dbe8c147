import type { Failure } from "../errors.ts";
import { fail } from "../errors.ts";
import type { Accumulator } from "./accumulator.ts";
import { decide } from "./quorum.ts";
import type { JobStore } from "./store.ts";
import { REPLICA, SHARD } from "./tables.ts";

/** An output already validated against the kernel and hashed (hashing is async, so it happens first). */
export interface PreparedOutput {
  text: string;
  hash: string;
}

/** What one recorded output changed, for stats and notifications. */
export interface Effect {
  accepted?: { idx: number; agreeing: string[]; disagreeing: string[] };
  failed?: { idx: number; reason: string };
}

/** Checks that `volunteer` may submit for `lease` now; the failure is the contract's status. */
export function checkLease(store: JobStore, volunteer: string, lease: string, now: number): Failure | undefined {
  const row = store.replica(lease);
  const meta = store.meta!;
  if (!row) return fail(404, "lease_not_found", `no lease ${lease}`);
  if (row.volunteer !== volunteer) return fail(403, "forbidden", "this lease belongs to another volunteer");
  if (row.state === REPLICA.submitted) return fail(409, "already_submitted", "a result for this lease was already submitted");
  if (meta.state === "cancelled") return fail(410, "job_cancelled", "the job was cancelled");
  if (meta.state === "failed") return fail(410, "job_failed", "the job failed");
  if (row.state === REPLICA.released) return fail(410, "lease_released", "this lease was released");
  if (row.state === REPLICA.expired || row.expires_at <= now) return fail(410, "lease_expired", "this lease expired");
  return undefined;
}

/**
 * Records a submitted output for a checked lease and applies the quorum rule to its shard:
 * accept (fold into the result), issue more replicas, or fail the shard. Synchronous: one atomic step.
 */
export function recordOutput(store: JobStore, acc: Accumulator, lease: string, out: PreparedOutput, now: number): Effect {
  const row = store.replica(lease)!;
  store.sql.exec("UPDATE replicas SET state = ?, hash = ?, output = ?, at = ? WHERE lease = ?", REPLICA.submitted, out.hash, out.text, now, lease);
  store.sql.exec("UPDATE shards SET active = active - 1 WHERE idx = ?", row.idx);
  const shard = store.shard(row.idx)!;
  if (shard.state !== SHARD.open) return {};

  const meta = store.meta!;
  const groups = store.groups(row.idx);
  const decision = decide({ groups, quorum: meta.quorum, maxReplicas: meta.maxReplicas, active: shard.active, deficit: shard.deficit });
  if (decision.kind === "wait") {
    if (decision.addDeficit > 0) store.sql.exec("UPDATE shards SET deficit = deficit + ? WHERE idx = ?", decision.addDeficit, row.idx);
    return {};
  }
  if (decision.kind === "fail") {
    store.sql.exec("UPDATE shards SET state = ?, deficit = 0 WHERE idx = ?", SHARD.failed, row.idx);
    store.saveMeta({ ...meta, failed: meta.failed + 1, updatedAt: now });
    return { failed: { idx: row.idx, reason: `shard ${row.idx}: ${decision.reason}` } };
  }

  const seq = meta.seq + 1;
  store.sql.exec("UPDATE shards SET state = ?, deficit = 0, accepted_hash = ?, accept_seq = ? WHERE idx = ?", SHARD.accepted, decision.hash, seq, row.idx);
  const done = meta.done + 1;
  store.saveMeta({ ...meta, done, seq, updatedAt: now });
  const voters = store.sql
    .exec<{ volunteer: string; hash: string }>("SELECT volunteer, hash FROM replicas WHERE idx = ? AND state = 1", row.idx)
    .toArray();
  const winner = voters.find((v) => v.hash === decision.hash)!;
  const output = JSON.parse(
    store.sql.exec<{ output: string }>("SELECT output FROM replicas WHERE idx = ? AND hash = ? LIMIT 1", row.idx, winner.hash).one().output,
  );
  acc.add(output, seq, done + meta.failed >= meta.total);
  return {
    accepted: {
      idx: row.idx,
      agreeing: voters.filter((v) => v.hash === decision.hash).map((v) => v.volunteer),
      disagreeing: voters.filter((v) => v.hash !== decision.hash).map((v) => v.volunteer),
    },
  };
}
