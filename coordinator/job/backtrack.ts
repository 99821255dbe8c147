import { decide } from "./quorum.ts";
import type { JobStore } from "./store.ts";
import { REPLICA, SHARD } from "./tables.ts";
import { returnLease } from "./leasing.ts";
import { rejectWrong, type Checker } from "./verify.ts";

/** Makes sure an open shard has enough replicas coming to reach its quorum again. */
function requeue(store: JobStore, idx: number): void {
  const meta = store.meta!;
  const shard = store.shard(idx)!;
  const need = shard.need ?? meta.quorum;
  const d = decide({ groups: store.groups(idx), quorum: need, maxReplicas: Number.MAX_SAFE_INTEGER, active: shard.active, deficit: shard.deficit });
  const add = d.kind === "wait" ? d.addDeficit : shard.active + shard.deficit > 0 ? 0 : 1;
  if (add > 0) store.sql.exec("UPDATE shards SET deficit = deficit + ? WHERE idx = ?", add, idx);
}

/** What backtracking a caught volunteer did in one job. */
export interface Backtracked {
  /** Accepted shards reopened for recomputation. */
  reopened: number;
  /** Volunteers that had agreed with it on reopened shards (their agreement proves nothing now). */
  agreedWith: string[];
  /** Volunteers whose agreeing output the coordinator proved wrong too. */
  proven: string[];
  /** Shards the coordinator computed itself. */
  checks: number;
  /** Credit the volunteer had earned in this job, now taken back. */
  revoked: number;
}

/**
 * Undoes everything a caught volunteer did in this job: its outputs are rejected, its leases
 * taken back, its credit revoked, and every shard accepted on its word is settled again. With
 * `truth` (the coordinator computing a shard itself) each such shard is checked at once: a right
 * output stays accepted (now verified), a wrong one is rejected with everyone who agreed on it
 * and the shard reopened. Without it, every such shard is reopened for a fresh quorum. Shards
 * the coordinator had already verified stay accepted: they are right whoever agreed with them.
 */
export function backtrack(store: JobStore, volunteer: string, truth?: Checker): Backtracked {
  const meta = store.meta!;
  store.sql.exec("INSERT OR IGNORE INTO banned (volunteer) VALUES (?)", volunteer);
  const accepted = store.sql
    .exec<{ idx: number; hash: string }>(
      `SELECT DISTINCT s.idx AS idx, s.accepted_hash AS hash FROM replicas r JOIN shards s ON s.idx = r.idx
       WHERE r.volunteer = ? AND r.state = ${REPLICA.submitted} AND r.ringer = 0 AND s.state = ${SHARD.accepted} AND r.hash = s.accepted_hash
         AND s.verified = 0`,
      volunteer,
    )
    .toArray();
  const touched = store.sql
    .exec<{ idx: number }>(`SELECT DISTINCT idx FROM replicas WHERE volunteer = ? AND state IN (${REPLICA.leased}, ${REPLICA.submitted}) AND ringer = 0`, volunteer)
    .toArray()
    .map((r) => r.idx);
  for (const { lease, idx } of store.sql
    .exec<{ lease: string; idx: number }>(`SELECT lease, idx FROM replicas WHERE volunteer = ? AND state = ${REPLICA.leased}`, volunteer)
    .toArray()) {
    returnLease(store, lease, idx, REPLICA.rejected);
  }
  store.sql.exec("UPDATE replicas SET state = ? WHERE volunteer = ? AND state = ?", REPLICA.rejected, volunteer, REPLICA.submitted);

  const agreedWith = new Set<string>();
  const proven: string[] = [];
  let reopened = 0;
  let checks = 0;
  for (const { idx, hash } of accepted) {
    const right = truth?.(idx);
    if (right !== undefined) {
      checks++;
      const output = store.sql.exec<{ output: string }>("SELECT output FROM replicas WHERE idx = ? AND hash = ? AND output IS NOT NULL LIMIT 1", idx, hash).one().output;
      if (output === right) {
        store.sql.exec("UPDATE shards SET verified = 1 WHERE idx = ?", idx);
        continue;
      }
      proven.push(...rejectWrong(store, idx, right));
    } else {
      for (const r of store.sql.exec<{ volunteer: string }>(`SELECT volunteer FROM replicas WHERE idx = ? AND state = ${REPLICA.submitted} AND ringer = 0 AND hash = ?`, idx, hash)) {
        agreedWith.add(r.volunteer);
      }
    }
    reopened++;
    store.sql.exec(
      "UPDATE shards SET state = ?, accepted_hash = NULL, accept_seq = NULL, verified = 0, need = ? WHERE idx = ?",
      SHARD.open,
      meta.adaptive ? 2 : null,
      idx,
    );
  }
  for (const idx of touched) if (store.shard(idx)?.state === SHARD.open) requeue(store, idx);
  const revoked = store.sql.exec<{ credit: number }>("SELECT credit FROM contrib WHERE volunteer = ?", volunteer).toArray()[0]?.credit ?? 0;
  store.sql.exec("DELETE FROM contrib WHERE volunteer = ?", volunteer);
  if (reopened) {
    const reopen = meta.state === "done";
    store.saveMeta({ ...meta, done: meta.done - reopened, ...(reopen && { state: "running" }), updatedAt: Date.now() });
  }
  return { reopened, agreedWith: [...agreedWith], proven, checks, revoked };
}
