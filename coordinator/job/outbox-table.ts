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

  observation(k: string): string | undefined {
    return this.sql.exec<{ obs: string }>("SELECT obs FROM rep_outbox WHERE k = ?", k).toArray()[0]?.obs;
  }

  putObservation(k: string, volunteer: string, obs: string): void {
    this.sql.exec("INSERT OR REPLACE INTO rep_outbox (k, volunteer, obs) VALUES (?, ?, ?)", k, volunteer, obs);
  }

  /** Up to `limit` observations waiting to be sent. */
  observations(limit: number): ObservationRow[] {
    return this.sql.exec<ObservationRow>("SELECT k, volunteer, obs FROM rep_outbox LIMIT ?", limit).toArray();
  }

  /** Deletes a sent observation, unless it changed meanwhile (then it still differs from `obs`). */
  sent(k: string, obs: string): void {
    this.sql.exec("DELETE FROM rep_outbox WHERE k = ? AND obs = ?", k, obs);
  }

  /** Whether any observation waits to be sent (one index probe, not a count of them all). */
  hasObservations(): boolean {
    return this.sql.exec("SELECT 1 FROM rep_outbox LIMIT 1").toArray().length > 0;
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
