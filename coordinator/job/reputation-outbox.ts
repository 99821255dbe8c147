import type { Observation } from "../objects/volunteer-object.ts";

/**
 * Reputation observations a job has made, batched per volunteer and class of work (checkable or
 * not) and sent with the alarm. Kept in the job's SQLite (`rep_outbox`), written in the same
 * step as the verdict that produced them and deleted only once the volunteer's record took them,
 * so an eviction or a failed call loses none. Proofs of wrongdoing go out separately (catches).
 */
export class ReputationOutbox {
  constructor(private readonly sql: () => SqlStorage | undefined) {}

  agreed(volunteers: string[], uncheckable: boolean): void {
    for (const v of volunteers) this.#update(v, uncheckable, (o) => void (o.agreed = (o.agreed ?? 0) + 1));
  }
  ringerPassed(volunteer: string, uncheckable: boolean): void {
    this.#update(volunteer, uncheckable, (o) => {
      o.ringersPassed = (o.ringersPassed ?? 0) + 1;
      o.agreed = (o.agreed ?? 0) + 1;
    });
  }
  /** The coordinator computed a shard and found the volunteer's lone output right: as good as a passed ringer. */
  confirmed(volunteer: string, uncheckable: boolean): void {
    this.#update(volunteer, uncheckable, (o) => void (o.ringersPassed = (o.ringersPassed ?? 0) + 1));
  }
  /** Outputs that lost a vote: the volunteer's record in that class starts over. */
  outvoted(volunteers: string[], uncheckable: boolean): void {
    for (const v of volunteers) {
      this.#update(v, uncheckable, (o) => {
        o.outvoted = (o.outvoted ?? 0) + 1;
        o.agreed = 0;
      });
    }
  }
  penalize(volunteers: string[]): void {
    const sql = this.sql();
    for (const v of volunteers) {
      sql?.exec("INSERT OR REPLACE INTO rep_outbox (k, volunteer, obs) VALUES (?, ?, ?)", `p:${v}`, v, JSON.stringify({ penalized: true }));
    }
  }
  get size(): number {
    return this.sql()?.exec<{ n: number }>("SELECT COUNT(*) AS n FROM rep_outbox").one().n ?? 0;
  }

  /** Hands up to `limit` pending observations to `send`; each is deleted once sent, failures stay. */
  async flush(send: (volunteer: string, o: Observation) => Promise<void>, limit = 200): Promise<void> {
    const sql = this.sql();
    if (!sql) return;
    const batch = sql.exec<{ k: string; volunteer: string; obs: string }>("SELECT k, volunteer, obs FROM rep_outbox LIMIT ?", limit).toArray();
    await Promise.all(
      batch.map(async ({ k, volunteer, obs }) => {
        try {
          await send(volunteer, JSON.parse(obs) as Observation);
        } catch {
          return;
        }
        // Only if nothing was added meanwhile: a newer observation under the same key is sent next time.
        sql.exec("DELETE FROM rep_outbox WHERE k = ? AND obs = ?", k, obs);
      }),
    );
  }

  #update(volunteer: string, uncheckable: boolean, change: (o: Observation) => void): void {
    const sql = this.sql();
    if (!sql) return;
    const k = `${uncheckable ? "u" : "c"}:${volunteer}`;
    const row = sql.exec<{ obs: string }>("SELECT obs FROM rep_outbox WHERE k = ?", k).toArray()[0];
    const o: Observation = row ? JSON.parse(row.obs) : uncheckable ? { uncheckable: true } : {};
    change(o);
    sql.exec("INSERT OR REPLACE INTO rep_outbox (k, volunteer, obs) VALUES (?, ?, ?)", k, volunteer, JSON.stringify(o));
  }
}
