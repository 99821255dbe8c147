import { bound, REPLICA } from "./tables.ts";

/** A replica's state as stored (one of {@link REPLICA}). */
export type ReplicaState = (typeof REPLICA)[keyof typeof REPLICA];

/** One lease of a shard as the rules read it (without its output). */
export type ReplicaRow = {
  lease: string;
  idx: number;
  volunteer: string;
  state: number;
  expires_at: number;
  hash: string | null;
  ringer: number;
  /** The hard end heartbeats never extend past (null for leases issued before there were any). */
  deadline: number | null;
};

/** The columns of a {@link ReplicaRow}. */
const ROW = "lease, idx, volunteer, state, expires_at, hash, ringer, deadline";

/** Submitted outputs that agree (one hash), and how many. */
export type OutputGroup = { hash: string; count: number };

/**
 * The submitted outputs of shard `?1` grouped by hash (ringers aside): {@link ReplicaTable.groups},
 * and read in the same statement that counts a result in (ShardTable.submitted).
 */
export const GROUPS_OF_SHARD = `SELECT hash, COUNT(*) AS count FROM replicas WHERE idx = ?1 AND state = ${REPLICA.submitted} AND ringer = 0 GROUP BY hash`;

/** A lease still out, as ending it needs it. */
export type OutstandingLease = { lease: string; idx: number; ringer: number };

/** A submitted output as the rules read it back. */
export type SubmittedOutput = {
  lease: string;
  volunteer: string;
  /** At submission: 0 untrusted, 1 trusted on other work, 2 trusted on this class of work. */
  standing: number;
};

/** The `replicas` table of one job: every lease of a shard and the output it brought back. */
export class ReplicaTable {
  constructor(private readonly sql: SqlStorage) {}

  get(lease: string): ReplicaRow | undefined {
    return this.sql.exec<ReplicaRow>(`SELECT ${ROW} FROM replicas WHERE lease = ?`, lease).toArray()[0];
  }

  /** A lease with whether its volunteer is banned in this job (`banned` 1), in one read: what a result or heartbeat checks first. */
  getChecked(lease: string): (ReplicaRow & { banned: number }) | undefined {
    return this.sql
      .exec<ReplicaRow & { banned: number }>(
        `SELECT ${ROW}, EXISTS (SELECT 1 FROM banned b WHERE b.volunteer = replicas.volunteer) AS banned FROM replicas WHERE lease = ?`,
        lease,
      )
      .toArray()[0];
  }

  /** Submitted outputs of a shard grouped by hash. */
  groups(idx: number): OutputGroup[] {
    return this.sql.exec<OutputGroup>(GROUPS_OF_SHARD, idx).toArray();
  }

  /**
   * Records new leases of `volunteer`, in one statement (a lease call issues up to 64), all
   * expiring at `expiresAt`; `deadline` is the hard end heartbeats never extend past.
   */
  lease(volunteer: string, expiresAt: number, deadline: number, leases: readonly { lease: string; idx: number; ringer: boolean }[]): void {
    if (!leases.length) return;
    this.sql.exec(
      `INSERT INTO replicas (lease, idx, volunteer, state, expires_at, deadline, ringer)
       SELECT value ->> 0, value ->> 1, ?1, ${REPLICA.leased}, ?2, ?3, value ->> 2 FROM json_each(?4)`,
      volunteer,
      expiresAt,
      deadline,
      JSON.stringify(leases.map((l) => [l.lease, l.idx, l.ringer ? 1 : 0])),
    );
  }

