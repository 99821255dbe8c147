import type { BatchResultEntry, JobState } from "../../shared/schemas.ts";
import { describeError, log } from "../observe/log.ts";
import type { JobStore } from "./store.ts";
import type { Effect } from "./verify.ts";

/**
 * Grid counters a job adds to besides shards and results, for `GET /metrics` (observe/families.ts
 * says what each one exports). `rejected:<reason>` is a result refused (the error code answered)
 * or judged wrong later (proven_wrong, outvoted, ringer_failed).
 */
export type GridCounter =
  | "leasesIssued"
  | "leasesExpired"
  | "checks"
  | "volunteersBlacklisted"
  | `rejected:${string}`
  | `webhook:${"delivered" | "failed" | "gave_up"}`
  | `jobsEnded:${"done" | "failed" | "cancelled"}`;

/** A batch of grid-wide figure changes one job sends the grid object. */
export interface StatsDelta {
  shardsCompleted: number;
  shardsFailed: number;
  resultsAccepted: number;
  /** Volunteer id → credit earned in this batch. */
  credit: Record<string, number>;
  /** Volunteers seen working since the last batch. */
  seen: string[];
  /** Other counters (absent in a batch stored by a version before them). */
  counts?: Partial<Record<GridCounter, number>>;
  /** The job's storage when the batch was sent (a gauge: the latest wins). */
  storage?: { job: string; bytes: number };
}

/** Flush at most this often, so the grid object sees one call per job per interval, not per request. */
const INTERVAL_MS = 1000;

/**
 * Collects a job's statistics changes and hands them to the grid in batches, keeping the single
 * grid object off the lease/result hot path. Counts and credit are written through to the job's
 * SQLite in the step that produced them (counts as one small row of `stats_outbox`, credit as one
 * row per volunteer in `stats_credit`, so a step writes only the volunteers it credited, however
 * many a batch holds); the batch being sent stays there until the grid acknowledged it, so an
 * eviction or a failed call loses none (a batch the grid took just before an eviction may be
 * counted twice: at least once, never lost). Which volunteers were seen is liveness only and
 * stays in memory.
 */
export class StatsOutbox {
  #delta: StatsDelta = empty();
  #since: number | undefined;
  #loaded = false;
  /** Volunteers whose pending credit changed since it was last written. */
  readonly #credited = new Set<string>();

  /** `store` is undefined while the job does not exist. */
  constructor(private readonly store: () => JobStore | undefined) {}

