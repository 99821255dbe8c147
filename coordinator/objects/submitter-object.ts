import type { KernelManifest } from "../../shared/schemas.ts";
import { DurableObject } from "cloudflare:workers";

/** One submitter's job list and webhook secret, so listing never scans other submitters' jobs. */
export class SubmitterObject extends DurableObject<Env> {
  readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_age ON jobs(created_at);
      CREATE TABLE IF NOT EXISTS secrets (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS kernels (id TEXT PRIMARY KEY, manifest TEXT NOT NULL, created_at INTEGER NOT NULL);
    `);
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

  async addJob(id: string, createdAt: number): Promise<void> {
    this.sql.exec("INSERT OR IGNORE INTO jobs (id, created_at) VALUES (?, ?)", id, createdAt);
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
    const v = `whsec_${[...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    this.sql.exec("INSERT INTO secrets (k, v) VALUES ('webhook', ?)", v);
    return v;
  }
}
