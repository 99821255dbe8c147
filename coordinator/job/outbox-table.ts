/** Marks an observation key in flight: taken by a flush and not yet acknowledged by the volunteer's record. */
const IN_FLIGHT = ">";

/** One observation row of `rep_outbox`: the key it is batched under and its JSON. */
export type ObservationRow = { k: string; volunteer: string; obs: string };

/**
 * The job's two outboxes as stored: `rep_outbox` (reputation observations per volunteer and class
 * of work, job/reputation-outbox.ts) and `stats_outbox` with `stats_credit` (the grid's counts and
 * credit per volunteer, batches 'pending' and 'inflight', job/stats-outbox.ts). Observation and
 * count rows hold JSON the outboxes read and write whole.
 */
export class OutboxTable {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Whether `rep_outbox` holds a row, once known: every call schedules the alarm by it, so it is
   * read from storage only after a deletion made it unknown (a write makes it true; a take that
   * found nothing, false). A step that throws resets the object and this with it.
   */
  #observations: boolean | undefined;

  observation(k: string): string | undefined {
    return this.sql.exec<{ obs: string }>("SELECT obs FROM rep_outbox WHERE k = ?", k).toArray()[0]?.obs;
  }

  putObservation(k: string, volunteer: string, obs: string): void {
    this.sql.exec("INSERT OR REPLACE INTO rep_outbox (k, volunteer, obs) VALUES (?, ?, ?)", k, volunteer, obs);
    this.#observations = true;
  }

  /**
   * Adds one to a counter of an observation in one statement (a verdict's hot path): the row is
   * created as `fresh` (with the counter at 1), or its JSON counter incremented in place.
   */
  countObservation(k: string, volunteer: string, counter: "agreed" | "ringersPassed", fresh: string): void {
    this.sql.exec(
      "INSERT INTO rep_outbox (k, volunteer, obs) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET obs = json_set(obs, ?, coalesce(json_extract(obs, ?), 0) + 1)",
      k,
      volunteer,
      fresh,
      `$.${counter}`,
      `$.${counter}`,
    );
    this.#observations = true;
  }

  /**
   * Takes up to `limit` observations to send: first those a failed flush left in flight (sent
   * again exactly as they were, before anything newer under their key), then pending ones whose
   * key has none in flight. A pending one is moved in flight in this same step (its key behind
   * {@link IN_FLIGHT}), so an observation made while it travels starts a fresh pending row
   * instead of adding to the one on its way: nothing is counted twice.
   */
  takeObservations(limit: number): ObservationRow[] {
    // Pending keys begin with a lowercase letter (c:, u:, p:); in-flight keys with IN_FLIGHT, which sorts before them.
    const retry = this.sql.exec<ObservationRow>("SELECT k, volunteer, obs FROM rep_outbox WHERE k >= ? AND k < 'a' LIMIT ?", IN_FLIGHT, limit).toArray();
    if (retry.length >= limit) return retry;
    const fresh = this.sql
      .exec<ObservationRow>(
        "SELECT k, volunteer, obs FROM rep_outbox p WHERE k >= 'a' AND NOT EXISTS (SELECT 1 FROM rep_outbox f WHERE f.k = ? || p.k) LIMIT ?",
        IN_FLIGHT,
        limit - retry.length,
      )
      .toArray();
    for (const row of fresh) {
      this.sql.exec("UPDATE rep_outbox SET k = ? WHERE k = ?", IN_FLIGHT + row.k, row.k);
      row.k = IN_FLIGHT + row.k;
    }
    // Nothing in flight and nothing pending: the table is empty.
    if (!retry.length && !fresh.length) this.#observations = false;
    return [...retry, ...fresh];
  }

  /** Deletes an observation the volunteer's record took (a key {@link takeObservations} answered). */
  sent(k: string): void {
    this.sql.exec("DELETE FROM rep_outbox WHERE k = ?", k);
    this.#observations = undefined;
  }

  /** Whether any observation waits to be sent (known, or one index probe: never a count of them all). */
  hasObservations(): boolean {
    this.#observations ??= this.sql.exec("SELECT 1 FROM rep_outbox LIMIT 1").toArray().length > 0;
    return this.#observations;
  }

  /** Every stored batch of grid counts ('pending', 'inflight'). */
  statsBatches(): { k: string; delta: string }[] {
    return this.sql.exec<{ k: string; delta: string }>("SELECT k, delta FROM stats_outbox").toArray();
  }

  /** Stores batch `k`'s counts (`delta` undefined: deletes them and the batch's credit). */
  putStats(k: string, delta: string | undefined): void {
    if (delta !== undefined) this.sql.exec("INSERT OR REPLACE INTO stats_outbox (k, delta) VALUES (?, ?)", k, delta);
    else {
      this.sql.exec("DELETE FROM stats_outbox WHERE k = ?", k);
      this.sql.exec("DELETE FROM stats_credit WHERE k = ?", k);
    }
  }

  /** Every stored credit row of every batch. */
  statsCredit(): { k: string; volunteer: string; credit: number }[] {
    return this.sql.exec<{ k: string; volunteer: string; credit: number }>("SELECT k, volunteer, credit FROM stats_credit").toArray();
  }

  /** Sets `volunteer`'s credit in batch `k`. */
  putCredit(k: string, volunteer: string, credit: number): void {
    this.sql.exec("INSERT OR REPLACE INTO stats_credit (k, volunteer, credit) VALUES (?, ?, ?)", k, volunteer, credit);
  }

  /** Renames batch `from`'s credit rows to batch `to` (which has none). */
  moveCredit(from: string, to: string): void {
    this.sql.exec("UPDATE stats_credit SET k = ? WHERE k = ?", to, from);
  }
}
