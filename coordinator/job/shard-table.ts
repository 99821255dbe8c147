import { GROUPS_OF_SHARD, type OutputGroup } from "./replica-table.ts";
import { bound, REPLICA, SHARD } from "./tables.ts";

/** One started shard. */
export type ShardRow = {
  idx: number;
  state: number;
  deficit: number;
  active: number;
  accepted_hash: string | null;
  accept_seq: number | null;
  need: number | null;
  verified: number;
  rounds: number;
  error: string | null;
  hold_until: number | null;
};

/**
 * How many of the oldest shards needing replicas a lease picks from at random: far more than the
 * 64 one call may take, so volunteers leasing back to back rarely land on the same shards.
 */
const WANTING_POOL = 256;

/** A shard started from the cursor: replicas still to issue, agreeing outputs needed (null: the job's quorum), and until when only trusted volunteers may confirm it. */
export type FreshShard = { idx: number; deficit: number; need: number | null; holdUntil: number | null };

/** An accepted shard's output, in accept order. */
export type AcceptedOutput = {
  idx: number;
  output: string;
  seq: number;
};

/** A lone submitted output on an open shard that waits for a second opinion. */
export type WaitingOutput = {
  idx: number;
  lease: string;
  volunteer: string;
  output: string;
  hash: string;
  standing: number;
};

/**
 * The `shards` table of one job: a row per shard once first leased, with its replica counts and
 * verdict. Reads that join a shard's replicas (its accepted output, who touched it) live here too.
 */
export class ShardTable {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * True once a probe found no open shard with replicas to issue, until a write that can add one
   * (every such write goes through this class and clears it). A job whose shards need one replica
   * each, the usual case, then looks for none on every lease without a query.
   */
  #noneWanting = false;

  get(idx: number): ShardRow | undefined {
    return this.sql.exec<ShardRow>("SELECT * FROM shards WHERE idx = ?", idx).toArray()[0];
  }

  /** The highest index of a started shard, if any (shards start in index order: the lease cursor is one past it). */
  lastStarted(): number | undefined {
    return this.sql.exec<{ idx: number | null }>("SELECT MAX(idx) AS idx FROM shards").one().idx ?? undefined;
  }

