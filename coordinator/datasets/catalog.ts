import { LIMITS } from "../../shared/limits.ts";
import type { Dataset, Upload } from "../../shared/schemas.ts";
import type { ScanState } from "./scan.ts";

/** A dataset as its owner's object keeps it: the contract's fields and what jobs need to read it. */
export interface DatasetRecord extends Dataset {
  key: string;
  /** Newlines inside quoted CSV fields; null when there were too many to keep. */
  quoted: number[] | null;
}

/** A multipart upload in progress, with what is needed to go on with it. */
export interface UploadRecord extends Upload {
  key: string;
  datasetId: string;
  r2UploadId: string;
  etags: string[];
  scan: ScanState | null;
  /** A part being sent right now, and since when: a second sender of it is refused. */
  sending?: { part: number; since: number };
}

/** A part sender gone quiet this long is taken to have died. */
const SENDING_STALE_MS = 5 * 60_000;

/** Why a dataset or upload may not be added: over one of the token's quotas. */
export type QuotaProblem = { quota: string };

/**
 * One submitter's datasets, uploads in progress and the jobs that read each dataset, in the
 * submitter's Durable Object SQLite. Quotas count uploads in progress at their full size.
 */
export class DatasetCatalog {
  constructor(readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS datasets (id TEXT PRIMARY KEY, record TEXT NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, record TEXT NOT NULL, bytes INTEGER NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS dataset_jobs (dataset TEXT NOT NULL, job TEXT NOT NULL, PRIMARY KEY (dataset, job));
    `);
  }

  /** Whether `bytes` more (and one more dataset or upload) fit this token's quotas; undefined when they do. */
  quotaProblem(bytes: number, upload: boolean): QuotaProblem | undefined {
    const used = this.sql
      .exec<{ n: number; b: number }>(
        "SELECT (SELECT COUNT(*) FROM datasets) + (SELECT COUNT(*) FROM uploads) AS n, (SELECT COALESCE(SUM(bytes), 0) FROM datasets) + (SELECT COALESCE(SUM(bytes), 0) FROM uploads) AS b",
      )
      .one();
    if (used.n >= LIMITS.datasetsPerSubmitter)
      return { quota: `this token keeps ${LIMITS.datasetsPerSubmitter} datasets and uploads, the most it may; delete some first` };
    if (used.b + bytes > LIMITS.datasetBytesPerSubmitter) {
      return { quota: `this token's datasets would exceed ${LIMITS.datasetBytesPerSubmitter} bytes; delete some first` };
    }
    if (upload && this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM uploads").one().n >= LIMITS.uploadsPerSubmitter) {
      return { quota: `this token has ${LIMITS.uploadsPerSubmitter} uploads in progress, the most it may; complete or abort one first` };
    }
    return undefined;
  }

  add(record: DatasetRecord, replacingUpload?: string): QuotaProblem | undefined {
    if (replacingUpload) this.sql.exec("DELETE FROM uploads WHERE id = ?", replacingUpload);
    else {
      const problem = this.quotaProblem(record.bytes, false);
      if (problem) return problem;
    }
    this.sql.exec(
      "INSERT INTO datasets (id, record, bytes, created_at) VALUES (?, ?, ?, ?)",
      record.id,
      JSON.stringify(record),
      record.bytes,
      record.createdAt,
    );
    return undefined;
  }

