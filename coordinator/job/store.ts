import { datasetInput, rangeInput, type JobMeta } from "./meta.ts";
import { OutboxTable } from "./outbox-table.ts";
import { ReplicaTable } from "./replica-table.ts";
import { ShardTable } from "./shard-table.ts";
import { bound, JOB_TABLES, REPLICA, migrate, readBlob, writeBlob } from "./tables.ts";
import { VolunteerTable } from "./volunteer-table.ts";

/**
 * One job's SQLite storage, with the meta row cached in memory. It holds the meta row, the
 * shards' inputs, blobs and the tombstone itself, and composes one class per table with rules of
 * its own (`shards`, `replicas`, `volunteers`, `outboxes`), each a few dozen named statements.
 * The job/* modules state the rules and call these methods, never SQL; `sql` stays public for
 * tests whose subject is storage itself.
 */
export class JobStore {
  #meta: JobMeta | undefined;
  readonly shards: ShardTable;
  readonly replicas: ReplicaTable;
  readonly volunteers: VolunteerTable;
  readonly outboxes: OutboxTable;

  constructor(readonly sql: SqlStorage) {
    this.shards = new ShardTable(sql);
    this.replicas = new ReplicaTable(sql);
    this.volunteers = new VolunteerTable(sql);
    this.outboxes = new OutboxTable(sql);
    // Tables exist only once a job was created: a request naming a made-up id stores nothing.
    if (!this.#hasTable("meta")) return;
    sql.exec(JOB_TABLES); // idempotent: adds what a newer version introduced
    migrate(sql);
    const row = sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'job'").toArray()[0];
    const meta = row ? (JSON.parse(row.v) as JobMeta) : undefined;
    // The cursor is stored only with the meta row's other writes (see advance): shards started
    // since have their rows, so it resumes one past the last of them.
    const started = meta ? this.shards.lastStarted() : undefined;
    this.#meta = meta && started !== undefined && started >= meta.next ? { ...meta, next: started + 1 } : meta;
  }

  /** The tombstone of a job deleted after its retention period: its owner (who is told 410, not 404). */
  tomb(): { owner: string } | undefined {
    return this.#hasTable("tomb") ? this.sql.exec<{ owner: string }>("SELECT owner FROM tomb").toArray()[0] : undefined;
  }

  #hasTable(name: string): boolean {
    return this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
  }

  /** Leaves a tombstone in storage just emptied (the job's tables are gone): see {@link tomb}. */
  bury(owner: string, at: number): void {
    this.sql.exec("CREATE TABLE tomb (owner TEXT NOT NULL, at INTEGER NOT NULL)");
    this.sql.exec("INSERT INTO tomb (owner, at) VALUES (?, ?)", owner, at);
  }

  /** Bytes the job's object stores. */
  get bytes(): number {
    return this.sql.databaseSize;
  }

  /** Creates the job's tables (on job creation). */
  init(): void {
    this.sql.exec(JOB_TABLES);
  }

  get meta(): JobMeta | undefined {
    return this.#meta;
  }

  /** Called after a save changed what a submitter sees; `stateChanged` when the state itself moved. */
  onChange: ((stateChanged: boolean) => void) | undefined;

  /** Persists the meta row (and caches it), bumping `version` when the visible status changed; within {@link batch}, when the batch ends. */
  saveMeta(next: JobMeta): void {
    const prev = this.#meta;
    const visible = (m: JobMeta | undefined) => m && `${m.state}|${m.done}|${m.failed}|${m.notify?.state}|${m.notify?.attempts}`;
    const changed = visible(prev) !== visible(next);
    const meta = changed ? { ...next, version: (next.version ?? 0) + 1 } : next;
    this.#meta = meta;
    if (this.#batching) this.#unsaved = true;
    else this.#writeMeta();
    if (changed && prev) this.onChange?.(prev.state !== meta.state);
  }

  /**
   * Moves the lease cursor (`next`) in memory only. Leasing moves it on every call that starts
   * shards, and each started shard has its row, written in the same step: the cursor is implied
   * by them (see the constructor), so the meta row need not be written for it. It is stored
   * whenever the row is written for anything else.
   */
  advance(next: number): void {
    this.#meta = { ...this.#meta!, next };
  }

  #writeMeta(): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('job', ?)", JSON.stringify(this.#meta));
  }

