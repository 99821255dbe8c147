import { encodeBase64Url } from "hono/utils/encode";
import { LIMITS } from "../../shared/limits.ts";
import type { Lease } from "../../shared/schemas.ts";
import type { Standing } from "../objects/volunteer-object.ts";
import type { JobKernel } from "./kernel.ts";
import type { JobStore } from "./store.ts";
import { REPLICA, SHARD } from "./tables.ts";

/** Random opaque suffix for lease ids. */
const nonce = (): string => encodeBase64Url(crypto.getRandomValues(new Uint8Array(9)).buffer);

/**
 * Issues up to `max` leases of this job to `volunteer`: first shards already started that still
 * need replicas (so started shards finish first), then fresh shards from the cursor. Cost depends
 * on `max` and what this volunteer holds, never on the job's size. Synchronous: one atomic step.
 */
export function issueLeases(store: JobStore, kernel: JobKernel, volunteer: string, max: number, now: number, standing: Standing): Lease[] {
  const meta = store.meta!;
  const expiresAt = now + meta.leaseTtlMs;
  const ringers = meta.adaptive ? pickRingers(store, volunteer, max, meta.published ? standing.trustedUncheckable : standing.trusted) : [];
  const trustedAnywhere = standing.trusted || standing.trustedUncheckable;
  const picked: number[] = store.wanting(volunteer, max - ringers.length, now, trustedAnywhere);
  for (const idx of picked) {
    store.sql.exec("UPDATE shards SET deficit = deficit - 1, active = active + 1 WHERE idx = ?", idx);
  }
  let next = meta.next;
  while (picked.length + ringers.length < max && next < meta.total) {
    // Adaptive jobs: a volunteer trusted on this class of work starts a shard with one replica
    // (audits add more later); anyone else's starts with two: a stranger's lone result is never enough.
    const input = store.input(next);
    const trusted = trustedFor(kernel, input, standing);
    // A stranger's shard the coordinator can compute gets no second replica up front: its result is
    // confirmed on arrival (a replica is issued only if the check budget is spent).
    const checkable = kernel.checkable(input);
    const [deficit, need] = meta.adaptive ? (trusted ? [0, 1] : [checkable ? 0 : 1, 2]) : [meta.replicas - 1, null];
    const hold = meta.adaptive && !trustedAnywhere && !checkable ? now + CONFIRM_HOLD_MS : null;
    store.sql.exec(
      "INSERT INTO shards (idx, state, deficit, active, need, hold_until) VALUES (?, ?, ?, 1, ?, ?)",
      next,
      SHARD.open,
      deficit,
      need,
      hold,
    );
    picked.push(next++);
  }
  if (next !== meta.next) store.saveMeta({ ...meta, next });

  // Ringers go anywhere in the batch, so their position gives nothing away either.
  const order = [...picked.map((idx) => ({ idx, ringer: 0 })), ...ringers.map((idx) => ({ idx, ringer: 1 }))];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.map(({ idx, ringer }) => {
    const id = `${meta.id}.${idx}.${nonce()}`;
    store.sql.exec(
      "INSERT INTO replicas (lease, idx, volunteer, state, expires_at, deadline, ringer) VALUES (?, ?, ?, ?, ?, ?, ?)",
      id,
      idx,
      volunteer,
      REPLICA.leased,
      expiresAt,
      now + LIMITS.leaseHardTtls * meta.leaseTtlMs,
      ringer,
    );
    return {
      id,
      jobId: meta.id,
      shardId: String(idx),
      kernel: meta.kernel,
      params: meta.params,
      input: store.input(idx),
      expiresAt,
      ...(meta.published && { module: { language: meta.published.language, url: `/v1/kernels/${meta.kernel}/module`, sha256: meta.published.sha256 } }),
      ...(meta.dataset && { inputUrl: `/v1/leases/${id}/input` }),
    };
  });
}

/** Whether `standing` lets a volunteer's lone result count for this input's class of work. */
export function trustedFor(kernel: JobKernel, input: unknown, standing: Standing): boolean {
  return kernel.checkable(input) ? standing.trusted : standing.trustedUncheckable;
}

/** Leases a volunteer that keeps handing work back (expiry, release) gets per call: it returned this many, more than it submitted. */
const RETURNS_TOLERATED = 8;
const RETURNS_BOUND = 256;

/**
 * How many more leases of this job `volunteer` may take now: never past the per-job cap, and one
 * at a time for a volunteer that lets more leases expire or releases more than it completes, so
 * identities that hoard and drop work cannot hold a job hostage.
 */