  get(id: string): DatasetRecord | undefined {
    const row = this.sql.exec<{ record: string }>("SELECT record FROM datasets WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.record) as DatasetRecord) : undefined;
  }

  list(): DatasetRecord[] {
    return this.sql
      .exec<{ record: string }>("SELECT record FROM datasets ORDER BY created_at DESC, id DESC")
      .toArray()
      .map((r) => JSON.parse(r.record) as DatasetRecord);
  }

  /** Links a job to the dataset it reads (before the job exists); undefined when the dataset is gone. */
  use(id: string, job: string): DatasetRecord | undefined {
    const record = this.get(id);
    if (record) this.sql.exec("INSERT OR IGNORE INTO dataset_jobs (dataset, job) VALUES (?, ?)", id, job);
    return record;
  }

  jobs(id: string): string[] {
    return this.sql
      .exec<{ job: string }>("SELECT job FROM dataset_jobs WHERE dataset = ?", id)
      .toArray()
      .map((r) => r.job);
  }

  /**
   * Removes the dataset if every job linked to it is among `ended` (checked by the caller): a job
   * linked meanwhile keeps it. Answers the record removed, "in_use", or undefined when unknown.
   */
  remove(id: string, ended: string[]): DatasetRecord | "in_use" | undefined {
    const record = this.get(id);
    if (!record) return undefined;
    const done = new Set(ended);
    if (this.jobs(id).some((j) => !done.has(j))) return "in_use";
    this.sql.exec("DELETE FROM dataset_jobs WHERE dataset = ?", id);
    this.sql.exec("DELETE FROM datasets WHERE id = ?", id);
    return record;
  }

  /** Forgets links to jobs that have ended, so a dataset's link list stays as short as its running jobs. */
  unlink(id: string, ended: string[]): void {
    for (const job of ended) this.sql.exec("DELETE FROM dataset_jobs WHERE dataset = ? AND job = ?", id, job);
  }

  startUpload(record: UploadRecord): QuotaProblem | undefined {
    const problem = this.quotaProblem(record.bytes, true);
    if (problem) return problem;
    this.sql.exec(
      "INSERT INTO uploads (id, record, bytes, expires_at) VALUES (?, ?, ?, ?)",
      record.uploadId,
      JSON.stringify(record),
      record.bytes,
      record.expiresAt,
    );
    return undefined;
  }

  upload(id: string, now: number): UploadRecord | undefined {
    const row = this.sql.exec<{ record: string; expires_at: number }>("SELECT record, expires_at FROM uploads WHERE id = ?", id).toArray()[0];
    return row && row.expires_at > now ? (JSON.parse(row.record) as UploadRecord) : undefined;
  }

  /** Reserves part `part` for one sender: it must be the next one, and not in flight already. */
  claimPart(id: string, part: number, now: number): UploadRecord | "out_of_order" | "in_progress" | undefined {
    const record = this.upload(id, now);
    if (!record) return undefined;
    if (record.received !== part - 1) return "out_of_order";
    if (record.sending?.part === part && now - record.sending.since < SENDING_STALE_MS) return "in_progress";
    const next: UploadRecord = { ...record, sending: { part, since: now } };
    this.sql.exec("UPDATE uploads SET record = ? WHERE id = ?", JSON.stringify(next), id);
    return next;
  }

  /** A claimed part failed on its way: another attempt may send it at once. */
  partFailed(id: string, part: number): void {
    const row = this.sql.exec<{ record: string }>("SELECT record FROM uploads WHERE id = ?", id).toArray()[0];
    if (!row) return;
    const { sending, ...record } = JSON.parse(row.record) as UploadRecord;
    if (sending?.part === part) this.sql.exec("UPDATE uploads SET record = ? WHERE id = ?", JSON.stringify(record), id);
  }

  /** Records part `part` (which must be the next one): its etag and the scan state after it. */
  partReceived(id: string, part: number, etag: string, scan: ScanState): UploadRecord | "out_of_order" | undefined {
    const row = this.sql.exec<{ record: string }>("SELECT record FROM uploads WHERE id = ?", id).toArray()[0];
    if (!row) return undefined;
    const { sending: _, ...record } = JSON.parse(row.record) as UploadRecord;
    if (record.received !== part - 1) return "out_of_order";
    const next: UploadRecord = { ...record, received: part, etags: [...record.etags, etag], scan };
    this.sql.exec("UPDATE uploads SET record = ? WHERE id = ?", JSON.stringify(next), id);
    return next;
  }

  dropUpload(id: string): void {
    this.sql.exec("DELETE FROM uploads WHERE id = ?", id);
  }

  /** Uploads past their expiry, removed from the list (the caller aborts them in storage). */
  expiredUploads(now: number): UploadRecord[] {
    const rows = this.sql.exec<{ record: string }>("SELECT record FROM uploads WHERE expires_at <= ?", now).toArray();
    this.sql.exec("DELETE FROM uploads WHERE expires_at <= ?", now);
    return rows.map((r) => JSON.parse(r.record) as UploadRecord);
  }
}