  #batching = false;
  #unsaved = false;

  /**
   * Runs a synchronous step that saves the same rows many times (a batch of results, each
   * accepting a shard: the meta row, the volunteer's credit) and writes each once, after it. It is
   * still one step, so no other call sees the difference (a step that throws halfway is thrown
   * away whole by its caller, JobObject.#step); the step itself sees them through this store
   * (`meta`), not through `bytes`, which grows once they are written. (The merged result's
   * checkpoint needs no deferring: it is written once per 64 accepted shards, see Accumulator.)
   */
  batch<T>(step: () => T): T {
    if (this.#batching) return step();
    this.#batching = true;
    this.volunteers.deferCredit();
    try {
      return step();
    } finally {
      this.#batching = false;
      this.volunteers.writeCredit();
      if (this.#unsaved) {
        this.#unsaved = false;
        this.#writeMeta();
      }
    }
  }

  /**
   * What leasing reads of one volunteer, in one statement (a lease call reads it every time):
   * whether it is banned here, the leases it holds and those it handed back (expired or
   * released), each counted up to its bound (written out: see `bound`) so the cost stays small
   * however much it did.
   */
  leasingView(volunteer: string, heldBound: number, returnedBound: number): { banned: boolean; held: number; returned: number } {
    const row = this.sql
      .exec<{ banned: number; held: number; returned: number }>(
        `SELECT EXISTS (SELECT 1 FROM banned WHERE volunteer = ?1) AS banned,
           (SELECT COUNT(*) FROM (SELECT 1 FROM replicas WHERE volunteer = ?1 AND state = ${REPLICA.leased} LIMIT ${bound(heldBound)})) AS held,
           (SELECT COUNT(*) FROM (SELECT 1 FROM replicas WHERE volunteer = ?1 AND state IN (${REPLICA.expired}, ${REPLICA.released}) LIMIT ${bound(returnedBound)})) AS returned`,
        volunteer,
      )
      .one();
    return { banned: row.banned === 1, held: row.held, returned: row.returned };
  }

  /** Open shards holding a submitted output that waits for an independent volunteer to confirm it. */
  awaitingConfirmation(): number {
    if (this.#meta?.state !== "running") return 0;
    return this.shards.awaitingConfirmation();
  }

  /** Whether any volunteer could be given work now. O(1): cursor check plus one indexed probe. */
  hasWork(): boolean {
    const meta = this.#meta;
    if (meta?.state !== "running") return false;
    if (meta.next < meta.total) return true;
    return this.shards.anyWanting();
  }

  /** Stores the inputs of explicit shards (JSON text each) and a CSV dataset's quoted newlines. */
  saveInputs(inputs: readonly string[] = [], quoted: readonly number[] = []): void {
    inputs.forEach((text, idx) => this.sql.exec("INSERT INTO inputs (idx, input) VALUES (?, ?)", idx, text));
    quoted.forEach((pos) => this.sql.exec("INSERT OR IGNORE INTO quoted (pos) VALUES (?)", pos));
  }

  /** Positions of quoted newlines from `from` on, in order (at most `limit`). */
  quotedFrom(from: number, limit: number): number[] {
    return this.sql
      .exec<{ pos: number }>("SELECT pos FROM quoted WHERE pos >= ? ORDER BY pos LIMIT ?", from, limit)
      .toArray()
      .map((r) => r.pos);
  }

  /** A named text of any length (the merged result's checkpoint), or undefined. */
  blob(name: string): string | undefined {
    return readBlob(this.sql, name);
  }

  saveBlob(name: string, text: string): void {
    writeBlob(this.sql, name, text);
  }

  deleteBlob(name: string): void {
    this.sql.exec("DELETE FROM blobs WHERE name = ?", name);
  }

  /** The input of shard `idx`. */
  input(idx: number): unknown {
    const meta = this.#meta!;
    if (meta.range) return rangeInput(meta.range, idx);
    if (meta.dataset) return datasetInput(meta.dataset, idx);
    return JSON.parse(this.inputText(idx));
  }

  /** The stored input of explicit shard `idx` as JSON text. */
  inputText(idx: number): string {
    const row = this.sql.exec<{ input: string }>("SELECT input FROM inputs WHERE idx = ?", idx).toArray()[0];
    if (!row) throw new Error(`input of shard ${idx} is missing`);
    return row.input;
  }
}
