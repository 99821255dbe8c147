import { canonicalJson } from "../../shared/canonical.ts";
import type { Kernel } from "../../shared/kernels/registry.ts";
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

/** What one recorded output changed, for stats, reputation and notifications. */
export interface Effect {
  accepted?: { idx: number; agreeing: string[] };
  failed?: { idx: number; reason: string };
  ringer?: { passed: boolean };
  /** Volunteers whose output the coordinator proved wrong. */
  proven?: string[];
  /** Shards the coordinator computed itself for this output (arbitration or spot-check). */
  checks?: number;
}

/** Chance that a trusted volunteer's lone result is audited with a second replica anyway. */
export const AUDIT_RATE = 0.2;
/** Chance that the coordinator checks an accepted output itself (this also stocks ringers). */
export const VERIFY_RATE = 0.03;
/** The first accepted shards of every adaptive job are always checked, so ringers exist early. */
const VERIFY_FIRST = 3;

/** Checks that `volunteer` may submit for `lease` now; the failure is the contract's status. */
export function checkLease(store: JobStore, volunteer: string, lease: string, now: number): Failure | undefined {
  const row = store.replica(lease);
  const meta = store.meta!;
  if (!row) return fail(404, "lease_not_found", `no lease ${lease}`);
  if (row.volunteer !== volunteer) return fail(403, "forbidden", "this lease belongs to another volunteer");
  if (row.state === REPLICA.submitted) return fail(409, "already_submitted", "a result for this lease was already submitted");
  if (row.state === REPLICA.rejected || store.banned(volunteer)) return fail(403, "volunteer_blacklisted", "this volunteer's results are no longer accepted");
  if (meta.state === "cancelled") return fail(410, "job_cancelled", "the job was cancelled");
  if (meta.state === "failed") return fail(410, "job_failed", "the job failed");
  if (row.state === REPLICA.released) return fail(410, "lease_released", "this lease was released");
  if (row.state === REPLICA.expired || row.expires_at <= now) return fail(410, "lease_expired", "this lease expired");
  return undefined;
}

/** The coordinator's own output for a shard as canonical JSON, or undefined when it may not compute it. */
export type Checker = (idx: number) => string | undefined;

/**
 * A checker that computes at most `budget` shards, and only those the kernel calls cheap, so no
 * request (and no backtracking step) can make the job's object run long. Past that, callers fall
 * back to issuing more replicas, as plain voting does.
 */
export function checker(store: JobStore, kernel: Kernel, budget: number): Checker {
  let left = budget;
  return (idx) => {
    const input = store.input(idx);
    if (left <= 0 || !kernel.checkable(input)) return undefined;
    left--;
    return canonicalJson(kernel.compute(input, store.meta!.params));
  };
}

/** Rejects the submitted outputs of `idx` that differ from `truthText`; returns their volunteers. */
export function rejectWrong(store: JobStore, idx: number, truthText: string): string[] {
  const wrong = store.sql
    .exec<{ lease: string; volunteer: string }>("SELECT lease, volunteer FROM replicas WHERE idx = ? AND state = 1 AND ringer = 0 AND output != ?", idx, truthText)
    .toArray();
  for (const w of wrong) store.sql.exec("UPDATE replicas SET state = ? WHERE lease = ?", REPLICA.rejected, w.lease);
  return wrong.map((w) => w.volunteer);
}

/**
 * Records a submitted output for a checked lease and applies the verification policy to its shard:
 * accept (fold into the result), issue more replicas, or fail the shard. Adaptive jobs also audit
 * trusted volunteers, arbitrate disagreements by computing the shard, and spot-check accepted
 * outputs. Synchronous: one atomic step.
 */
export function recordOutput(store: JobStore, acc: Accumulator, check: Checker, lease: string, out: PreparedOutput, now: number, trusted: boolean): Effect {
  const row = store.replica(lease)!;
  store.sql.exec("UPDATE replicas SET state = ?, hash = ?, output = ?, at = ? WHERE lease = ?", REPLICA.submitted, out.hash, out.text, now, lease);
  let shard = store.shard(row.idx)!;
  if (row.ringer) return { ringer: { passed: shard.verified === 1 && out.hash === shard.accepted_hash } };
  store.sql.exec("UPDATE shards SET active = active - 1 WHERE idx = ?", row.idx);
  if (shard.state !== SHARD.open) return {};

  const meta = store.meta!;
  const effect: Effect = {};
  let groups = store.groups(row.idx);
  const arbiter = meta.adaptive && groups.length > 1 ? check(row.idx) : undefined;
  if (arbiter !== undefined) {
    effect.proven = rejectWrong(store, row.idx, arbiter);
    effect.checks = 1;
    groups = store.groups(row.idx);
  }
  let need = shard.need ?? meta.quorum;
  const lone = groups.length === 1 && groups[0]!.count === 1;
  if (meta.adaptive && need === 1 && lone && (!trusted || Math.random() < AUDIT_RATE)) {
    need = 2;
    store.sql.exec("UPDATE shards SET need = 2 WHERE idx = ?", row.idx);
  }
  shard = store.shard(row.idx)!;
  const decision = decide({ groups, quorum: need, maxReplicas: meta.maxReplicas, active: shard.active, deficit: shard.deficit });
  if (decision.kind === "wait") {
    if (decision.addDeficit > 0) store.sql.exec("UPDATE shards SET deficit = deficit + ? WHERE idx = ?", decision.addDeficit, row.idx);
    return effect;
  }
  if (decision.kind === "fail") {
    store.sql.exec("UPDATE shards SET state = ?, deficit = 0 WHERE idx = ?", SHARD.failed, row.idx);
    store.saveMeta({ ...meta, failed: meta.failed + 1, updatedAt: now });
    return { ...effect, failed: { idx: row.idx, reason: `shard ${row.idx}: ${decision.reason}` } };
  }

  const output = store.sql
    .exec<{ output: string }>("SELECT output FROM replicas WHERE idx = ? AND hash = ? AND state = 1 LIMIT 1", row.idx, decision.hash)
    .one().output;
  let verified = 0;
  const right = meta.adaptive && (meta.seq < VERIFY_FIRST || Math.random() < VERIFY_RATE) ? check(row.idx) : undefined;
  if (right !== undefined) {
    effect.checks = (effect.checks ?? 0) + 1;
    if (right !== output) {
      // Colluders agreed on a wrong output: reject them all and start the shard afresh.
      const proven = rejectWrong(store, row.idx, right);
      store.sql.exec("UPDATE shards SET need = 2, deficit = deficit + 2 WHERE idx = ?", row.idx);
      return { ...effect, proven: [...(effect.proven ?? []), ...proven] };
    }
    verified = 1;
  }
  const seq = meta.seq + 1;
  store.sql.exec(
    "UPDATE shards SET state = ?, deficit = 0, accepted_hash = ?, accept_seq = ?, verified = ? WHERE idx = ?",
    SHARD.accepted, decision.hash, seq, verified, row.idx,
  );
  const done = meta.done + 1;
  store.saveMeta({ ...meta, done, seq, updatedAt: now });
  acc.add(JSON.parse(output), seq, done + meta.failed >= meta.total);
  const agreeing = store.sql
    .exec<{ volunteer: string }>("SELECT volunteer FROM replicas WHERE idx = ? AND state = 1 AND ringer = 0 AND hash = ?", row.idx, decision.hash)
    .toArray()
    .map((v) => v.volunteer);
  return { ...effect, accepted: { idx: row.idx, agreeing } };
}
