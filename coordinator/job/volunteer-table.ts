/**
 * What one job keeps per volunteer: who is banned here, catches not yet delivered to the
 * volunteer's own record (tables `banned`, `catches`), and credit earned here (`contrib`).
 */
export class VolunteerTable {
  constructor(private readonly sql: SqlStorage) {}

  /** Whether this volunteer was caught and backtracked here (its isolate may not know yet). */
  banned(volunteer: string): boolean {
    return this.sql.exec("SELECT 1 FROM banned WHERE volunteer = ?", volunteer).toArray().length > 0;
  }

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

  /** Credits one accepted result; answers whether it is the volunteer's first here. */
  credit(volunteer: string): boolean {
    // One statement: a row just created has counted this one result only.
    const { results } = this.sql
      .exec<{ results: number }>(
        "INSERT INTO contrib (volunteer, results, credit) VALUES (?, 1, 1) ON CONFLICT(volunteer) DO UPDATE SET results = results + 1, credit = credit + 1 RETURNING results",
        volunteer,
      )
      .one();
    return results === 1;
  }

  /** Takes back everything `volunteer` earned here; returns the credit it had. */
  revoke(volunteer: string): number {
    const credit = this.sql.exec<{ credit: number }>("SELECT credit FROM contrib WHERE volunteer = ?", volunteer).toArray()[0]?.credit ?? 0;
    this.sql.exec("DELETE FROM contrib WHERE volunteer = ?", volunteer);
    return credit;
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
