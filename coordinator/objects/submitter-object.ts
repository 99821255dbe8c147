import { randomHex } from "../../shared/canonical.ts";
import type { KernelManifest } from "../../shared/schemas.ts";
import { DurableObject } from "cloudflare:workers";
import { DatasetCatalog, type DatasetRecord, type QuotaProblem, type UploadRecord } from "../datasets/catalog.ts";
import type { ScanState } from "../datasets/scan.ts";

/** How long an `Idempotency-Key` is remembered, how many a submitter keeps, and when a reservation is abandoned. */
export const IDEMPOTENCY = {
  ttlMs: 24 * 60 * 60 * 1000,
  /** At most this many keys per submitter (under 500 bytes each, so under 5 MB): the oldest are forgotten first. */
  maxKeys: 10_000,
  /** A job creation still unfinished after this long is taken to have died; a retry resumes it with the same job id. */
  staleMs: 60_000,
} as const;

/** What an `Idempotency-Key` lets a `POST /v1/jobs` do. */
export type KeyClaim =
  /** First use (or a dead attempt's): create the job `jobId`; a resumed attempt may find it exists already. */
  | { kind: "create"; jobId: string; resumed: boolean }
  /** Already used with the same body: answer with job `jobId`. */
  | { kind: "replay"; jobId: string }
  /** Already used with another body. */
  | { kind: "conflict" }
  /** The same request is being handled right now. */
  | { kind: "busy" };

