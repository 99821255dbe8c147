import { LIMITS } from "../../shared/limits.ts";
import { canonicalJson } from "../../shared/canonical.ts";
import { MergeConflict } from "../../shared/reduce.ts";
import type { Standing } from "../objects/volunteer-object.ts";
import type { Failure } from "../errors.ts";
import { fail } from "../errors.ts";
import { shardOfLease } from "../ids.ts";
import type { Accumulator } from "./accumulator.ts";
import type { JobKernel } from "./kernel.ts";
import { decide, type Decision } from "./quorum.ts";
import type { WaitingOutput } from "./shard-table.ts";
import type { ReplicaRow, SubmittedOutput } from "./replica-table.ts";
import type { JobStore } from "./store.ts";
import { REPLICA, SHARD } from "./tables.ts";

/**
 * An output already validated and hashed (hashing is async, so it happens first). A kernel
 * failure is recorded like an output: `text` holds `{"error": {"message"}}` and `hash` is
 * {@link ERROR_HASH}, so independent volunteers reporting failure agree whatever their messages.
 */
export interface PreparedOutput {
  text: string;
  hash: string;
}

/** The hash every kernel failure carries. */
export const ERROR_HASH = "kernel-error";
/** Voting rounds a shard gets before it fails for want of quorum (each round with fresh volunteers). */
export const MAX_ROUNDS = 3;

/** What one recorded output changed, for stats, reputation and notifications. */
export interface Effect {
  /** The shard's class of work: the coordinator cannot recompute it. */
  uncheckable: boolean;
  /**
   * `independent`: the output was confirmed by someone other than its own volunteer (another
   * volunteer's agreeing output, or the coordinator's own computation). Only then does the
   * acceptance count toward trust: a lone output a job took on its volunteer's word alone (a
   * `quorum: 1` job, a trusted volunteer's unaudited result) proves nothing about that volunteer.
   */
  accepted?: { idx: number; agreeing: string[]; independent: boolean };
  failed?: { idx: number; reason: string };
  ringer?: { passed: boolean };
  /** Volunteers whose output the coordinator proved wrong. */
  proven?: string[];
  /** Volunteers whose output lost the vote (no proof: a reputation cost, not a ban). */
  outvoted?: string[];
  /** Shards the coordinator computed itself for this output (arbitration, confirmation or spot-check). */
  checks?: number;
  /** The coordinator computed the shard and found this volunteer's lone output right. */
  confirmed?: boolean;
}

/** Chance that a trusted volunteer's lone result is audited with a second replica anyway. */
export const AUDIT_RATE = 0.2;
/** Chance that the coordinator checks an accepted output itself (this also stocks ringers). */
export const VERIFY_RATE = 0.03;
/** The first accepted shards of every adaptive job are always checked, so ringers exist early. */
export const VERIFY_FIRST = 3;

/**
 * The lease `volunteer` holds and may still use now (submit, heartbeat, release, read its input),
 * in one read, or the failure the contract answers: 404, 403 (another's lease, or a blacklisted
 * volunteer), 409 (already submitted) or 410 (job cancelled or failed, lease released or expired).
 */
export function heldLease(store: JobStore, volunteer: string, lease: string, now: number): ReplicaRow | Failure {
  const row = store.replicas.getChecked(lease);
  const meta = store.meta!;
  if (!row) return fail(404, "lease_not_found", `no lease ${lease}`);
  if (row.volunteer !== volunteer) return fail(403, "forbidden", "this lease belongs to another volunteer");
  // A superseded lease was used too: its vote belonged to a round discarded for want of quorum,
  // and voting again through it would slip the same volunteer into the fresh round.
  if (row.state === REPLICA.submitted || row.state === REPLICA.superseded) {
    return fail(409, "already_submitted", "a result for this lease was already submitted");
  }
  if (row.state === REPLICA.rejected || row.banned === 1) return fail(403, "volunteer_blacklisted", "this volunteer's results are no longer accepted");
  if (meta.state === "cancelled") return fail(410, "job_cancelled", "the job was cancelled");
  if (meta.state === "failed") return fail(410, "job_failed", "the job failed");
  if (row.state === REPLICA.released) return fail(410, "lease_released", "this lease was released");
  if (row.state === REPLICA.expired || row.expires_at <= now) return fail(410, "lease_expired", "this lease expired");
  return row;
}

/** The coordinator's own output for a shard as canonical JSON, or undefined when it may not compute it. */
export type Checker = (idx: number) => string | undefined;

/**
 * A checker that computes at most `budget` shards, and only those the kernel calls cheap, so no
 * request (and no backtracking step) can make the job's object run long. Past that, callers fall
 * back to issuing more replicas, as plain voting does.
 */
