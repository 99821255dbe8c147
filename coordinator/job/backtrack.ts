import { decide } from "./quorum.ts";
import type { JobStore } from "./store.ts";
import { REPLICA, SHARD } from "./tables.ts";
import { returnLease } from "./leasing.ts";
import { rejectWrong, type Checker } from "./verify.ts";

/** Makes sure an open shard has enough replicas coming to reach its quorum again. */
function requeue(store: JobStore, idx: number): void {
  const meta = store.meta!;
  const shard = store.shards.get(idx)!;
  const need = shard.need ?? meta.quorum;
  const d = decide({ groups: store.replicas.groups(idx), quorum: need, maxReplicas: Number.MAX_SAFE_INTEGER, active: shard.active, deficit: shard.deficit });
  const add = d.kind === "wait" ? d.addDeficit : shard.active + shard.deficit > 0 ? 0 : 1;
  if (add > 0) store.shards.addDeficit(idx, add);
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
  store.volunteers.ban(volunteer);
  const accepted = store.shards.acceptedOnWordOf(volunteer);
  const touched = store.replicas.shardsTouchedBy(volunteer);
  for (const lease of store.replicas.leasedBy(volunteer)) returnLease(store, lease, REPLICA.rejected);
  store.replicas.rejectAllOf(volunteer);

  const agreedWith = new Set<string>();
  const proven: string[] = [];
  let reopened = 0;
  let checks = 0;
  for (const { idx, hash } of accepted) {
    const right = truth?.(idx);
    if (right !== undefined) {
      checks++;
      if (store.replicas.anyOutput(idx, hash) === right) {
        store.shards.verify(idx);
        continue;
      }
      proven.push(...rejectWrong(store, idx, right));
    } else {
      for (const r of store.replicas.agreeing(idx, hash)) agreedWith.add(r.volunteer);
    }
    reopened++;
    store.shards.reopen(idx, meta.adaptive ? 2 : null);
  }
  for (const idx of touched) if (store.shards.get(idx)?.state === SHARD.open) requeue(store, idx);
  const revoked = store.volunteers.revoke(volunteer);
  if (reopened) {
    const reopen = meta.state === "done";
    store.saveMeta({ ...meta, done: meta.done - reopened, ...(reopen && { state: "running" }), updatedAt: Date.now() });
  }
  return { reopened, agreedWith: [...agreedWith], proven, checks, revoked };
}
