/** Volunteers a job's {@link VolunteerTable} remembers having a credit row. */
const KNOWN_MAX = 10_000;

/**
 * What one job keeps per volunteer: who is banned here, catches not yet delivered to the
 * volunteer's own record (tables `banned`, `catches`), and credit earned here (`contrib`).
 */
export class VolunteerTable {
  constructor(private readonly sql: SqlStorage) {}

  ban(volunteer: string): void {
    this.sql.exec("INSERT OR IGNORE INTO banned (volunteer) VALUES (?)", volunteer);
  }

  /** Stores a catch to deliver (the first reason stays) and bans the volunteer here. */
  caught(volunteer: string, reason: string, at: number): void {
    this.sql.exec("INSERT OR IGNORE INTO catches (volunteer, reason, at) VALUES (?, ?, ?)", volunteer, reason, at);
    this.ban(volunteer);
  }

  /** Catches not yet delivered (at most `limit`). */
  catches(limit: number): { volunteer: string; reason: string }[] {
    return this.sql.exec<{ volunteer: string; reason: string }>("SELECT volunteer, reason FROM catches LIMIT ?", limit).toArray();
  }

  hasCatches(): boolean {
    return this.sql.exec("SELECT 1 FROM catches LIMIT 1").toArray().length > 0;
  }

  delivered(volunteer: string): void {
    this.sql.exec("DELETE FROM catches WHERE volunteer = ?", volunteer);
  }

  /**
   * Volunteers known to have a `contrib` row (seen or written by this instance), so a batch's
   * credit need not look each one up again: only a revoke deletes a row, and it forgets the name.
   * Bounded: past {@link KNOWN_MAX} it starts over, and a name not here is just looked up.
   */
  readonly #known = new Set<string>();

  /** Credits one accepted result; answers whether it is the volunteer's first here. */
  credit(volunteer: string): boolean {
    const deferred = this.#deferred;
    if (deferred) {
      // Within a batch: counted in memory, one write per volunteer when the batch ends.
      const n = deferred.get(volunteer);
      deferred.set(volunteer, (n ?? 0) + 1);
      return n === undefined && !this.#hasRow(volunteer);
    }
    return this.#add(volunteer, 1) === 1;
  }

  #hasRow(volunteer: string): boolean {
    if (this.#known.has(volunteer)) return true;
    const found = this.sql.exec("SELECT 1 FROM contrib WHERE volunteer = ?", volunteer).toArray().length > 0;
    if (found) this.#remember(volunteer);
    return found;
  }

  #remember(volunteer: string): void {
    if (this.#known.size >= KNOWN_MAX) this.#known.clear();
    this.#known.add(volunteer);
  }

  /** Adds `n` results (and as much credit) to the volunteer's row; answers its results since. */
  #add(volunteer: string, n: number): number {
    const { results } = this.sql
      .exec<{ results: number }>(
        "INSERT INTO contrib (volunteer, results, credit) VALUES (?, ?, ?) ON CONFLICT(volunteer) DO UPDATE SET results = results + excluded.results, credit = credit + excluded.credit RETURNING results",
        volunteer,
        n,
        n,
      )
      .one();
    this.#remember(volunteer);
    return results;
  }

  /** Credits counted in memory until {@link writeCredit} (JobStore.batch). */
  #deferred: Map<string, number> | undefined;

  deferCredit(): void {
    this.#deferred ??= new Map();
  }

  writeCredit(): void {
    const deferred = this.#deferred;
    this.#deferred = undefined;
    for (const [volunteer, n] of deferred ?? []) this.#add(volunteer, n);
  }

  /** Takes back everything `volunteer` earned here; returns the credit it had. */
  revoke(volunteer: string): number {
    // Credit counted in an unfinished batch is taken back with the rest.
    const deferred = this.#deferred?.get(volunteer) ?? 0;
    this.#deferred?.delete(volunteer);
    const credit = this.sql.exec<{ credit: number }>("SELECT credit FROM contrib WHERE volunteer = ?", volunteer).toArray()[0]?.credit ?? 0;
    this.sql.exec("DELETE FROM contrib WHERE volunteer = ?", volunteer);
    this.#known.delete(volunteer);
    return credit + deferred;
  }

  /** Volunteers whose record does not list this job yet (at most `limit`). */
  unreported(limit: number): string[] {
    return this.sql
      .exec<{ volunteer: string }>("SELECT volunteer FROM contrib WHERE reported = 0 LIMIT ?", limit)
      .toArray()
      .map((r) => r.volunteer);
  }

  reported(volunteer: string): void {
    this.sql.exec("UPDATE contrib SET reported = 1 WHERE volunteer = ?", volunteer);
  }

  /** Whether some volunteer's record is still owed a catch or a contribution report. */
  owed(): boolean {
    return this.sql.exec("SELECT 1 FROM catches UNION ALL SELECT 1 FROM contrib WHERE reported = 0 LIMIT 1").toArray().length > 0;
  }
}
