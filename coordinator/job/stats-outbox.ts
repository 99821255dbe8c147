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
 * Collects a job's statistics changes in memory and hands them to the grid in batches, keeping
 * the single grid object off the lease/result hot path. Losing one unflushed batch to an eviction
 * costs only dashboard figures; jobs, shards and credit per job are in the job's own storage.
 */
export class StatsOutbox {
  #delta: StatsDelta = empty();
  #since: number | undefined;

  /** Makes a flush due (also used to have the job's alarm re-announce it). */
  touch(): void {
    this.#since ??= Date.now();
  }
  seen(volunteer: string): void {
    if (!this.#delta.seen.includes(volunteer)) this.#delta.seen.push(volunteer);
    this.touch();
  }
  result(): void {
    this.#delta.resultsAccepted++;
    this.touch();
  }
  accepted(agreeing: string[]): void {
    this.#delta.shardsCompleted++;
    for (const v of agreeing) this.#delta.credit[v] = (this.#delta.credit[v] ?? 0) + 1;
    this.touch();
  }
  /** Takes back credit a caught volunteer had earned (the grid's totals drop with it). */
  revoke(volunteer: string, credit: number): void {
    if (!credit) return;
    this.#delta.credit[volunteer] = (this.#delta.credit[volunteer] ?? 0) - credit;
    this.touch();
  }
  failedShard(): void {
    this.#delta.shardsFailed++;
    this.touch();
  }
  /** When the pending batch should be sent, if there is one. */
  dueAt(): number | undefined {
    return this.#since === undefined ? undefined : this.#since + INTERVAL_MS;
  }

  /** Sends the pending batch (if due); on failure it stays pending for the next alarm. */
  async flush(grid: { report(delta: StatsDelta): Promise<void> }, now: number): Promise<void> {
    if (this.#since === undefined || now < this.#since + INTERVAL_MS) return;
    const delta = this.#delta;
    this.#delta = empty();
    this.#since = undefined;
    try {
      await grid.report(delta);
    } catch (err) {
      console.warn("grid report failed; will retry", err);
      this.#merge(delta);
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
