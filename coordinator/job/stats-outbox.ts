/** A batch of grid-wide figure changes one job sends the grid object. */
export interface StatsDelta {
  shardsCompleted: number;
  shardsFailed: number;
  resultsAccepted: number;
  /** Volunteer id → credit earned in this batch. */
  credit: Record<string, number>;
  /** Volunteers seen working since the last batch. */
  seen: string[];
}

/** Flush at most this often, so the grid object sees one call per job per interval, not per request. */
const INTERVAL_MS = 1000;

/**
 * Collects a job's statistics changes and hands them to the grid in batches, keeping the single
 * grid object off the lease/result hot path. Counts and credit are written through to the job's
 * SQLite (`stats_outbox`) in the step that produced them, the batch being sent stays there until
 * the grid acknowledged it, so an eviction or a failed call loses none (a batch the grid took
 * just before an eviction may be counted twice: at least once, never lost). Which volunteers
 * were seen is liveness only and stays in memory.
 */
export class StatsOutbox {
  #delta: StatsDelta = empty();
  #since: number | undefined;
  #loaded = false;

  constructor(private readonly sql: () => SqlStorage | undefined) {}

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
      for (const v of agreeing) d.credit[v] = (d.credit[v] ?? 0) + 1;
    });
  }
  /** Takes back credit a caught volunteer had earned (the grid's totals drop with it). */
  revoke(volunteer: string, credit: number): void {
    if (!credit) return;
    this.#counted((d) => (d.credit[volunteer] = (d.credit[volunteer] ?? 0) - credit));
  }
  failedShard(): void {
    this.#counted((d) => d.shardsFailed++);
  }

  /** Applies a counting change and writes the pending counts through to storage. */
  #counted(change: (d: StatsDelta) => void): void {
    this.#load();
    change(this.#delta);
    this.touch();
    this.#save("pending", this.#delta);
  }

  /** After an eviction: pending counts and any unacknowledged batch come back from storage. */
  #load(): void {
    if (this.#loaded) return;
    const sql = this.sql();
    if (!sql) return;
    this.#loaded = true;
    for (const row of sql.exec<{ k: string; delta: string }>("SELECT k, delta FROM stats_outbox").toArray()) {
      this.#merge(JSON.parse(row.delta) as StatsDelta);
    }
    sql.exec("DELETE FROM stats_outbox WHERE k = 'inflight'");
    if (this.#since !== undefined) this.#save("pending", this.#delta);
  }

  #save(k: "pending" | "inflight", d: StatsDelta | undefined): void {
    const sql = this.sql();
    if (!sql) return;
    if (d) sql.exec("INSERT OR REPLACE INTO stats_outbox (k, delta) VALUES (?, ?)", k, JSON.stringify({ ...d, seen: [] }));
    else sql.exec("DELETE FROM stats_outbox WHERE k = ?", k);
  }
  /** When the pending batch should be sent, if there is one. */
  dueAt(): number | undefined {
    this.#load();
    return this.#since === undefined ? undefined : this.#since + INTERVAL_MS;
  }

  /** Sends the pending batch (if due); on failure it stays pending for the next alarm. */
  async flush(grid: { report(delta: StatsDelta): Promise<void> }, now: number): Promise<void> {
    this.#load();
    if (this.#since === undefined || now < this.#since + INTERVAL_MS) return;
    const delta = this.#delta;
    this.#delta = empty();
    this.#since = undefined;
    // Moved from pending to in flight in one step: new counts start a fresh pending batch.
    this.#save("inflight", delta);
    this.#save("pending", undefined);
    try {
      await grid.report(delta);
      this.#save("inflight", undefined);
    } catch (err) {
      console.warn("grid report failed; will retry", err);
      this.#save("inflight", undefined);
      this.#merge(delta);
      this.#save("pending", this.#delta);
    }
  }

  #merge(d: StatsDelta): void {
    const cur = this.#delta;
    cur.shardsCompleted += d.shardsCompleted;
    cur.shardsFailed += d.shardsFailed;
    cur.resultsAccepted += d.resultsAccepted;
    for (const [v, c] of Object.entries(d.credit)) cur.credit[v] = (cur.credit[v] ?? 0) + c;
    for (const v of d.seen) if (!cur.seen.includes(v)) cur.seen.push(v);
    this.touch();
  }
}

function empty(): StatsDelta {
  return { shardsCompleted: 0, shardsFailed: 0, resultsAccepted: 0, credit: {}, seen: [] };
}
