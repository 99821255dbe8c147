import { DurableObject } from "cloudflare:workers";
import { canonicalJson, sha256Hex } from "../../shared/canonical.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { BatchResultEntry, JobStatus, KernelFailure, Lease } from "../../shared/schemas.ts";
import type { Standing } from "./volunteer-object.ts";
import type { RunningJob } from "./grid-object.ts";
import { jobKernel, type JobKernel } from "../job/kernel.ts";
import { fail, type Failure, type Outcome } from "../errors.ts";
import { gridStub, submitterStub, volunteerStub } from "../stubs.ts";
import { Accumulator } from "../job/accumulator.ts";
import { Alarm, ANNOUNCE_MS, nextWake } from "../job/alarm.ts";
import { compactReturned, expireLeases, issueLeases, leaseAllowance, releaseLease } from "../job/leasing.ts";
import { datasetInput, type JobMeta } from "../job/meta.ts";
import { missingJob, retainedUntil, retentionDays } from "../job/retention.ts";
import type { StoredDataset } from "../datasets/lines.ts";
import { JobStore } from "../job/store.ts";
import type { ReplicaRow } from "../job/replica-table.ts";
import { checker, confirmLone, ERROR_HASH, heldLease, recordHeldOutput, type Effect, type PreparedOutput } from "../job/verify.ts";
import { DatasetChecks } from "../job/dataset-checks.ts";
import { StatsOutbox } from "../job/stats-outbox.ts";
import { VolunteerRecords } from "../job/volunteer-records.ts";
import { ReputationOutbox } from "../job/reputation-outbox.ts";
import { backtrack } from "../job/backtrack.ts";
import { EventHub } from "../job/event-hub.ts";
import { deliver } from "../job/webhook.ts";
import { listShards, toStatus, type ShardView } from "../job/status.ts";
import { describeError, log } from "../observe/log.ts";

/** Most shards the coordinator computes itself while handling one result batch: a whole batch (checkable shards are cheap by definition). */
const SUBMIT_CHECKS = LIMITS.resultsPerCall;
/**
 * Shards the coordinator recomputes itself in one backtrack. A checkable shard costs up to about
 * 165 ms (a 5,000,000-number primes span), so 32 stay within a few seconds of CPU; shards past
 * the budget are reopened for a fresh quorum instead, which is as safe and costs volunteers' time.
 */
const BACKTRACK_CHECKS = 32;
/**
 * A job's object may hold 10 GB (Durable Object SQLite limit). Well before that, a running job
 * fails cleanly, keeping its status and what it merged, rather than wedging on a full store.
 * Storage per shard is bounded (LIMITS.outputBytes per kept output, replicas per shard capped,
 * returned rows compacted), so a job reaches this only through outputs near the output cap on
 * very many shards.
 */
export const JOB_STORAGE_MAX_BYTES = 8 * 1024 ** 3;

const UNTRUSTED: Standing = { trusted: false, trustedUncheckable: false };

/** The job as the grid's running list holds it. */
const runningJob = (meta: JobMeta): RunningJob => ({
  id: meta.id,
  owner: meta.owner,
  priority: meta.priority ?? 0,
  createdAt: meta.createdAt,
  shards: meta.total,
});

/** One submitted result: the kernel's output, or its failure. */
export interface SubmittedItem {
  leaseId: string;
  output?: unknown;
  error?: KernelFailure;
}