export function checker(store: JobStore, kernel: JobKernel, budget: number, texts?: ReadonlyMap<number, string>): Checker {
  let left = budget;
  return (idx) => {
    let input = store.input(idx);
    if (left <= 0 || !kernel.checkable(input)) return undefined;
    // A dataset shard is checked on the very bytes volunteers read, fetched before this atomic step.
    if (store.meta!.dataset) {
      const text = texts?.get(idx);
      if (text === undefined) return undefined;
      input = { ...(input as object), text };
    }
    left--;
    let text: string;
    try {
      text = canonicalJson(kernel.compute(input, store.meta!.params));
    } catch {
      // The kernel refuses this input (records.aggregate past its group bound, say): the coordinator
      // cannot check it, and volunteers' outputs are judged by replicas instead, as past the budget.
      return undefined;
    }
    // An output no volunteer may send (over the contract's size) proves nothing: volunteers then
    // report the kernel's failure, and those failures are judged by replicas, not refused here.
    return text.length > LIMITS.outputBytes ? undefined : text;
  };
}

/**
 * Rejects the submitted outputs of `idx` that differ from the coordinator's own `truthText` (proof);
 * returns their volunteers. Kernel failures are spared: the kernel running here does not prove it
 * could run there (a slow machine times out honestly). {@link refuseFailures} outvotes them.
 */
export const rejectWrong = (store: JobStore, idx: number, truthText: string) => store.replicas.rejectDiffering(idx, "output", truthText, ERROR_HASH);

/** Rejects the kernel failures reported for `idx`, once the kernel ran on it here: outvoted, never proof. */
const refuseFailures = (store: JobStore, idx: number) => store.replicas.rejectWithHash(idx, ERROR_HASH);

/** Rejects the submitted outputs of `idx` that lost the vote to `hash` (no proof); returns their volunteers. */
const outvote = (store: JobStore, idx: number, hash: string) => store.replicas.rejectDiffering(idx, "hash", hash);

/**
 * The hash an output is grouped under. Without a tolerance it is its own; with one (`compare`),
 * it joins the first output of this shard it agrees with, so every rule below, which groups
 * by hash, treats agreeing outputs as one.
 */
function classify(store: JobStore, kernel: JobKernel, idx: number, out: PreparedOutput): string {
  if (out.hash === ERROR_HASH || !kernel.compare) return out.hash;
  const known = store.replicas.distinctOutputs(idx, ERROR_HASH);
  return known.find((k) => kernel.agrees(k.output, out.text))?.hash ?? out.hash;
}

/** Fails a shard for good: it no longer holds up the job, which reports it (and ends `failed`). */
function failShard(store: JobStore, idx: number, reason: string, now: number): Effect["failed"] {
  const meta = store.meta!;
  store.shards.fail(idx, reason);
  store.saveMeta({ ...meta, failed: meta.failed + 1, ...(meta.error === undefined && { error: reason }), updatedAt: now });
  return { idx, reason };
}

/** How a result is stored and judged: its class of work, its volunteer's standing on that class, and the hash it groups under. */
interface Judged {
  uncheckable: boolean;
  trusted: boolean;
  /** 0 untrusted, 1 trusted on other work, 2 trusted on this class of work (the replica's `standing`). */
  level: number;
  hash: string;
}

function judged(store: JobStore, kernel: JobKernel, idx: number, out: PreparedOutput, standing: Standing): Judged {
  const uncheckable = !kernel.checkable(store.input(idx));
  const trusted = uncheckable ? standing.trustedUncheckable : standing.trusted;
  const level = trusted ? 2 : standing.trusted || standing.trustedUncheckable ? 1 : 0;
  return { uncheckable, trusted, level, hash: classify(store, kernel, idx, out) };
}

/**
 * Records a submitted output (or kernel failure) for a checked lease and applies the verification
 * policy to its shard: accept (fold into the result), issue more replicas, start a fresh voting
 * round, or fail the shard alone. Adaptive jobs also audit trusted volunteers, arbitrate
 * disagreements by computing checkable shards, and spot-check accepted outputs. Synchronous: one
 * atomic step.
 */
function recordOutput(
  store: JobStore,
  kernel: JobKernel,
  acc: Accumulator,
  check: Checker,
  /** The lease's row, read in this same step (checked by `heldLease` for a volunteer's result). */
  row: ReplicaRow,
  out: PreparedOutput,
  now: number,
  standing: Standing,
  /** The audit roll (uniform in [0, 1)): rolled by the caller, which may need to know it first. */
  roll: number = Math.random(),
): Effect {
  const j = judged(store, kernel, row.idx, out, standing);
  // A ringer's output is judged by its hash at once; its text is never needed.
  store.replicas.submit(row.lease, j.hash, row.ringer ? null : out.text, now, j.level);
  return settle(store, acc, check, row, out, j, now, roll);
}