/** One submitter's job list, kernels, webhook secret and idempotency keys, so listing never scans other submitters' jobs. */
export class SubmitterObject extends DurableObject<Env> {
  readonly sql: SqlStorage;
  readonly #datasets: DatasetCatalog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_age ON jobs(created_at);
      CREATE TABLE IF NOT EXISTS secrets (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS kernels (id TEXT PRIMARY KEY, manifest TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS idempotency (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body_sha256 TEXT NOT NULL,
        job_id TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, claimed_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency(created_at);
    `);
    this.#datasets = new DatasetCatalog(this.sql);
  }

  // Datasets: see DatasetCatalog. Each method is one atomic step of this object.
  async datasetQuota(bytes: number, upload: boolean): Promise<QuotaProblem | undefined> {
    return this.#datasets.quotaProblem(bytes, upload);
  }
  async addDataset(record: DatasetRecord, replacingUpload?: string): Promise<QuotaProblem | undefined> {
    return this.#datasets.add(record, replacingUpload);
  }
  async dataset(id: string): Promise<DatasetRecord | undefined> {
    return this.#datasets.get(id);
  }
  async datasets(): Promise<DatasetRecord[]> {
    return this.#datasets.list();
  }
  async useDataset(id: string, job: string): Promise<DatasetRecord | undefined> {
    return this.#datasets.use(id, job);
  }
  async datasetJobs(id: string): Promise<string[]> {
    return this.#datasets.jobs(id);
  }
  async removeDataset(id: string, ended: string[]): Promise<DatasetRecord | "in_use" | undefined> {
    return this.#datasets.remove(id, ended);
  }
  async unlinkDataset(id: string, ended: string[]): Promise<void> {
    this.#datasets.unlink(id, ended);
  }
  async startUpload(record: UploadRecord): Promise<QuotaProblem | undefined> {
    return this.#datasets.startUpload(record);
  }
  async upload(id: string, now: number): Promise<UploadRecord | undefined> {
    return this.#datasets.upload(id, now);
  }
  async claimPart(id: string, part: number, now: number) {
    return this.#datasets.claimPart(id, part, now);
  }
  async partFailed(id: string, part: number): Promise<void> {
    this.#datasets.partFailed(id, part);
  }
  async partReceived(id: string, part: number, etag: string, scan: ScanState) {
    return this.#datasets.partReceived(id, part, etag, scan);
  }
  async dropUpload(id: string): Promise<void> {
    this.#datasets.dropUpload(id);
  }
  async expiredUploads(now: number): Promise<UploadRecord[]> {
    return this.#datasets.expiredUploads(now);
  }

  /**
   * Reserves `key` for a job creation (one method, so Durable Object input gates make it atomic:
   * two concurrent requests with one key never both get "create"). Forgets keys older than 24 h
   * and all but the newest {@link IDEMPOTENCY.maxKeys}.
   */
  async claimKey(key: string, bodySha256: string, jobId: string, now: number): Promise<KeyClaim> {
    this.sql.exec("DELETE FROM idempotency WHERE created_at <= ?", now - IDEMPOTENCY.ttlMs);
    type Row = { body_sha256: string; job_id: string; done: number; claimed_at: number };
    const row = this.sql.exec<Row>("SELECT body_sha256, job_id, done, claimed_at FROM idempotency WHERE key = ?", key).toArray()[0];
    if (row && row.body_sha256 !== bodySha256) return { kind: "conflict" };
    if (row?.done) return { kind: "replay", jobId: row.job_id };
    if (row && now - row.claimed_at < IDEMPOTENCY.staleMs) return { kind: "busy" };
    if (row) {
      this.sql.exec("UPDATE idempotency SET claimed_at = ? WHERE key = ?", now, key);
      return { kind: "create", jobId: row.job_id, resumed: true };
    }
    // Rows are numbered in insertion order: keeping the last maxKeys - 1 numbers is one index range, not a count.
    this.sql.exec("DELETE FROM idempotency WHERE seq <= (SELECT MAX(seq) FROM idempotency) - ?", IDEMPOTENCY.maxKeys - 1);
    this.sql.exec("INSERT INTO idempotency (key, body_sha256, job_id, created_at, claimed_at) VALUES (?, ?, ?, ?, ?)", key, bodySha256, jobId, now, now);
    return { kind: "create", jobId, resumed: false };
  }

  /** A reserved creation failed: the next retry with the key resumes it at once (same job id). */
  async abandonKey(key: string, jobId: string): Promise<void> {
    this.sql.exec("UPDATE idempotency SET claimed_at = 0 WHERE key = ? AND job_id = ? AND done = 0", key, jobId);
  }

  /** Adds a published kernel to this submitter's own; false when it is there already or over `quota`. */
  async addKernel(manifest: KernelManifest, quota: number): Promise<"added" | "exists" | "quota"> {
    if (this.sql.exec("SELECT 1 FROM kernels WHERE id = ?", manifest.id).toArray().length) return "exists";
    if (this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM kernels").one().n >= quota) return "quota";
    this.sql.exec("INSERT INTO kernels (id, manifest, created_at) VALUES (?, ?, ?)", manifest.id, JSON.stringify(manifest), manifest.createdAt);
    return "added";
  }

  /** How many kernels this submitter has published. */
  async kernelCount(): Promise<number> {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM kernels").one().n;
  }

  /** One of this submitter's kernels, or undefined (another submitter's kernel is not found either). */
  async kernel(id: string): Promise<KernelManifest | undefined> {
    const row = this.sql.exec<{ manifest: string }>("SELECT manifest FROM kernels WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.manifest) as KernelManifest) : undefined;
  }

  /** This submitter's kernels, newest first. */
  async kernels(): Promise<KernelManifest[]> {
    return this.sql
      .exec<{ manifest: string }>("SELECT manifest FROM kernels ORDER BY created_at DESC, id")
      .toArray()
      .map((r) => JSON.parse(r.manifest) as KernelManifest);
  }

  /** Lists a created job; with the `Idempotency-Key` it was created under, later uses of the key replay it. */
  async addJob(id: string, createdAt: number, idempotencyKey?: string): Promise<void> {
    this.sql.exec("INSERT OR IGNORE INTO jobs (id, created_at) VALUES (?, ?)", id, createdAt);
    if (idempotencyKey !== undefined) this.sql.exec("UPDATE idempotency SET done = 1 WHERE key = ? AND job_id = ?", idempotencyKey, id);
  }

  /** Newest first; `before` is the (createdAt, id) of the last job of the previous page. */
  async jobs(limit: number, before?: { createdAt: number; id: string }): Promise<{ id: string; createdAt: number }[]> {
    const at = before?.createdAt ?? Number.MAX_SAFE_INTEGER;
    return this.sql
      .exec<{ id: string; created_at: number }>(
        `SELECT id, created_at FROM jobs WHERE created_at < ? OR (created_at = ? AND id < ?)
         ORDER BY created_at DESC, id DESC LIMIT ?`,
        at,
        at,
        before?.id ?? "",
        limit,
      )
      .toArray()
      .map((r) => ({ id: r.id, createdAt: r.created_at }));
  }

  /** The submitter's webhook signing secret, made on first use. */
  async webhookSecret(): Promise<string> {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM secrets WHERE k = 'webhook'").toArray()[0];
    if (row) return row.v;
    const v = `whsec_${randomHex(24)}`;
    this.sql.exec("INSERT INTO secrets (k, v) VALUES ('webhook', ?)", v);
    return v;
  }
}
