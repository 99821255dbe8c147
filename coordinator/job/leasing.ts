import { LIMITS } from "../../shared/limits.ts";
import type { Lease } from "../../shared/schemas.ts";
import type { Standing } from "../objects/volunteer-object.ts";
import type { JobKernel } from "./kernel.ts";
import type { OutstandingLease, ReplicaState } from "./replica-table.ts";
import type { FreshShard } from "./shard-table.ts";
import type { JobStore } from "./store.ts";
import { REPLICA } from "./tables.ts";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Random opaque suffix for lease ids: 12 base64url characters, 72 random bits (each from one
 * random byte's low 6 bits: 256 is a multiple of 64, so every character is equally likely).
 */
export function nonce(): string {
  let text = "";
  for (const b of crypto.getRandomValues(new Uint8Array(12))) text += BASE64URL[b & 63];
  return text;
}

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
  const picked: number[] = store.shards.wanting(volunteer, max - ringers.length, now, trustedAnywhere);
  for (const idx of picked) {
    store.shards.leased(idx);
  }
  let next = meta.next;
  const fresh: FreshShard[] = [];
  while (picked.length + ringers.length < max && next < meta.total) {
    // Adaptive jobs: a volunteer trusted on this class of work starts a shard with one replica
    // (audits add more later); anyone else's starts with two: a stranger's lone result is never enough.
    const input = store.input(next);
    const trusted = trustedFor(kernel, input, standing);
    // A stranger's shard the coordinator can compute gets no second replica up front: its result is
    // confirmed on arrival (a replica is issued only if the check budget is spent).
    const checkable = kernel.checkable(input);
    const [deficit, need] = meta.adaptive ? (trusted ? [0, 1] : [checkable ? 0 : 1, 2]) : [meta.replicas - 1, null];
    const holdUntil = meta.adaptive && !trustedAnywhere && !checkable ? now + CONFIRM_HOLD_MS : null;
    fresh.push({ idx: next, deficit, need, holdUntil });
    picked.push(next++);
  }
  store.shards.start(fresh);
  if (next !== meta.next) store.advance(next);

  // Ringers go anywhere in the batch, so their position gives nothing away either.
  const order = [...picked.map((idx) => ({ idx, ringer: false })), ...ringers.map((idx) => ({ idx, ringer: true }))];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const issued = order.map(({ idx, ringer }) => ({ lease: `${meta.id}.${idx}.${nonce()}`, idx, ringer }));
  store.replicas.lease(volunteer, expiresAt, now + LIMITS.leaseHardTtls * meta.leaseTtlMs, issued);
  return issued.map(({ lease: id, idx }) => ({
    id,
    jobId: meta.id,
    shardId: String(idx),
    kernel: meta.kernel,
    params: meta.params,
    input: store.input(idx),
    expiresAt,
    ...(meta.published && { module: { language: meta.published.language, url: `/v1/kernels/${meta.kernel}/module`, sha256: meta.published.sha256 } }),
    ...(meta.dataset && { inputUrl: `/v1/leases/${id}/input` }),
  }));
}

/** Whether `standing` lets a volunteer's lone result count for this input's class of work. */
export function trustedFor(kernel: JobKernel, input: unknown, standing: Standing): boolean {
  return kernel.checkable(input) ? standing.trusted : standing.trustedUncheckable;
}

/** Leases a volunteer that keeps handing work back (expiry, release) gets per call: it returned this many, more than it submitted. */
const RETURNS_TOLERATED = 8;
const RETURNS_BOUND = 256;
/**
 * Leases one volunteer handed back that a job keeps (to answer 410 for them; older ones go at
 * once, not after a day): a volunteer leasing and releasing in a loop cannot grow the job's storage.
 */
export const RETURNED_KEPT_PER_VOLUNTEER = RETURNS_BOUND;

/**
 * Whether `volunteer` may lease here now, the leases of this job it holds, and how many more
 * (of `max`) it may take: never past the per-job cap, and one at a time for a volunteer that lets
 * more leases expire or releases more than it completes, so identities that hoard and drop work
 * cannot hold a job hostage. One read for the usual case, a second only for a volunteer that
 * handed many back.
 */
export function leaseAllowance(store: JobStore, volunteer: string, max: number): { banned: boolean; held: number; allowed: number } {
  const { banned, held, returned } = store.leasingView(volunteer, LIMITS.leasesPerVolunteerPerJob, RETURNS_BOUND);
  const allowed = Math.max(0, Math.min(LIMITS.leasesPerVolunteerPerJob - held, max));
  if (banned || returned < RETURNS_TOLERATED) return { banned, held, allowed };
  // As many handed back as the count goes (returns are kept a day): one at a time, whatever it
  // completed before, or finishing work early would buy the right to hoard later.
  if (returned >= RETURNS_BOUND) return { banned, held, allowed: Math.min(allowed, 1) };
  // Counted with a bound, so the cost stays small however much a volunteer did in this job.
  const completed = store.replicas.countOf(volunteer, [REPLICA.submitted, REPLICA.rejected, REPLICA.superseded], RETURNS_BOUND);
  return { banned, held, allowed: returned > completed ? Math.min(allowed, 1) : allowed };
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
  const pool = store.shards.verifiedUnseenBy(volunteer, RINGER_POOL);
  const out: number[] = [];
  while (out.length < wanted && pool.length) out.push(pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!);
  return out;
}

/** Marks leases past their deadline expired and puts their shards back in the queue; returns how many. */
export function expireLeases(store: JobStore, now: number): number {
  const expired = store.replicas.overdue(now, 5000);
  for (const lease of expired) returnLease(store, lease, REPLICA.expired);
  // As on release: a volunteer that lets leases expire in a loop keeps only its newest ones here.
  for (const volunteer of new Set(expired.map((l) => l.volunteer))) store.replicas.pruneReturnedOf(volunteer, RETURNED_KEPT_PER_VOLUNTEER);
  return expired.length;
}

/** Its holder hands a lease back: re-queued, and the volunteer keeps only its newest returned leases here. */
export function releaseLease(store: JobStore, lease: OutstandingLease & { volunteer: string }): void {
  returnLease(store, lease, REPLICA.released);
  store.replicas.pruneReturnedOf(lease.volunteer, RETURNED_KEPT_PER_VOLUNTEER);
}

/** Ends a lease without output (expired or released) and re-queues its replica. */
export function returnLease(store: JobStore, { lease, idx, ringer }: OutstandingLease, state: ReplicaState): void {
  store.replicas.setState(lease, state);
  // A ringer is a spot-check, not one of the shard's replicas: nothing to issue again.
  if (!ringer) store.shards.returned(idx);
}

/** Expired and released leases are kept this long (to answer 410 for them), then compacted away. */
export const RETURNED_KEPT_MS = 24 * 60 * 60 * 1000;

/** Deletes a bounded batch of leases that ended without output more than a day ago; returns how many. */
export function compactReturned(store: JobStore, now: number): number {
  return store.replicas.deleteReturned(now - RETURNED_KEPT_MS, 1000);
}