  /** Leases `volunteer` has in any of `states`, counted up to `limit` (the cost stays small however much it did). */
  countOf(volunteer: string, states: readonly number[], limit: number): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM replicas WHERE volunteer = ? AND state IN (${states.join(",")}) LIMIT ${bound(limit)})`,
        volunteer,
      )
      .one().n;
  }

  setState(lease: string, state: ReplicaState): void {
    this.sql.exec("UPDATE replicas SET state = ? WHERE lease = ?", state, lease);
  }

  /** Outstanding leases past their deadline, oldest first (at most `limit`). */
  overdue(now: number, limit: number): (OutstandingLease & { volunteer: string })[] {
    return this.sql
      .exec<OutstandingLease & { volunteer: string }>(
        `SELECT lease, idx, ringer, volunteer FROM replicas WHERE state = ${REPLICA.leased} AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
        now,
        limit,
      )
      .toArray();
  }

  /**
   * Deletes `volunteer`'s leases that ended without output past its newest `keep` of them (a late
   * result for one deleted answers 404 instead of 410); returns how many.
   */
  pruneReturnedOf(volunteer: string, keep: number): number {
    return this.sql.exec(
      `DELETE FROM replicas WHERE rowid IN (SELECT rowid FROM replicas WHERE volunteer = ? AND state IN (${REPLICA.expired}, ${REPLICA.released}) ORDER BY rowid DESC LIMIT -1 OFFSET ?)`,
      volunteer,
      keep,
    ).rowsWritten;
  }

  /** Deletes up to `limit` leases that ended without output before `before`; returns how many. */
  deleteReturned(before: number, limit: number): number {
    return this.sql.exec(
      `DELETE FROM replicas WHERE lease IN (SELECT lease FROM replicas WHERE state IN (${REPLICA.expired}, ${REPLICA.released}) AND expires_at < ? LIMIT ?)`,
      before,
      limit,
    ).rowsWritten;
  }

  /** Earliest deadline of any outstanding lease, if any. */
  nextExpiry(): number | undefined {
    const row = this.sql.exec<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM replicas WHERE state = ${REPLICA.leased}`).toArray()[0];
    return row?.at ?? undefined;
  }

  extend(lease: string, expiresAt: number): void {
    this.sql.exec("UPDATE replicas SET expires_at = ? WHERE lease = ?", expiresAt, lease);
  }

  /**
   * Stores a submitted output for lease `lease` of shard `idx` if `volunteer` holds it and may use
   * it now: still out, not expired at `now`, the volunteer not banned here (a ringer's text is not
   * kept). Answers the row as stored, or undefined when nothing was written.
   */
  submitHeld(lease: string, idx: number, volunteer: string, now: number, hash: string, text: string, standing: number): ReplicaRow | undefined {
    return this.sql
      .exec<ReplicaRow>(
        `UPDATE replicas SET state = ${REPLICA.submitted}, hash = ?1, output = CASE WHEN ringer = 1 THEN NULL ELSE ?2 END, at = ?3, standing = ?4
         WHERE lease = ?5 AND idx = ?6 AND volunteer = ?7 AND state = ${REPLICA.leased} AND expires_at > ?3
           AND NOT EXISTS (SELECT 1 FROM banned WHERE volunteer = ?7)
         RETURNING ${ROW}`,
        hash,
        text,
        now,
        standing,
        lease,
        idx,
        volunteer,
      )
      .toArray()[0];
  }

  /** Stores a submitted output (`text` null: a ringer's, judged by its hash alone). */
  submit(lease: string, hash: string, text: string | null, at: number, standing: number): void {
    this.sql.exec(
      "UPDATE replicas SET state = ?, hash = ?, output = ?, at = ?, standing = ? WHERE lease = ?",
      REPLICA.submitted,
      hash,
      text,
      at,
      standing,
      lease,
    );
  }

  /** Earlier outputs of shard `idx` (submitted or rejected, not failures), one per hash, oldest first. */
  distinctOutputs(idx: number, errorHash: string): { hash: string; output: string }[] {
    return this.sql
      .exec<{ hash: string; output: string }>(
        `SELECT hash, output FROM replicas WHERE idx = ? AND state IN (${REPLICA.submitted}, ${REPLICA.rejected}) AND output IS NOT NULL
           AND hash != ? GROUP BY hash ORDER BY MIN(at)`,
        idx,
        errorHash,
      )
      .toArray();
  }

  /**
   * Rejects the counted submitted outputs of `idx` whose `column` differs from `value`, except those
   * whose hash is `spare`, dropping their text; returns their volunteers. A settled output that lost
   * keeps its hash, not its text: junk outputs cannot pile up.
   */
  rejectDiffering(idx: number, column: "output" | "hash", value: string, spare?: string): string[] {
    return spare === undefined ? this.#reject(idx, `${column} != ?`, value) : this.#reject(idx, `${column} != ? AND hash != ?`, value, spare);
  }

  /** Rejects the counted submitted outputs of `idx` under `hash`; returns their volunteers. */
  rejectWithHash(idx: number, hash: string): string[] {
    return this.#reject(idx, "hash = ?", hash);
  }

  #reject(idx: number, condition: string, ...args: string[]): string[] {
    const wrong = this.sql
      .exec<{ lease: string; volunteer: string }>(
        `SELECT lease, volunteer FROM replicas WHERE idx = ? AND state = ${REPLICA.submitted} AND ringer = 0 AND ${condition}`,
        idx,
        ...args,
      )
      .toArray();
    for (const w of wrong) this.sql.exec("UPDATE replicas SET state = ?, output = NULL WHERE lease = ?", REPLICA.rejected, w.lease);
    return wrong.map((w) => w.volunteer);
  }

  /** Discards a voting round: the counted submitted outputs of `idx` are superseded, their text dropped. */
  supersede(idx: number): void {
    this.sql.exec(`UPDATE replicas SET state = ?, output = NULL WHERE idx = ? AND state = ${REPLICA.submitted} AND ringer = 0`, REPLICA.superseded, idx);
  }

  /** The first submitted output of `idx` under `hash` (the one a shard accepts). */
  firstSubmitted(idx: number, hash: string): string {
    return this.sql
      .exec<{ output: string }>(
        `SELECT output FROM replicas WHERE idx = ? AND hash = ? AND state = ${REPLICA.submitted} AND output IS NOT NULL ORDER BY at LIMIT 1`,
        idx,
        hash,
      )
      .one().output;
  }

  /** Any stored output of `idx` under `hash`. */
  anyOutput(idx: number, hash: string): string {
    return this.sql.exec<{ output: string }>("SELECT output FROM replicas WHERE idx = ? AND hash = ? AND output IS NOT NULL LIMIT 1", idx, hash).one().output;
  }

  /** The counted submitted outputs of `idx` under `hash`: who agreed, and their standing then. */
  agreeing(idx: number, hash: string): SubmittedOutput[] {
    return this.sql
      .exec<SubmittedOutput>(
        `SELECT lease, volunteer, standing FROM replicas WHERE idx = ? AND state = ${REPLICA.submitted} AND ringer = 0 AND hash = ?`,
        idx,
        hash,
      )
      .toArray();
  }

  /** Shards `volunteer` holds a counted lease or output of. */
  shardsTouchedBy(volunteer: string): number[] {
    return this.sql
      .exec<{ idx: number }>(
        `SELECT DISTINCT idx FROM replicas WHERE volunteer = ? AND state IN (${REPLICA.leased}, ${REPLICA.submitted}) AND ringer = 0`,
        volunteer,
      )
      .toArray()
      .map((r) => r.idx);
  }

  /** The outstanding leases of `volunteer`. */
  leasedBy(volunteer: string): OutstandingLease[] {
    return this.sql.exec<OutstandingLease>(`SELECT lease, idx, ringer FROM replicas WHERE volunteer = ? AND state = ${REPLICA.leased}`, volunteer).toArray();
  }

  /** Rejects every submitted output of `volunteer`. */
  rejectAllOf(volunteer: string): void {
    this.sql.exec("UPDATE replicas SET state = ? WHERE volunteer = ? AND state = ?", REPLICA.rejected, volunteer, REPLICA.submitted);
  }
}
