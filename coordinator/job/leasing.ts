import type { Lease } from "../../shared/schemas.ts";
import { rangeInput } from "./meta.ts";
import type { JobStore } from "./store.ts";
import { REPLICA, SHARD } from "./tables.ts";

/** Random opaque suffix for lease ids. */
function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Issues up to `max` leases of this job to `volunteer`: first shards already started that still
 * need replicas (so started shards finish first), then fresh shards from the cursor. Cost depends
 * on `max` and what this volunteer holds, never on the job's size. Synchronous: one atomic step.
 */
export function issueLeases(store: JobStore, volunteer: string, max: number, now: number): Lease[] {
  const meta = store.meta!;
  const expiresAt = now + meta.leaseTtlMs;
  const picked: number[] = store.wanting(volunteer, max);
  for (const idx of picked) {
    store.sql.exec("UPDATE shards SET deficit = deficit - 1, active = active + 1 WHERE idx = ?", idx);
  }
  let next = meta.next;
  while (picked.length < max && next < meta.total) {
    store.sql.exec(
      "INSERT INTO shards (idx, state, deficit, active) VALUES (?, ?, ?, 1)",
      next,
      SHARD.open,
      meta.replicas - 1,
    );
    picked.push(next++);
  }
  if (next !== meta.next) store.saveMeta({ ...meta, next });

  return picked.map((idx) => {
    const id = `${meta.id}.${idx}.${nonce()}`;
    store.sql.exec(
      "INSERT INTO replicas (lease, idx, volunteer, state, expires_at) VALUES (?, ?, ?, ?, ?)",
      id,
      idx,
      volunteer,
      REPLICA.leased,
      expiresAt,
    );
    const input = meta.range ? rangeInput(meta.range, idx) : JSON.parse(store.inputText(idx));
    return { id, jobId: meta.id, shardId: String(idx), kernel: meta.kernel, params: meta.params, input, expiresAt };
  });
}

/** Marks leases past their deadline expired and puts their shards back in the queue; returns how many. */
export function expireLeases(store: JobStore, now: number): number {
  const expired = store.sql
    .exec<{ lease: string; idx: number }>(
      "SELECT lease, idx FROM replicas WHERE state = 0 AND expires_at <= ? ORDER BY expires_at LIMIT 5000",
      now,
    )
    .toArray();
  for (const { lease, idx } of expired) returnLease(store, lease, idx, REPLICA.expired);
  return expired.length;
}

/** Ends a lease without output (expired or released) and re-queues its replica. */
export function returnLease(store: JobStore, lease: string, idx: number, state: number): void {
  store.sql.exec("UPDATE replicas SET state = ? WHERE lease = ?", state, lease);
  store.sql.exec(
    `UPDATE shards SET active = active - 1, deficit = deficit + (CASE WHEN state = ${SHARD.open} THEN 1 ELSE 0 END) WHERE idx = ?`,
    idx,
  );
}

/** Earliest deadline of any outstanding lease, if any. */
export function nextExpiry(store: JobStore): number | undefined {
  const row = store.sql
    .exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM replicas WHERE state = 0")
    .toArray()[0];
  return row?.at ?? undefined;
}