/** Leases `volunteer` holds in this job now (at most the per-job cap: counted with a bound). */
export function leasesHeld(store: JobStore, volunteer: string): number {
  return store.sql
    .exec<{ n: number }>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM replicas WHERE volunteer = ? AND state = ${REPLICA.leased} LIMIT ?)`,
      volunteer,
      LIMITS.leasesPerVolunteerPerJob,
    )
    .one().n;
}

export function leaseAllowance(store: JobStore, volunteer: string, max: number): number {
  // Counted with bounds, so the cost stays small however much a volunteer did in this job.
  const count = (states: readonly number[], bound: number) =>
    store.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM replicas WHERE volunteer = ? AND state IN (${states.join(",")}) LIMIT ?)`,
        volunteer,
        bound,
      )
      .one().n;
  const room = LIMITS.leasesPerVolunteerPerJob - count([REPLICA.leased], LIMITS.leasesPerVolunteerPerJob);
  const allowed = Math.max(0, Math.min(room, max));
  const returned = count([REPLICA.expired, REPLICA.released], RETURNS_BOUND);
  if (returned < RETURNS_TOLERATED) return allowed;
  const completed = count([REPLICA.submitted, REPLICA.rejected, REPLICA.superseded], RETURNS_BOUND);
  return returned > completed ? Math.min(allowed, 1) : allowed;
}

/** How long a stranger's uncheckable shard waits for a trusted volunteer to confirm it before anyone may. */
export const CONFIRM_HOLD_MS = 2000;

/** Share of leases that are ringers: higher for volunteers not yet trusted. */
export const RINGER_RATE = { new: 0.1, trusted: 0.05 } as const;

/** Ringers are drawn from this many of the newest verified shards, so they sit near the frontier. */
const RINGER_POOL = 32;

/**
 * Spot-checks: shards whose right output is known (the coordinator computed it, or independent
 * trusted volunteers confirmed it), re-issued as ordinary leases of the same job. They are drawn
 * from the newest such shards, near the shards being handed out now, so neither the shard id nor
 * the input gives them away; a lease of one is byte-for-byte the shape of any other lease.
 */
function pickRingers(store: JobStore, volunteer: string, max: number, trusted: boolean): number[] {
  const rate = trusted ? RINGER_RATE.trusted : RINGER_RATE.new;
  let wanted = 0;
  for (let i = 0; i < max; i++) if (Math.random() < rate) wanted++;
  if (!wanted) return [];
  const pool = store.sql
    .exec<{ idx: number }>(
      `SELECT idx FROM shards s WHERE verified = 1
         AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.idx = s.idx AND r.volunteer = ?)
       ORDER BY idx DESC LIMIT ?`,
      volunteer,
      RINGER_POOL,
    )
    .toArray()
    .map((r) => r.idx);
  const out: number[] = [];
  while (out.length < wanted && pool.length) out.push(pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!);
  return out;
}

/** Marks leases past their deadline expired and puts their shards back in the queue; returns how many. */
export function expireLeases(store: JobStore, now: number): number {
  const expired = store.sql
    .exec<{ lease: string; idx: number }>(
      `SELECT lease, idx FROM replicas WHERE state = ${REPLICA.leased} AND expires_at <= ? ORDER BY expires_at LIMIT 5000`,
      now,
    )
    .toArray();
  for (const { lease, idx } of expired) returnLease(store, lease, idx, REPLICA.expired);
  return expired.length;
}

/** Ends a lease without output (expired or released) and re-queues its replica. */
export function returnLease(store: JobStore, lease: string, idx: number, state: number): void {
  const ringer = store.sql.exec<{ ringer: number }>("SELECT ringer FROM replicas WHERE lease = ?", lease).one().ringer;
  store.sql.exec("UPDATE replicas SET state = ? WHERE lease = ?", state, lease);
  if (ringer) return;
  store.sql.exec(
    `UPDATE shards SET active = active - 1, deficit = deficit + (CASE WHEN state = ${SHARD.open} THEN 1 ELSE 0 END) WHERE idx = ?`,
    idx,
  );
}

/** Expired and released leases are kept this long (to answer 410 for them), then compacted away. */
export const RETURNED_KEPT_MS = 24 * 60 * 60 * 1000;

/** Deletes a bounded batch of leases that ended without output more than a day ago; returns how many. */
export function compactReturned(store: JobStore, now: number): number {
  return store.sql.exec(
    `DELETE FROM replicas WHERE lease IN (SELECT lease FROM replicas WHERE state IN (${REPLICA.expired}, ${REPLICA.released}) AND expires_at < ? LIMIT 1000)`,
    now - RETURNED_KEPT_MS,
  ).rowsWritten;
}

/** Earliest deadline of any outstanding lease, if any. */
export function nextExpiry(store: JobStore): number | undefined {
  const row = store.sql
    .exec<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM replicas WHERE state = ${REPLICA.leased}`)
    .toArray()[0];
  return row?.at ?? undefined;
}