/**
 * A volunteer's result for `leaseId`, recorded as {@link recordOutput} records it when the lease is
 * one `volunteer` holds and may use now, or the failure {@link heldLease} answers. The usual case
 * (a held lease) checks and stores in one statement: the checks `heldLease` makes that let a
 * result through are the update's own conditions. Anything else reads the lease with every check.
 */
export function recordHeldOutput(
  store: JobStore,
  kernel: JobKernel,
  acc: Accumulator,
  check: Checker,
  volunteer: string,
  leaseId: string,
  out: PreparedOutput,
  now: number,
  standing: Standing,
  roll: number,
): Effect | Failure {
  const { state, total } = store.meta!;
  // The id names its shard; the update also requires the row's to be that one. A made-up id may
  // name any number: only a shard of this job has an input to judge by.
  const idx = shardOfLease(leaseId);
  if (idx !== undefined && idx < total && state !== "cancelled" && state !== "failed") {
    const j = judged(store, kernel, idx, out, standing);
    const row = store.replicas.submitHeld(leaseId, idx, volunteer, now, j.hash, out.text, j.level);
    if (row) return settle(store, acc, check, row, out, j, now, roll);
  }
  const row = heldLease(store, volunteer, leaseId, now);
  return "ok" in row ? row : recordOutput(store, kernel, acc, check, row, out, now, standing, roll);
}

