import { randomHex } from "../../shared/canonical.ts";
import { DurableObject } from "cloudflare:workers";
import type { Stats } from "../../shared/schemas.ts";
import type { StatsDelta } from "../job/stats-outbox.ts";
import type { GridMetrics } from "../observe/families.ts";
import { volunteerStub } from "../stubs.ts";
import { tellGateways } from "../gateway/gateways.ts";
import { inWaves } from "../waves.ts";

const ACTIVE_MS = 2 * 60_000;
const BUCKET_MS = 10_000;
const HISTORY_BUCKETS = 90;
/**
 * Credit changes are pushed to the volunteers' own objects this often, at most `PUSH_BATCH`
 * volunteers a time (`PUSH_WAVE` at once), longest waiting first. The budget bounds what credit
 * display costs the grid: a small grid sees its credit within a second or two, a grid of N busy
 * volunteers pushes each about every N / 25 seconds (40 s at 1,000), and never more than 25
 * volunteer commits a second, whatever its size.
 */
const PUSH_MS = 1000;
export const PUSH_BATCH = 25;
/** Pushes sent at once (see inWaves: their acknowledgements are one write a wave). */
const PUSH_WAVE = 8;

/** How long an admitted job's reservation counts against its owner's quotas before it started. */
const ADMISSION_MS = 60_000;

/** A running job as the grid lists it for dispatch. */
export interface RunningJob {
  id: string;
  owner: string;
  priority: number;
  createdAt: number;
  shards: number;
}

/**
 * The grid's directory and figures: which jobs are running (for dispatch, cached per isolate,
 * so it is read about once a second per isolate rather than per lease), volunteer counts,
 * throughput history and credit. Jobs report to it in batches; no lease or result waits on it.
 * Public figures are read through the edge cache (routes/stats.ts); a volunteer's own credit is
 * pushed to its VolunteerObject, which answers `/v1/volunteers/me`, so no client read lands here
 * more than once every few seconds per colo.
 */