/** One job: its shards, leases, replica outputs and merged result, in this object's SQLite. */
export class JobObject extends DurableObject<Env> {
  store: JobStore;
  #acc: Accumulator | undefined;
  #k: JobKernel | undefined;
  readonly #stats = new StatsOutbox(() => (this.store.meta ? this.store : undefined));
  readonly #reputation = new ReputationOutbox(() => (this.store.meta ? this.store.outboxes : undefined));
  readonly #records = new VolunteerRecords({
    store: () => this.store,
    env: this.env,
    waitUntil: (work) => this.ctx.waitUntil(work),
    schedule: () => this.#schedule(),
    backtrack: (volunteer) => this.backtrack(volunteer),
    blacklisted: () => this.#stats.count("volunteersBlacklisted"),
  });
  readonly #datasets: DatasetChecks;
  /** When this running job last re-announced itself to the grid. */
  #announcedAt = Date.now();
  readonly #alarm: Alarm;
  readonly #events: EventHub;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new JobStore(ctx.storage.sql);
    this.#alarm = new Alarm(ctx.storage);
    this.#datasets = new DatasetChecks(() => this.store, env.BLOBS);
    this.#events = new EventHub(() => ({ status: this.#status(), version: this.store.meta!.version ?? 0 }));
    this.store.onChange = (stateChanged) => this.#events.changed(stateChanged);
  }

  /** The job's status as Server-Sent Events for its owner (a 429 answer when too many are open). */
  async events(owner: string, lastEventId?: string): Promise<Outcome<{ response: Response }>> {
    if (!this.#owned(owner)) return this.#missing(owner);
    return { ok: true, response: this.#events.open(lastEventId) };
  }

  /** The contract's status, with the shards that wait for a second volunteer. */
  #status(): JobStatus {
    return toStatus(this.store.meta!, this.store.awaitingConfirmation());
  }

  get #kernel(): JobKernel {
    return (this.#k ??= jobKernel(this.store.meta!));
  }

  get #accumulator(): Accumulator {
    return (this.#acc ??= new Accumulator(this.store, this.#kernel));
  }

  #owned(owner: string): JobMeta | undefined {
    const meta = this.store.meta;
    return meta && meta.owner === owner ? meta : undefined;
  }

  #missing(owner: string): Failure {
    return missingJob(this.store, owner, retentionDays(this.env));
  }

  #retainedUntil(): number | undefined {
    return retainedUntil(this.store.meta, retentionDays(this.env));
  }

  /**
   * Deletes a finished job past its retention once nothing is owed any more (webhook, catches,
   * contribution reports), leaving a tombstone so its owner is told 410 rather than 404.
   */
  async #expire(now: number): Promise<boolean> {
    const until = this.#retainedUntil();
    const meta = this.store.meta;
    if (!meta || until === undefined || now < until || meta.notify?.state === "pending") return false;
    if (this.store.volunteers.owed()) return false;
    await this.ctx.storage.deleteAll();
    this.store.bury(meta.owner, now);
    this.store = new JobStore(this.ctx.storage.sql);
    this.#acc = undefined;
    this.#k = undefined;
    this.#alarm.unset();
    return true;
  }

  /** Creates the job (inputs: JSON text of each explicit shard; quoted: a CSV dataset's quoted newlines). */
  async create(meta: JobMeta, inputs?: string[], quoted?: number[]): Promise<JobStatus> {
    if (this.store.meta) throw new Error(`job ${meta.id} exists already`);
    this.store.init();
    this.store.saveInputs(inputs, quoted);
    this.store.saveMeta(meta);
    if (meta.total === 0) this.#finish(meta.createdAt);
    else {
      // The job announces itself from its own alarm too: should the caller's announcement fail,
      // volunteers are still sent here within a moment.
      this.#announcedAt = 0;
      await this.#schedule();
    }
    return this.#status();
  }

  async status(owner: string): Promise<Outcome<{ status: JobStatus }>> {
    const meta = this.#owned(owner);
    return meta ? { ok: true, status: this.#status() } : this.#missing(owner);
  }

  async result(owner: string): Promise<Outcome<{ result: unknown }>> {
    const meta = this.#owned(owner);
    if (!meta) return this.#missing(owner);
    if (meta.state !== "done") return fail(409, "job_not_done", `job is ${meta.state}; its result exists once it is done`);
    return { ok: true, result: this.#accumulator.result };
  }

  /** Materialised shards after index `after`, with their accepted outputs. */
  async shards(owner: string, after: number, limit: number): Promise<Outcome<{ shards: ShardView[] }>> {
    if (!this.#owned(owner)) return this.#missing(owner);
    return { ok: true, shards: listShards(this.store, after, limit) };
  }

  async cancel(owner: string): Promise<Outcome<{ status: JobStatus }>> {
    const meta = this.#owned(owner);
    if (!meta) return this.#missing(owner);
    if (meta.state === "running") {
      const now = Date.now();
      this.store.saveMeta({ ...meta, state: "cancelled", updatedAt: now });
      this.#ended();
      await this.#ending;
    } else if (meta.state !== "cancelled") {
      return fail(409, "job_finished", `job is already ${meta.state}`);
    }
    return { ok: true, status: this.#status() };
  }

  /** Leases up to `max` shards to `volunteer`; `available` says whether this job may still have work. */
  async lease(
    volunteer: string,
    max: number,
    standing: Standing = UNTRUSTED,
  ): Promise<{ leases: Lease[]; available: boolean; running: boolean; held?: number }> {
    const meta = this.store.meta;
    if (meta?.state !== "running") return { leases: [], available: false, running: false };
    const { banned, held, allowed } = leaseAllowance(this.store, volunteer, max);
    if (banned) return { leases: [], available: this.store.hasWork(), running: true };
    if (max <= 0) return { leases: [], available: this.store.hasWork(), running: true, held };
    const leases = allowed > 0 ? this.#step(() => issueLeases(this.store, this.#kernel, volunteer, allowed, Date.now(), standing)) : [];
    if (leases.length) {
      this.#stats.seen(volunteer);
      this.#stats.count("leasesIssued", leases.length);
      await this.#schedule({ leaseExpiry: leases[0]!.expiresAt });
    }
    // Every lease just issued is held: no need to count again.
    return { leases, available: this.store.hasWork(), running: true, held: held + leases.length };
  }

  /** Several volunteers' lease calls in one (a gateway's batch), each answered exactly as `lease` answers it alone, in turn. */
  async leaseMany(calls: { volunteer: string; max: number; standing: Standing }[]): Promise<Awaited<ReturnType<JobObject["lease"]>>[]> {
    const out = [];
    for (const c of calls) out.push(await this.lease(c.volunteer, c.max, c.standing));
    return out;
  }

  /** Several volunteers' result batches in one (a gateway's batch), each answered as `submit` answers it alone. */
  async submitMany(calls: { volunteer: string; items: SubmittedItem[]; standing: Standing }[]): Promise<BatchResultEntry[][]> {
    return Promise.all(
      calls.map((c) =>
        this.submit(c.volunteer, c.items, c.standing).catch((err) => {
          // A failure before the atomic step (reading a dataset's bytes, say) answers that volunteer's
          // entries only, never the rest of the batch; one inside it resets the object (see #step).
          log("error", "submitting a result batch failed", { jobId: this.store.meta?.id, volunteerId: c.volunteer, ...describeError(err) });
          return c.items.map((i) => ({ leaseId: i.leaseId, status: 500, error: { code: "internal", message: "internal error" } }));
        }),
      ),
    );
  }

  /** Records outputs for this job's leases; one entry per item, in order. */
  async submit(volunteer: string, items: SubmittedItem[], standing: Standing = UNTRUSTED): Promise<BatchResultEntry[]> {
    const meta = this.store.meta;
    if (!meta) return items.map((i) => entry(i.leaseId, notFoundLease(i.leaseId)));
    // Validate and hash first: hashing awaits, and everything after it must run as one atomic step.
    const rolls = items.map(() => Math.random());
    const prepared = await Promise.all(items.map((i) => this.#prepare(i)));
    // Dataset bytes to check with are read only for outputs that passed validation: a refused
    // output, however often it is sent, costs no storage read.
    const texts = await this.#datasets.forBatch(
      this.#kernel,
      volunteer,
      items.map((item, n) => ("ok" in prepared[n]! ? undefined : item)),
      standing,
      rolls,
    );
    const now = Date.now();
    let results = 0;
    let checks = 0;
    const check = checker(this.store, this.#kernel, SUBMIT_CHECKS, texts);
    // One atomic step, writing the rows each accepted shard changes once however many it accepts.
    const entries = this.#step(() =>
      this.store.batch(() => {
        const answered = items.map((item, n): BatchResultEntry => {
          const out = prepared[n]!;
          if ("ok" in out) {
            // The lease's own failure comes first: an output is judged only on a lease that may bring one.
            const row = heldLease(this.store, volunteer, item.leaseId, now);
            return entry(item.leaseId, "ok" in row ? row : out);
          }
          const effect = recordHeldOutput(this.store, this.#kernel, this.#accumulator, check, volunteer, item.leaseId, out, now, standing, rolls[n]!);
          if ("ok" in effect) return entry(item.leaseId, effect);
          results++;
          checks += effect.checks ?? 0;
          this.#apply(effect, volunteer, now);
          return { leaseId: item.leaseId, status: 202 };
        });
        this.#stats.refused(answered);
        this.#addWork(results, checks);
        return answered;
      }),
    );
    // After the batch's rows are written (still this step): the storage they take counts.
    this.#watchLimits(now);
    await this.#schedule({});
    await this.#ending;
    return entries;
  }

  /** Where a dataset lease's bytes are, for its holder only (the Worker streams them from storage). */
  async leaseInput(volunteer: string, leaseId: string): Promise<Outcome<{ dataset: StoredDataset; offset: number; length: number }>> {
    const meta = this.store.meta;
    const row = this.#held(volunteer, leaseId, Date.now());
    if ("ok" in row) return row;
    if (!meta!.dataset) return fail(404, "no_input_url", "this lease's input is inline");
    const { offset, length } = datasetInput(meta!.dataset, row.idx);
    return { ok: true, dataset: this.#datasets.dataset(offset), offset, length };
  }

  /**
   * The Worker found this lease's dataset gone from storage while serving its bytes to its holder
   * (deleted once no running job read it, and this job reopened since, by a backtrack say). No
   * shard of it can be computed or checked again: the job fails, saying why, and the lease's
   * holder is answered 410 like every other holder of its leases.
   */
  async inputGone(volunteer: string, leaseId: string): Promise<Outcome<never>> {
    const now = Date.now();
    const row = this.#held(volunteer, leaseId, now);
    if ("ok" in row) return row;
    const meta = this.store.meta!;
    if (!meta.dataset) return fail(404, "no_input_url", "this lease's input is inline");
    const error = `dataset ${meta.dataset.id} was deleted: its shards can no longer be read`;
    // A job that ended meanwhile keeps its state: only a running one has shards left to read.
    if (meta.state !== "running") return fail(410, "dataset_gone", error);
    this.#step(() => {
      this.store.saveMeta({ ...meta, state: "failed", error, updatedAt: now });
      this.#ended();
    });
    await this.#ending;
    return fail(410, "dataset_gone", error);
  }

  /**
   * Dataset shards whose lone output waits for a confirmation the coordinator can give itself
   * (their bytes were past a batch's read budget): read them now and judge the output again, as
   * if it had just arrived, so one volunteer alone still finishes the job. Bounded per alarm.
   */
  async #confirmWaiting(now: number): Promise<void> {
    const waiting = await this.#datasets.waiting(() => this.#kernel, now);
    if (!waiting) return;
    const kernel = this.#kernel;
    // One atomic step from here: each output is taken back to its lease and recorded again.
    const check = checker(this.store, kernel, waiting.outputs.length, waiting.texts);
    this.#step(() =>
      this.store.batch(() => {
        let checks = 0;
        for (const w of waiting.outputs) {
          if (!waiting.texts.has(w.idx)) continue;
          const effect = confirmLone(this.store, kernel, this.#accumulator, check, w, now);
          if (!effect) continue;
          checks += effect.checks ?? 0;
          this.#apply(effect, w.volunteer, now, true);
        }
        this.#addWork(0, checks);
        this.#watchLimits(now);
      }),
    );
  }

  /** The lease `volunteer` may use now (see heldLease), or the contract's failure; 404 while the job does not exist. */
  #held(volunteer: string, leaseId: string, now: number): ReplicaRow | Failure {
    return this.store.meta ? heldLease(this.store, volunteer, leaseId, now) : notFoundLease(leaseId);
  }

  async heartbeat(volunteer: string, leaseId: string): Promise<Outcome<{ expiresAt: number }>> {
    const now = Date.now();
    const row = this.#held(volunteer, leaseId, now);
    if ("ok" in row) return row;
    // Heartbeats extend a lease up to its hard deadline, never past it.
    const expiresAt = Math.min(now + this.store.meta!.leaseTtlMs, row.deadline ?? Number.MAX_SAFE_INTEGER);
    this.store.replicas.extend(leaseId, expiresAt);
    this.#stats.seen(volunteer);
    return { ok: true, expiresAt };
  }

  async release(volunteer: string, leaseId: string): Promise<Outcome<{ released: true }>> {
    const now = Date.now();
    const row = this.#held(volunteer, leaseId, now);
    if ("ok" in row) return row;
    this.#step(() => releaseLease(this.store, row));
    return { ok: true, released: true };
  }

  /**
   * A volunteer was caught: reject its outputs here, reopen every shard accepted on its word and
   * rebuild the merged result without it. A job that was done runs again until it is corrected.
   * Called by the volunteer's own record for every job it worked in (see
   * VolunteerRecords.deliverCatches in job/volunteer-records.ts for the job → volunteer → job cycle).
   */
  async backtrack(volunteer: string): Promise<{ reopened: number }> {
    const meta = this.store.meta;
    if (!meta) return { reopened: 0 };
    const wasDone = meta.state === "done";
    const kernel = this.#kernel;
    const reopened = this.#step(() => {
      const { reopened, agreedWith, proven, checks, revoked } = backtrack(this.store, volunteer, checker(this.store, kernel, BACKTRACK_CHECKS));
      for (const v of proven) this.#records.caught(v, `output proven wrong by the coordinator in job ${meta.id}`);
      this.#stats.revoke(volunteer, revoked);
      this.#addWork(0, checks);
      const notify = this.store.meta!.notify;
      // The submitter was told it was done; it will be told again once the corrected result is in.
      if (reopened && wasDone && notify) this.store.saveMeta({ ...this.store.meta!, notify: { url: notify.url, state: "pending", attempts: 0 } });
      this.#reputation.penalize(agreedWith.filter((v) => v !== volunteer));
      if (reopened) {
        this.#accumulator.rebuild();
        this.#refold(Date.now());
      }
      return reopened;
    });
    if (reopened) {
      if (wasDone) await gridStub(this.env).jobStarted(runningJob(meta), false);
      this.#announcedAt = 0; // and once more from its next alarm, should that call have been lost
    }
    await this.#schedule();
    return { reopened };
  }

  /** Refolds one bounded batch of a rebuild; a shard that no longer merges fails alone. */
  #rebuildStep(now: number): void {
    if (!this.store.meta?.rebuilding) return;
    this.#step(() => this.#refold(now));
  }

  /** The body of a rebuild step, inside a #step of its caller. */
  #refold(now: number): void {
    const { finished, conflicts } = this.#accumulator.step();
    for (const { idx, message } of conflicts) {
      const reason = `shard ${idx}: ${message}`;
      this.store.shards.fail(idx, reason);
      const m = this.store.meta!;
      this.store.saveMeta({ ...m, done: m.done - 1, failed: m.failed + 1, ...(m.error === undefined && { error: reason }), updatedAt: now });
    }
    this.#watchLimits(now);
    const meta = this.store.meta!;
    if (finished && meta.state === "running" && meta.done + meta.failed >= meta.total) this.#finish(now);
  }

  /** Expires overdue leases (re-queuing their shards) and flushes grid statistics and reputation. */
  override async alarm(): Promise<void> {
    this.#alarm.unset(); // this alarm has fired; #schedule sets the next one
    const now = Date.now();
    this.#rebuildStep(now);
    if (await this.#expire(now)) return;
    if (this.store.meta) {
      this.#stats.count(
        "leasesExpired",
        this.#step(() => expireLeases(this.store, now)),
      );
      compactReturned(this.store, now);
    }
    // Whatever duty fails, the next alarm is set: a failure here must not leave the job asleep.
    try {
      const grid = gridStub(this.env);
      await this.#stats.flush(grid, now);
      // Re-announce a running job: the grid's list heals from any lost or reordered start/end call.
      const meta = this.store.meta;
      if (meta?.state === "running" && now >= this.#announcedAt + ANNOUNCE_MS) {
        this.#announcedAt = now;
        // After an eviction the in-memory hint is gone: look for waiting dataset shards now and then.
        if (meta.dataset) this.#datasets.confirmAt ??= now;
        await grid.jobStarted(runningJob(meta), false).catch(() => {});
      }
      await this.#reputation.flush((v, o) => volunteerStub(this.env, v).observe(v, o));
      await this.#records.deliverPending();
      await this.#confirmWaiting(now);
      await this.#notify(now);
      await this.#records.retryReports(now);
    } finally {
      await this.#schedule();
    }
  }

  /** One delivery attempt of the completion webhook, when one is due. */
  async #notify(now: number): Promise<void> {
    const meta = this.store.meta;
    const notify = meta?.notify;
    if (!meta || meta.state === "running" || notify?.state !== "pending" || (notify.nextAt ?? 0) > now) return;
    let secret: string;
    try {
      secret = await submitterStub(this.env, meta.owner).webhookSecret();
    } catch (err) {
      // The submitter's object could not answer: try again in a minute, not at once (nor never).
      log("error", "reading the webhook secret failed; retrying", { jobId: meta.id, ...describeError(err) });
      const current = this.store.meta!;
      if (current.notify?.state === "pending") this.store.saveMeta({ ...current, notify: { ...current.notify, nextAt: now + 60_000 } });
      return;
    }
    const next = await deliver(notify, toStatus(meta), secret, now);
    this.#stats.webhook(next.state);
    // Only if nothing moved meanwhile: a backtrack may have reopened the job and reset `notify`,
    // and even finished it again (a new updatedAt), when this delivery carried the old result.
    const current = this.store.meta!;
    if (
      current.updatedAt !== meta.updatedAt ||
      current.state !== meta.state ||
      current.notify?.attempts !== notify.attempts ||
      current.notify?.state !== "pending"
    )
      return;
    this.store.saveMeta({ ...current, notify: next });
  }

  async #prepare(item: SubmittedItem): Promise<PreparedOutput | Failure> {
    if (item.error) return { text: canonicalJson({ error: { message: item.error.message } }), hash: ERROR_HASH };
    const valid = this.#kernel.validate(item.output);
    if ("problem" in valid) return fail(400, "invalid_output", valid.problem);
    return { text: valid.text, hash: await sha256Hex(valid.text) };
  }

  #apply(effect: Effect, volunteer: string, now: number, rejudged = false): void {
    this.#stats.seen(volunteer);
    if (!rejudged) this.#stats.result();
    this.#stats.judged(effect);
    const meta = this.store.meta!;
    if (effect.ringer?.passed) this.#reputation.ringerPassed(volunteer, effect.uncheckable);
    if (effect.ringer && !effect.ringer.passed) this.#records.caught(volunteer, `failed a spot-check in job ${meta.id}`);
    for (const v of effect.proven ?? []) this.#records.caught(v, `output proven wrong by the coordinator in job ${meta.id}`);
    if (effect.outvoted) this.#reputation.outvoted(effect.outvoted, effect.uncheckable);
    if (effect.confirmed) this.#reputation.confirmed(volunteer, effect.uncheckable);
    if (effect.accepted) {
      this.#stats.accepted(effect.accepted.agreeing);
      // Trust is earned by verified work only: an output accepted on its volunteer's word alone earns credit, not trust.
      if (effect.accepted.independent) this.#reputation.agreed(effect.accepted.agreeing, effect.uncheckable);
      for (const v of effect.accepted.agreeing) {
        // The volunteer's own record lists this job, so backtracking can find it later.
        if (this.store.volunteers.credit(v)) this.ctx.waitUntil(this.#records.report(v));
      }
    }
    // A failed shard fails alone (its reason is in the status); the job ends once every shard is settled.
    if (effect.failed) this.#stats.failedShard();
    const settled = this.store.meta!;
    if (settled.state === "running" && !settled.rebuilding && settled.done + settled.failed >= settled.total) this.#finish(now);
  }

  /**
   * Runs one synchronous step of the job's decisions (a lease batch, a result batch, a release, an
   * expiry sweep, a backtrack, a rebuild step, a re-judging of waiting outputs). Should it throw
   * midway (a bug, a full disk), the object resets before any of it is committed: the runtime
   * drops every write not yet committed and this object's memory, so storage never keeps half a
   * step (a shard accepted while the job's progress was not counted, say) and nothing it decided
   * is sent anywhere (outgoing calls wait for the commit). Callers whose writes were dropped with
   * it get an error, never a success, and their volunteers send again.
   */
  #step<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      const described = describeError(err);
      log("error", "a job step failed: the object resets without committing it", { jobId: this.store.meta?.id, ...described });
      // Throws (the runtime's reset) and never returns.
      this.ctx.abort(`a job step failed (${described.error})`);
      throw err;
    }
  }

  /** Counts verification work: outputs received from volunteers and shards computed here. */
  #addWork(results: number, checks: number): void {
    if (!results && !checks) return;
    this.#stats.count("checks", checks);
    const m = this.store.meta!;
    const work = m.work ?? { results: 0, checks: 0 };
    this.store.saveMeta({ ...m, work: { results: work.results + results, checks: work.checks + checks } });
  }

  /** Storage ceiling of this job (a field so tests can lower it). */
  storageMaxBytes = JOB_STORAGE_MAX_BYTES;

  /**
   * Fails a running job whose storage passed its ceiling, or whose merged result passed its bound:
   * outstanding leases then answer 410.
   */
  #watchLimits(now: number): void {
    const meta = this.store.meta!;
    if (meta.state !== "running") return;
    const error = this.#limitPassed();
    if (!error) return;
    this.store.saveMeta({ ...meta, state: "failed", error, updatedAt: now });
    this.#ended();
  }

  /** Why this job cannot go on (its storage or its merged result too large), if so. */
  #limitPassed(): string | undefined {
    const size = this.store.bytes;
    if (size >= this.storageMaxBytes) {
      return `job storage reached ${size} bytes (ceiling ${this.storageMaxBytes}): outputs too large for this many shards; split the job or shrink outputs`;
    }
    return this.#resultTooLarge();
  }

  /** Why the merged result cannot be served (too large), if so. */
  #resultTooLarge(): string | undefined {
    const result = this.#acc?.oversize;
    if (result === undefined) return undefined;
    return `the merged result reached ${result} characters of JSON (at most ${LIMITS.resultChars}): page through the shards' outputs with GET /v1/jobs/:id/shards, or reduce them to something smaller`;
  }

  #finish(now: number): void {
    const meta = this.store.meta!;
    // The storage ceiling no longer matters to a job with nothing left to write; a result too large to serve does.
    const error = this.#resultTooLarge();
    this.store.saveMeta({ ...meta, state: meta.failed > 0 || error ? "failed" : "done", ...(error && { error }), updatedAt: now });
    this.#ended();
  }

  /** The job left `running`: tell the grid so volunteers stop being sent here. */
  #ended(): void {
    const { id, state } = this.store.meta!;
    this.#stats.ended(state);
    this.#ending = this.#announceEnd(id);
    this.ctx.waitUntil(this.#ending);
    this.ctx.waitUntil(this.#schedule());
  }

  /**
   * The grid hears of the end with the job's last figures, before the call that ended it answers,
   * so the grid-wide counts (shards completed, jobs running) agree with the job's own status the
   * moment a submitter sees it end.
   */
  async #announceEnd(id: string): Promise<void> {
    const grid = gridStub(this.env);
    await this.#stats.flush(grid, "now");
    // Told at once, not batched: a batch arriving after a backtrack's restart would undo it.
    await grid
      .jobEnded(id)
      .catch((err) => log("warn", "telling the grid a job ended failed; its re-announcements stop and the list heals", { jobId: id, ...describeError(err) }));
  }
  /** The grid being told of the job's end (see #announceEnd). */
  #ending: Promise<void> | undefined;

  /** Sets the one alarm to the earliest duty due (see job/alarm.ts). */
  async #schedule(added?: { leaseExpiry?: number }): Promise<void> {
    const meta = this.store.meta;
    if (!meta) return;
    const now = Date.now();
    await this.#alarm.set(
      nextWake({
        meta,
        now,
        // A lease or result call adds at most its own leases' deadline: a pending alarm already
        // comes no later than every older one, so the lease table need not be read for it.
        leaseExpiry: added && this.#alarm.pending(now) ? added.leaseExpiry : this.store.replicas.nextExpiry(),
        statsDue: this.#stats.dueAt(),
        reputationPending: this.#reputation.pending,
        announcedAt: this.#announcedAt,
        confirmAt: this.#datasets.confirmAt,
        // A finished job reads what it still owes from its table (a running one retries from every alarm anyway).
        reportsRetryAt: this.#records.retryReportsAt ?? (meta.state !== "running" && this.store.volunteers.unreported(1).length ? now + 5000 : undefined),
        catchesAt: this.#records.catchesAt,
        retainedUntil: this.#retainedUntil(),
      }),
    );
  }
}

function notFoundLease(leaseId: string): Failure {
  return fail(404, "lease_not_found", `no lease ${leaseId}`);
}

function entry(leaseId: string, f: Failure): BatchResultEntry {
  return { leaseId, status: f.status, error: { code: f.code, message: f.message } };
}