  /** Makes a flush due (also used to have the job's alarm re-announce it). */
  touch(): void {
    this.#since ??= Date.now();
  }
  seen(volunteer: string): void {
    if (!this.#delta.seen.includes(volunteer)) this.#delta.seen.push(volunteer);
    this.touch();
  }
  result(): void {
    this.#counted((d) => d.resultsAccepted++);
  }
  accepted(agreeing: string[]): void {
    this.#counted((d) => {
      d.shardsCompleted++;
      for (const v of agreeing) this.#credit(d, v, 1);
    });
  }
  /** Takes back credit a caught volunteer had earned (the grid's totals drop with it). */
  revoke(volunteer: string, credit: number): void {
    if (!credit) return;
    this.#counted((d) => this.#credit(d, volunteer, -credit));
  }
  #credit(d: StatsDelta, volunteer: string, n: number): void {
    d.credit[volunteer] = (d.credit[volunteer] ?? 0) + n;
    this.#credited.add(volunteer);
  }
  failedShard(): void {
    this.#counted((d) => d.shardsFailed++);
  }
  /** Adds `n` to one of the grid's other counters. */
  count(key: GridCounter, n = 1): void {
    if (n) this.#counted((d) => add(d, key, n));
  }
  /** Results answered with an error status, counted by the error's code. */
  refused(entries: BatchResultEntry[]): void {
    const refused = entries.filter((e) => e.status !== 202);
    if (refused.length) this.#counted((d) => refused.forEach((e) => add(d, `rejected:${e.error?.code ?? e.status}`, 1)));
  }
  /** Outputs a recorded result showed to be wrong: proven by the coordinator, outvoted, or a failed spot-check. */
  judged(effect: Effect): void {
    const counts: [GridCounter, number][] = [
      ["rejected:proven_wrong", effect.proven?.length ?? 0],
      ["rejected:outvoted", effect.outvoted?.length ?? 0],
      ["rejected:ringer_failed", effect.ringer && !effect.ringer.passed ? 1 : 0],
    ];
    if (counts.some(([, n]) => n)) this.#counted((d) => counts.forEach(([k, n]) => add(d, k, n)));
  }
  /** The job left `running` in `state`. */
  ended(state: JobState): void {
    if (state !== "running") this.count(`jobsEnded:${state}`);
  }
  /** One webhook delivery attempt and the state it left the notification in. */
  webhook(state: "delivered" | "pending" | "gave_up"): void {
    this.count(state === "pending" ? "webhook:failed" : `webhook:${state}`);
  }

  /**
   * Applies a counting change and writes the pending counts through to storage: once per step,
   * however many counts it changed. The write runs as a microtask, so still within the same
   * turn of the object (nothing else runs first, no eviction can come between) and before any
   * answer leaves it; a result once cost several writes of the whole batch, credit map and all.
   */
  #counted(change: (d: StatsDelta) => void): void {
    this.#load();
    change(this.#delta);
    this.touch();
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => {
      this.#writing = false;
      // A flush may have taken the batch meanwhile (it wrote its own rows).
      if (this.#since !== undefined) this.#savePending();
    });
  }
  #writing = false;

  /** After an eviction: pending counts and any unacknowledged batch come back from storage. */
  #load(): void {
    if (this.#loaded) return;
    const table = this.store()?.outboxes;
    if (!table) return;
    this.#loaded = true;
    // Batches stored before credit had rows of its own carry it in their JSON: merged all the same.
    for (const row of table.statsBatches()) this.#merge(JSON.parse(row.delta) as StatsDelta);
    const credit = table.statsCredit();
    for (const { volunteer, credit: n } of credit) this.#credit(this.#delta, volunteer, n);
    if (credit.length) this.touch();
    // One pending batch again, every volunteer's credit rewritten in it.
    table.putStats("inflight", undefined);
    table.putStats("pending", undefined);
    if (this.#since !== undefined) this.#savePending();
  }

  /** Writes the pending counts, and the credit of volunteers credited since the last write. */
  #savePending(): void {
    const table = this.store()?.outboxes;
    if (!table) return;
    table.putStats("pending", countsRow(this.#delta));
    for (const v of this.#credited) table.putCredit("pending", v, this.#delta.credit[v] ?? 0);
    this.#credited.clear();
  }
  /** When the pending batch should be sent, if there is one. */
  dueAt(): number | undefined {
    this.#load();
    return this.#since === undefined ? undefined : this.#since + INTERVAL_MS;
  }

  /**
   * Sends the pending batch if it is due, or at once with `now` (a job's end: its last figures go
   * with it); on failure it stays pending for the next alarm. Flushes run one after another, so
   * only one batch is ever in flight.
   */
  flush(grid: { report(delta: StatsDelta): Promise<void> }, now: number | "now"): Promise<void> {
    const run = this.#flushing.then(() => this.#flush(grid, now));
    this.#flushing = run;
    return run;
  }
  #flushing = Promise.resolve();

  async #flush(grid: { report(delta: StatsDelta): Promise<void> }, when: number | "now"): Promise<void> {
    this.#load();
    if (this.#since === undefined || (when !== "now" && when < this.#since + INTERVAL_MS)) return;
    const store = this.store();
    const table = store?.outboxes;
    // Moved from pending to in flight in one step: new counts start a fresh pending batch.
    if (this.#credited.size) this.#savePending();
    const delta = this.#delta;
    this.#delta = empty();
    this.#since = undefined;
    table?.putStats("inflight", countsRow(delta));
    table?.moveCredit("pending", "inflight");
    table?.putStats("pending", undefined);
    const job = store?.meta?.id;
    try {
      await grid.report({ ...delta, ...(store && job && { storage: { job, bytes: store.bytes } }) });
      table?.putStats("inflight", undefined);
    } catch (err) {
      log("warn", "grid report failed; will retry", { jobId: job, ...describeError(err) });
      table?.putStats("inflight", undefined);
      this.#merge(delta);
      this.#savePending();
    }
  }

  #merge(d: StatsDelta): void {
    const cur = this.#delta;
    cur.shardsCompleted += d.shardsCompleted;
    cur.shardsFailed += d.shardsFailed;
    cur.resultsAccepted += d.resultsAccepted;
    for (const [v, c] of Object.entries(d.credit)) this.#credit(cur, v, c);
    for (const v of d.seen) if (!cur.seen.includes(v)) cur.seen.push(v);
    for (const [k, n] of Object.entries(d.counts ?? {})) add(cur, k as GridCounter, n ?? 0);
    this.touch();
  }
}

function add(d: StatsDelta, key: GridCounter, n: number): void {
  if (!n) return;
  const counts = (d.counts ??= {});
  counts[key] = (counts[key] ?? 0) + n;
}

/** A batch's counts as stored in `stats_outbox`: its credit is in `stats_credit`, who was seen nowhere. */
function countsRow(d: StatsDelta): string {
  return JSON.stringify({ ...d, credit: {}, seen: [] });
}

function empty(): StatsDelta {
  return { shardsCompleted: 0, shardsFailed: 0, resultsAccepted: 0, credit: {}, seen: [], counts: {} };
}