export class GridObject extends DurableObject<Env> {
  readonly sql: SqlStorage;
  /** Reads served since this instance started (for tests and logs: these are the calls that must stay rare). */
  readonly served = { stats: 0, runningJobs: 0 };
  /** The alarm time as last set (undefined: not read yet, null: none). */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    const upgrading = !this.sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'credit_push'").toArray().length;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS running (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS running_age ON running(created_at);
      CREATE TABLE IF NOT EXISTS counters (k TEXT PRIMARY KEY, n REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS seen (volunteer TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS seen_at ON seen(at);
      CREATE TABLE IF NOT EXISTS history (t INTEGER PRIMARY KEY, shards INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS credit (volunteer TEXT PRIMARY KEY, credit REAL NOT NULL, results INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS credit_top ON credit(credit DESC);
      CREATE TABLE IF NOT EXISTS secrets (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      -- Volunteers whose credit changed since their object last took it (version: the report that changed it).
      CREATE TABLE IF NOT EXISTS credit_push (volunteer TEXT PRIMARY KEY, version INTEGER NOT NULL);
      -- Each job's storage as its last report gave it (GET /metrics sums those of running jobs).
      CREATE TABLE IF NOT EXISTS job_storage (id TEXT PRIMARY KEY, bytes INTEGER NOT NULL, at INTEGER NOT NULL);
      -- Jobs admitted under their owner's quota and being created: counted until they start (or for a minute).
      CREATE TABLE IF NOT EXISTS admitted (id TEXT PRIMARY KEY, owner TEXT NOT NULL, shards INTEGER NOT NULL, at INTEGER NOT NULL);
    `);
    this.#runningColumns();
    // Credit earned before volunteers' objects kept it: push every total once (version 0: any later report wins).
    if (upgrading && this.sql.exec("INSERT INTO credit_push (volunteer, version) SELECT volunteer, 0 FROM credit").rowsWritten) {
      void ctx.blockConcurrencyWhile(() => this.#pushAt(Date.now() + PUSH_MS));
    }
  }

  #add(k: string, n: number): void {
    if (n) this.sql.exec("INSERT INTO counters (k, n) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET n = n + excluded.n", k, n);
  }
  #get(k: string): number {
    return this.sql.exec<{ n: number }>("SELECT n FROM counters WHERE k = ?", k).toArray()[0]?.n ?? 0;
  }

  /** A signing secret for volunteer tokens, made once, for deployments without COLMEIA_SECRET. */
  async secret(): Promise<string> {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM secrets WHERE k = 'volunteer'").toArray()[0];
    if (row) return row.v;
    const v = randomHex(32);
    this.sql.exec("INSERT INTO secrets (k, v) VALUES ('volunteer', ?)", v);
    return v;
  }

  /** Adds the running list's owner, priority and shard columns to a grid created before fair share. */
  #runningColumns(): void {
    const columns = new Set(
      this.sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('running')")
        .toArray()
        .map((r) => r.name),
    );
    if (!columns.has("owner")) this.sql.exec("ALTER TABLE running ADD COLUMN owner TEXT NOT NULL DEFAULT ''");
    if (!columns.has("priority")) this.sql.exec("ALTER TABLE running ADD COLUMN priority INTEGER NOT NULL DEFAULT 0");
    if (!columns.has("shards")) this.sql.exec("ALTER TABLE running ADD COLUMN shards INTEGER NOT NULL DEFAULT 0");
    this.sql.exec("CREATE INDEX IF NOT EXISTS running_owner ON running(owner)");
  }

  /** A job is running (new, reopened by backtracking, or re-asserted by its own alarm). */
  async jobStarted(job: RunningJob, fresh = true): Promise<void> {
    const listed = this.sql.exec("SELECT 1 FROM running WHERE id = ?", job.id).toArray().length > 0;
    // Newly runnable (not a re-announcement): the gateways push it to their waiting sessions at once.
    if (!listed) this.ctx.waitUntil(tellGateways(this.env, job));
    this.sql.exec(
      `INSERT INTO running (id, created_at, owner, priority, shards) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, priority = excluded.priority, shards = excluded.shards`,
      job.id,
      job.createdAt,
      job.owner,
      job.priority,
      job.shards,
    );
    this.sql.exec("DELETE FROM admitted WHERE id = ?", job.id);
    if (fresh) this.#add("jobsTotal", 1);
  }

  /**
   * Admits a job about to be created under its owner's quotas, or says what it holds already:
   * the check and the reservation are one step of this object, so concurrent creations cannot
   * all pass a count read before any of them started. A reservation counts until the job starts
   * (jobStarted), is released (jobEnded), or a minute has passed (a creation that died).
   */
  async admit(
    job: { id: string; owner: string; shards: number },
    limits: { jobs: number; shards: number },
  ): Promise<{ admitted: true } | { admitted: false; jobs: number; shards: number }> {
    const now = Date.now();
    this.sql.exec("DELETE FROM admitted WHERE at < ?", now - ADMISSION_MS);
    const held = this.sql
      .exec<{ jobs: number; shards: number }>(
        `SELECT COUNT(*) AS jobs, COALESCE(SUM(shards), 0) AS shards FROM
           (SELECT shards FROM running WHERE owner = ?1 UNION ALL SELECT shards FROM admitted WHERE owner = ?1 AND id NOT IN (SELECT id FROM running))`,
        job.owner,
      )
      .one();
    if (held.jobs >= limits.jobs || held.shards + job.shards > limits.shards) return { admitted: false, ...held };
    this.sql.exec("INSERT OR REPLACE INTO admitted (id, owner, shards, at) VALUES (?, ?, ?, ?)", job.id, job.owner, job.shards, now);
    return { admitted: true };
  }

  /** Gives back an admitted job's place when its creation failed; a job running under that id (created by another request) stays. */
  async unadmit(id: string): Promise<void> {
    this.sql.exec("DELETE FROM admitted WHERE id = ?", id);
  }

  async jobEnded(id: string): Promise<void> {
    this.sql.exec("DELETE FROM running WHERE id = ?", id);
    this.sql.exec("DELETE FROM admitted WHERE id = ?", id);
  }

  /**
   * Every running job with its owner and priority, for fair-share dispatch. Per-submitter quotas
   * bound the list (LIMITS.runningJobsPerSubmitter jobs each), so none is ever left out.
   */
  async runningJobs(): Promise<RunningJob[]> {
    this.served.runningJobs++;
    return this.sql
      .exec<{ id: string; owner: string; priority: number; created_at: number; shards: number }>(
        // Each submitter's jobs in fair-share.ts's byRunOrder.
        "SELECT id, owner, priority, created_at, shards FROM running ORDER BY owner, priority DESC, created_at, id",
      )
      .toArray()
      .map((r) => ({ id: r.id, owner: r.owner, priority: r.priority, createdAt: r.created_at, shards: r.shards }));
  }

  async volunteerRegistered(): Promise<void> {
    this.#add("volunteersRegistered", 1);
  }

  async report(d: StatsDelta): Promise<void> {
    const now = Date.now();
    this.#add("shardsCompleted", d.shardsCompleted);
    this.#add("shardsFailed", d.shardsFailed);
    this.#add("resultsAccepted", d.resultsAccepted);
    for (const [k, n] of Object.entries(d.counts ?? {})) this.#add(k, n ?? 0);
    if (d.storage) this.#jobStorage(d.storage.job, d.storage.bytes, now);
    if (d.shardsCompleted) {
      const t = Math.floor(now / BUCKET_MS) * BUCKET_MS;
      this.sql.exec("INSERT INTO history (t, shards) VALUES (?, ?) ON CONFLICT(t) DO UPDATE SET shards = shards + excluded.shards", t, d.shardsCompleted);
      this.sql.exec("DELETE FROM history WHERE t < ?", t - HISTORY_BUCKETS * BUCKET_MS);
    }
    for (const v of d.seen) this.sql.exec("INSERT INTO seen (volunteer, at) VALUES (?, ?) ON CONFLICT(volunteer) DO UPDATE SET at = excluded.at", v, now);
    // Pruned on the (batched) write path, so an anonymous stats read never writes.
    this.sql.exec("DELETE FROM seen WHERE at < ?", now - ACTIVE_MS);
    const credited = Object.entries(d.credit);
    if (!credited.length) return;
    this.#add("creditVersion", 1);
    const version = this.#get("creditVersion");
    for (const [v, c] of credited) {
      this.sql.exec(
        "INSERT INTO credit (volunteer, credit, results) VALUES (?, ?, ?) ON CONFLICT(volunteer) DO UPDATE SET credit = credit + excluded.credit, results = results + excluded.results",
        v,
        c,
        c,
      );
      this.sql.exec("INSERT INTO credit_push (volunteer, version) VALUES (?, ?) ON CONFLICT(volunteer) DO UPDATE SET version = excluded.version", v, version);
    }
    await this.#pushAt(now + PUSH_MS);
  }

  /** Records a job's storage; rows of jobs gone from the running list for 10 minutes are dropped. */
  #jobStorage(job: string, bytes: number, now: number): void {
    this.sql.exec(
      "INSERT INTO job_storage (id, bytes, at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes, at = excluded.at",
      job,
      bytes,
      now,
    );
    this.sql.exec("DELETE FROM job_storage WHERE at < ? AND id NOT IN (SELECT id FROM running)", now - 10 * 60_000);
  }

  /** Counters and gauges for `GET /metrics`: read by operators' scrapers, never on a client's path. */
  async metrics(): Promise<GridMetrics> {
    const now = Date.now();
    const storage = this.sql
      .exec<{ total: number; largest: number }>(
        "SELECT COALESCE(SUM(bytes), 0) AS total, COALESCE(MAX(bytes), 0) AS largest FROM job_storage WHERE id IN (SELECT id FROM running)",
      )
      .one();
    return {
      counters: Object.fromEntries(
        this.sql
          .exec<{ k: string; n: number }>("SELECT k, n FROM counters")
          .toArray()
          .map((r) => [r.k, r.n]),
      ),
      volunteersActive: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM seen WHERE at >= ?", now - ACTIVE_MS).one().n,
      jobsRunning: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM running").one().n,
      jobStorage: { total: storage.total, largest: storage.largest },
      gridBytes: this.sql.databaseSize,
      at: now,
    };
  }

  /** Pushes changed credit to the volunteers' objects (absolute totals: a lost or repeated push heals on the next). */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const rows = this.sql
      .exec<{ volunteer: string; version: number; credit: number | null; results: number | null }>(
        // In the order they first changed (a row keeps its rowid while it waits): none waits behind
        // volunteers who earn credit more often.
        "SELECT p.volunteer, p.version, c.credit, c.results FROM credit_push p LEFT JOIN credit c USING (volunteer) ORDER BY p.rowid LIMIT ?",
        PUSH_BATCH,
      )
      .toArray();
    await inWaves(
      rows,
      PUSH_WAVE,
      (r) => volunteerStub(this.env, r.volunteer).credited({ credit: r.credit ?? 0, results: r.results ?? 0 }, r.version),
      (wave, pushed) =>
        wave.forEach((r, i) => {
          const out = pushed[i]!;
          // Only if no newer report changed it meanwhile: that one is pushed next time.
          if (out.status === "fulfilled") this.sql.exec("DELETE FROM credit_push WHERE volunteer = ? AND version = ?", r.volunteer, r.version);
          else console.warn(`pushing credit to ${r.volunteer} failed; will retry`, out.reason);
        }),
    );
    if (this.sql.exec("SELECT 1 FROM credit_push LIMIT 1").toArray().length) await this.#pushAt(Date.now() + PUSH_MS);
  }

  async #pushAt(at: number): Promise<void> {
    if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    // A remembered time long past is an alarm that already ran (or was lost): set it again.
    if (this.#alarmAt !== null && this.#alarmAt <= at && this.#alarmAt > Date.now() - 10_000) return;
    this.#alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  async stats(): Promise<Stats> {
    this.served.stats++;
    const now = Date.now();
    const history = this.sql.exec<{ t: number; shards: number }>("SELECT t, shards FROM history ORDER BY t").toArray();
    // Whole buckets that started within the last minute, over the time they actually span.
    const window = history.filter((h) => h.t >= now - 60_000);
    const windowSeconds = window.length ? Math.max(1, (now - window[0]!.t) / 1000) : 60;
    return {
      volunteersActive: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM seen WHERE at >= ?", now - ACTIVE_MS).one().n,
      volunteersRegistered: this.#get("volunteersRegistered"),
      jobsRunning: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM running").one().n,
      jobsTotal: this.#get("jobsTotal"),
      shardsCompleted: this.#get("shardsCompleted"),
      shardsFailed: this.#get("shardsFailed"),
      resultsAccepted: this.#get("resultsAccepted"),
      throughput: { shardsPerSecond: window.reduce((s, h) => s + h.shards, 0) / windowSeconds, windowSeconds },
      history,
      topContributors: this.sql
        .exec<{ volunteer: string; credit: number; results: number }>("SELECT volunteer, credit, results FROM credit ORDER BY credit DESC LIMIT 10")
        .toArray(),
      at: now,
    };
  }
}