/** The verification policy for an output just stored for `row` (see {@link recordOutput}). */
function settle(store: JobStore, acc: Accumulator, check: Checker, row: ReplicaRow, out: PreparedOutput, j: Judged, now: number, roll: number): Effect {
  const { uncheckable, trusted, level, hash } = j;
  const lease = row.lease;
  const effect: Effect = { uncheckable };
  if (row.ringer) {
    // A kernel failure on a ringer proves nothing either way (a slow machine times out honestly).
    if (hash === ERROR_HASH) return effect;
    const source = store.shards.get(row.idx)!;
    return { ...effect, ringer: { passed: source.verified === 1 && hash === source.accepted_hash } };
  }
  let { shard, groups } = store.shards.submitted(row.idx);
  if (shard.state !== SHARD.open) {
    // A late replica of a settled shard that disagrees with the accepted output lost the vote.
    const lost = shard.state === SHARD.accepted && hash !== shard.accepted_hash;
    return lost ? { ...effect, outvoted: outvote(store, row.idx, shard.accepted_hash!) } : effect;
  }

  const meta = store.meta!;
  // Outputs that disagree, or a kernel failure alone: the coordinator computes the shard when it
  // can. Wrong outputs are then proven wrong; failures are refused (outvoted) since the kernel
  // runs, and the shard waits for another volunteer. So no two volunteers can fail a shard the
  // coordinator computes by both claiming the kernel failed.
  const arbiter = meta.adaptive && (groups.length > 1 || hash === ERROR_HASH) ? check(row.idx) : undefined;
  if (arbiter !== undefined) {
    const proven = rejectWrong(store, row.idx, arbiter);
    if (proven.length) effect.proven = proven;
    const refused = refuseFailures(store, row.idx);
    if (refused.length) effect.outvoted = refused;
    effect.checks = 1;
    groups = store.replicas.groups(row.idx);
  }
  let need = shard.need ?? meta.quorum;
  const lone = groups.length === 1 && groups[0]!.count === 1;
  // A failure needs an independent volunteer to confirm it, whatever the job's quorum: the next
  // volunteer may well compute the shard. A stranger's lone output too, and some trusted ones (audits).
  const confirm = hash === ERROR_HASH ? need < 2 : meta.adaptive && need === 1 && lone && (!trusted || roll < AUDIT_RATE);
  if (confirm) {
    need = 2;
    store.shards.require(row.idx, 2);
  }
  // A newcomer's lone output on a shard the coordinator can compute: confirm it here rather than
  // wait for a second volunteer (who may not exist), within the request's budget.
  let confirmed = false;
  if (meta.adaptive && need >= 2 && lone && hash !== ERROR_HASH && arbiter === undefined) {
    const truth = check(row.idx);
    if (truth !== undefined) {
      effect.checks = (effect.checks ?? 0) + 1;
      if (truth === out.text) confirmed = true;
      else {
        effect.proven = [...(effect.proven ?? []), ...rejectWrong(store, row.idx, truth)];
        groups = store.replicas.groups(row.idx);
      }
    }
  }
  // The shard as stored now: the rules since it was read changed only, for a confirmation, its need.
  if (confirm) shard = { ...shard, need: 2 };
  const maxReplicas = Math.max(meta.maxReplicas, need);
  const decision: Decision = confirmed ? { kind: "accept", hash } : decide({ groups, quorum: need, maxReplicas, active: shard.active, deficit: shard.deficit });
  if (decision.kind === "wait") {
    if (decision.addDeficit > 0) store.shards.addDeficit(row.idx, decision.addDeficit);
    return effect;
  }
  if (decision.kind === "fail") {
    if (shard.rounds + 1 >= MAX_ROUNDS) {
      return { ...effect, failed: failShard(store, row.idx, `shard ${row.idx}: ${decision.reason} in ${MAX_ROUNDS} rounds`, now) };
    }
    // No quorum this round: discard it and vote again among volunteers who have not seen the shard.
    store.replicas.supersede(row.idx);
    store.shards.newRound(row.idx, need);
    return effect;
  }

  // This output alone decided (quorum 1, or confirmed by the coordinator): no other output to
  // outvote, and the agreeing outputs are this one, so none of them needs reading back.
  const alone = groups.length === 1 && groups[0]!.count === 1 && groups[0]!.hash === hash && decision.hash === hash;
  const outvoted = alone ? [] : outvote(store, row.idx, decision.hash);
  if (outvoted.length) effect.outvoted = [...(effect.outvoted ?? []), ...outvoted];
  const output = alone ? out.text : store.replicas.firstSubmitted(row.idx, decision.hash);
  const agreeing: SubmittedOutput[] = alone ? [{ lease, volunteer: row.volunteer, standing: level }] : store.replicas.agreeing(row.idx, decision.hash);
  if (decision.hash === ERROR_HASH) {
    // Independent volunteers agree that the kernel fails on this shard: it fails, and says why.
    const message = (JSON.parse(output) as { error: { message: string } }).error.message;
    return { ...effect, failed: failShard(store, row.idx, `shard ${row.idx}: ${message}`, now) };
  }

  let verified = confirmed;
  if (confirmed) effect.confirmed = true;
  const spotCheck = !confirmed && meta.adaptive && (meta.seq < VERIFY_FIRST || Math.random() < VERIFY_RATE);
  const right = spotCheck ? check(row.idx) : undefined;
  if (right !== undefined) {
    effect.checks = (effect.checks ?? 0) + 1;
    if (right !== output) {
      // Colluders agreed on a wrong output: reject them all and start the shard afresh.
      const proven = rejectWrong(store, row.idx, right);
      store.shards.require(row.idx, 2, 2);
      return { ...effect, proven: [...(effect.proven ?? []), ...proven] };
    }
    verified = true;
  } else if (uncheckable && agreeing.filter((a) => a.standing > 0).length >= 2) {
    // Confirmed by independent volunteers each trusted on some work: a ringer source for uncheckable work.
    verified = true;
  }
  const seq = meta.seq + 1;
  const done = meta.done + 1;
  let accSeq: number;
  try {
    accSeq = acc.add(output, row.idx, seq, done + meta.failed >= meta.total);
  } catch (err) {
    // Any failure of the merge is a conflict (see Accumulator): this shard fails alone, saying why.
    // Anything else (reading the checkpoint, say) goes on up and resets the object: see JobObject.#step.
    if (!(err instanceof MergeConflict)) throw err;
    acc.forget();
    return { ...effect, failed: failShard(store, row.idx, `shard ${row.idx}: ${err.message}`, now) };
  }
  store.shards.accept(row.idx, decision.hash, seq, verified);
  // The checkpoint (if the merge wrote one) and the acceptance are saved in this one step.
  store.saveMeta({ ...store.meta!, done, seq, accSeq, updatedAt: now });
  const independent = agreeing.length >= 2 || right !== undefined || confirmed;
  return { ...effect, accepted: { idx: row.idx, agreeing: agreeing.map((a) => a.volunteer), independent } };
}

/**
 * Judges again a lone output that waited for a confirmation the coordinator can give itself (a
 * dataset shard read later, job/dataset-checks.ts), as if it had just arrived: its lease counts as
 * out again and the output is recorded anew with the standing it was submitted with, never
 * audited. Undefined when the shard moved on meanwhile. Synchronous: one atomic step.
 */
export function confirmLone(store: JobStore, kernel: JobKernel, acc: Accumulator, check: Checker, w: WaitingOutput, now: number): Effect | undefined {
  const row = store.replicas.get(w.lease);
  const shard = store.shards.get(w.idx);
  if (row?.state !== REPLICA.submitted || shard?.state !== SHARD.open || shard.active !== 0) return undefined;
  store.replicas.setState(w.lease, REPLICA.leased);
  store.shards.resumed(w.idx);
  const standing: Standing = { trusted: w.standing === 2, trustedUncheckable: w.standing >= 1 };
  return recordOutput(store, kernel, acc, check, row, { text: w.output, hash: w.hash }, now, standing, 1);
}