  /** Open shards holding a submitted output that waits for an independent volunteer to confirm it. */
  awaitingConfirmation(): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM shards s WHERE s.state = ${SHARD.open}
           AND EXISTS (SELECT 1 FROM replicas r WHERE r.idx = s.idx AND r.state = ${REPLICA.submitted} AND r.ringer = 0)`,
      )
      .one().n;
  }

  /** Whether a started shard has replicas to issue. One indexed probe. */
  anyWanting(): boolean {
    if (this.#noneWanting) return false;
    const any = this.sql.exec(`SELECT 1 FROM shards WHERE state = ${SHARD.open} AND deficit > 0 LIMIT 1`).toArray().length > 0;
    this.#noneWanting = !any;
    return any;
  }

  /**
   * Open shards with replicas to issue, skipping those this volunteer already holds: a random
   * pick among the oldest few hundred, so volunteers leasing back to back (colluders, say) do not
   * get each other's shards as a matter of course, while started shards still finish first.
   * A stranger (`trustedAnywhere` false) is not offered a stranger's uncheckable result to confirm
   * until it has waited `hold_until`: trusted volunteers confirm those first, so fresh identities
   * rarely get to vouch for each other.
   */
  wanting(volunteer: string, limit: number, now: number, trustedAnywhere: boolean): number[] {
    if (limit <= 0 || this.#noneWanting) return [];
    const candidates = this.sql
      .exec<{ idx: number }>(
        `SELECT idx FROM shards s WHERE s.state = ${SHARD.open} AND s.deficit > 0
           AND (? OR s.hold_until IS NULL OR s.hold_until <= ?)
           AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.idx = s.idx AND r.volunteer = ?
             AND r.state IN (${REPLICA.leased}, ${REPLICA.submitted}, ${REPLICA.rejected}, ${REPLICA.superseded}))
         ORDER BY idx LIMIT ${bound(Math.max(limit, WANTING_POOL))}`,
        trustedAnywhere ? 1 : 0,
        now,
        volunteer,
      )
      .toArray()
      .map((r) => r.idx);
    // Nothing for this volunteer: learn whether there is anything for anyone.
    if (!candidates.length) this.anyWanting();
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    return candidates.slice(0, limit);
  }

  /** Fresh shards from the cursor, each with its first lease out, in one statement (a lease call starts up to 64). */
  start(shards: readonly FreshShard[]): void {
    if (!shards.length) return;
    if (shards.some((s) => s.deficit > 0)) this.#noneWanting = false;
    this.sql.exec(
      `INSERT INTO shards (idx, state, deficit, active, need, hold_until)
       SELECT value ->> 0, ${SHARD.open}, value ->> 1, 1, value ->> 2, value ->> 3 FROM json_each(?)`,
      JSON.stringify(shards.map((s) => [s.idx, s.deficit, s.need, s.holdUntil])),
    );
  }

  /** One more lease of a started shard is out. */
  leased(idx: number): void {
    this.sql.exec("UPDATE shards SET deficit = deficit - 1, active = active + 1 WHERE idx = ?", idx);
  }

  /**
   * A lease came back with an output (or is being judged again): one fewer out. Answers the shard
   * as it is now and its submitted outputs grouped by hash (the output just stored among them),
   * in one statement: every result reads both.
   */
  submitted(idx: number): { shard: ShardRow; groups: OutputGroup[] } {
    const { groups, ...shard } = this.sql
      .exec<ShardRow & { groups: string }>(
        `UPDATE shards SET active = active - 1 WHERE idx = ?1
         RETURNING *, (SELECT json_group_array(json_array(hash, count)) FROM (${GROUPS_OF_SHARD})) AS groups`,
        idx,
      )
      .one();
    return { shard, groups: (JSON.parse(groups) as [string, number][]).map(([hash, count]) => ({ hash, count })) };
  }

  /** A submitted output goes back to being judged, as if its lease were still out. */
  resumed(idx: number): void {
    this.sql.exec("UPDATE shards SET active = active + 1 WHERE idx = ?", idx);
  }

  /** A lease ended without output: one fewer out, and its replica is to be issued again while the shard is open. */
  returned(idx: number): void {
    this.#noneWanting = false;
    this.sql.exec(`UPDATE shards SET active = active - 1, deficit = deficit + (CASE WHEN state = ${SHARD.open} THEN 1 ELSE 0 END) WHERE idx = ?`, idx);
  }

  addDeficit(idx: number, n: number): void {
    if (n > 0) this.#noneWanting = false;
    this.sql.exec("UPDATE shards SET deficit = deficit + ? WHERE idx = ?", n, idx);
  }

  /** The shard now needs `need` agreeing outputs, with `more` replicas to issue on top of those planned. */
  require(idx: number, need: number, more = 0): void {
    if (more > 0) this.#noneWanting = false;
    this.sql.exec("UPDATE shards SET need = ?, deficit = deficit + ? WHERE idx = ?", need, more, idx);
  }

  /** Starts a fresh voting round needing `need` outputs, minus the leases still out. */
  newRound(idx: number, need: number): void {
    this.#noneWanting = false;
    this.sql.exec("UPDATE shards SET rounds = rounds + 1, deficit = MAX(0, ? - active) WHERE idx = ?", need, idx);
  }

  accept(idx: number, hash: string, seq: number, verified: boolean): void {
    this.sql.exec(
      "UPDATE shards SET state = ?, deficit = 0, accepted_hash = ?, accept_seq = ?, verified = ? WHERE idx = ?",
      SHARD.accepted,
      hash,
      seq,
      verified ? 1 : 0,
      idx,
    );
  }

  fail(idx: number, reason: string): void {
    this.sql.exec("UPDATE shards SET state = ?, deficit = 0, error = ? WHERE idx = ?", SHARD.failed, reason, idx);
  }

  /** Its accepted output is known right: a ringer source. */
  verify(idx: number): void {
    this.sql.exec("UPDATE shards SET verified = 1 WHERE idx = ?", idx);
  }

  /** An accepted shard opens again, needing `need` agreeing outputs (null: the job's quorum). */
  reopen(idx: number, need: number | null): void {
    this.#noneWanting = false;
    this.sql.exec("UPDATE shards SET state = ?, accepted_hash = NULL, accept_seq = NULL, verified = 0, need = ? WHERE idx = ?", SHARD.open, need, idx);
  }

  /** The newest verified shards `volunteer` never had a lease of (at most `limit`). */
  verifiedUnseenBy(volunteer: string, limit: number): number[] {
    return this.sql
      .exec<{ idx: number }>(
        `SELECT idx FROM shards s WHERE verified = 1
           AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.idx = s.idx AND r.volunteer = ?)
         ORDER BY idx DESC LIMIT ${bound(limit)}`,
        volunteer,
      )
      .toArray()
      .map((r) => r.idx);
  }

  /** Accepted, unverified shards that took `volunteer`'s counted output, with the accepted hash. */
  acceptedOnWordOf(volunteer: string): { idx: number; hash: string }[] {
    return this.sql
      .exec<{ idx: number; hash: string }>(
        `SELECT DISTINCT s.idx AS idx, s.accepted_hash AS hash FROM replicas r JOIN shards s ON s.idx = r.idx
         WHERE r.volunteer = ? AND r.state = ${REPLICA.submitted} AND r.ringer = 0 AND s.state = ${SHARD.accepted} AND r.hash = s.accepted_hash
           AND s.verified = 0`,
        volunteer,
      )
      .toArray();
  }

  /** Shards after index `after` with their state, accepted output and error (at most `limit`). */
  list(after: number, limit: number): { idx: number; state: number; output: string | null; error: string | null }[] {
    return this.sql
      .exec<{ idx: number; state: number; output: string | null; error: string | null }>(
        `SELECT s.idx AS idx, s.state AS state, r.output AS output, s.error AS error, MIN(r.at) FROM shards s
         LEFT JOIN replicas r ON r.idx = s.idx AND r.hash = s.accepted_hash AND r.output IS NOT NULL
         WHERE s.idx > ? GROUP BY s.idx ORDER BY s.idx LIMIT ?`,
        after,
        limit,
      )
      .toArray();
  }

  /** Outputs of the shards accepted after sequence `after` (and before `before`, if given), in accept order; at most `limit`, if given. */
  acceptedOutputs(after: number, { before = Number.MAX_SAFE_INTEGER, limit = -1 }: { before?: number; limit?: number } = {}): Iterable<AcceptedOutput> {
    // SQLite reads LIMIT -1 as no limit.
    return this.sql.exec<AcceptedOutput>(
      `SELECT s.idx AS idx, r.output AS output, s.accept_seq AS seq, MIN(r.at) FROM shards s
           JOIN replicas r ON r.idx = s.idx AND r.hash = s.accepted_hash AND r.output IS NOT NULL
         WHERE s.accept_seq > ? AND s.accept_seq < ? AND s.state = ${SHARD.accepted} GROUP BY s.idx ORDER BY s.accept_seq LIMIT ?`,
      after,
      before,
      limit,
    );
  }

  /** Open shards with no lease out whose only counted output (not a failure) waits for confirmation (at most `limit`). */
  waitingAlone(errorHash: string, limit: number): WaitingOutput[] {
    return this.sql
      .exec<WaitingOutput>(
        `SELECT r.idx AS idx, r.lease AS lease, r.volunteer AS volunteer, r.output AS output, r.hash AS hash, r.standing AS standing
           FROM shards s JOIN replicas r ON r.idx = s.idx
         WHERE s.state = ${SHARD.open} AND s.active = 0 AND s.need >= 2 AND r.state = ${REPLICA.submitted} AND r.ringer = 0
           AND r.output IS NOT NULL AND r.hash != ?
           AND (SELECT COUNT(*) FROM replicas o WHERE o.idx = s.idx AND o.state = ${REPLICA.submitted} AND o.ringer = 0) = 1
         LIMIT ?`,
        errorHash,
        limit,
      )
      .toArray();
  }
}
